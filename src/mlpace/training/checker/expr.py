"""A small, safe expression language for rule data (no ``eval``/``exec`` of rule text).

Rule files hold Python-looking expressions such as ``value <= 0.925 and value > 0`` or
``abs(value - 2.4e-5 * sqrt(s.gbs / 16384)) <= 1e-9``. They are parsed with :mod:`ast` and
walked here node by node; only the node types below are accepted, and only the whitelisted
functions can be called. Names come from a fixed environment (``value``, ``meta``, ``ts``,
``key``), ``s.NAME`` reads the state of the rule file, and unknown names raise
:class:`ExprError` naming what was missing, which is how "``global_batch_size`` must be logged
before the learning rate" surfaces.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from mlpace.errors import TrainingError


class ExprError(TrainingError):
    """A rule expression is malformed or cannot be evaluated on this line."""


def _is_integer(x: Any) -> bool:
    # Same tolerance the official rules use: within 1e-5 of an integer.
    try:
        return abs(float(x) - round(float(x))) < 1e-5
    except (TypeError, ValueError):
        return False


def _isclose(a: Any, b: Any, rel: float = 1e-9, abs_tol: float = 0.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_int_like(x: Any) -> bool:
    """True for an int, or a value ``int()`` accepts exactly (the seed checker's rule)."""
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    try:
        return int(str(x)) is not None
    except ValueError:
        return False


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "len": len,
    "int": int,
    "float": float,
    "str": str,
    "round": round,
    "sqrt": math.sqrt,
    "ceil": math.ceil,
    "floor": math.floor,
    "log": math.log,
    "isclose": _isclose,
    "is_integer": _is_integer,
    "is_number": _is_number,
    "is_int_like": _is_int_like,
}

_BINOPS: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
}

_CMPOPS: Mapping[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


class State:
    """The mutable per-rule-file state read as ``s.NAME`` in expressions."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(initial or {})

    def get(self, name: str) -> Any:
        if name not in self.values:
            raise ExprError(
                f"state s.{name} is not set (the key that sets it was not logged earlier)"
            )
        return self.values[name]

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value


@lru_cache(maxsize=4096)
def compile_expr(text: str) -> ast.Expression:
    """Parse and validate once; raises ExprError on syntax outside the allowed subset."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"rule expression {text!r} is not valid: {exc.msg}") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExprError(f"rule expression {text!r} calls a function that is not allowed")
            if node.keywords:
                raise ExprError(f"rule expression {text!r}: keyword arguments are not allowed")
        elif isinstance(node, ast.Attribute) and not (
            isinstance(node.value, ast.Name) and node.value.id == "s"
        ):
            raise ExprError(f"rule expression {text!r}: only s.NAME attributes are allowed")
        elif not isinstance(node, _ALLOWED):
            raise ExprError(
                f"rule expression {text!r}: {type(node).__name__} is not allowed in rules"
            )
    return tree


_ALLOWED = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Tuple,
    ast.List,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    *_BINOPS.keys(),
    *_CMPOPS.keys(),
)


def evaluate(text: str, env: Mapping[str, Any], state: State | None = None) -> Any:
    """Evaluate a rule expression against ``env`` (names) and ``state`` (``s.NAME``)."""
    tree = compile_expr(text)
    try:
        return _eval(tree.body, env, state)
    except ExprError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError) as exc:
        raise ExprError(f"{type(exc).__name__}: {exc}") from exc


def _eval(node: ast.AST, env: Mapping[str, Any], state: State | None) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in ("True", "False", "None"):  # pragma: no cover - parsed as Constant
            return {"True": True, "False": False, "None": None}[node.id]
        raise ExprError(f"unknown name {node.id!r}")
    if isinstance(node, ast.Attribute):
        if state is None:
            raise ExprError("no state here")
        return state.get(node.attr)
    if isinstance(node, ast.Subscript):
        container = _eval(node.value, env, state)
        index = _eval(node.slice, env, state)
        try:
            return container[index]
        except (KeyError, IndexError, TypeError) as exc:
            raise ExprError(f"{index!r} is missing") from exc
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_eval(e, env, state) for e in node.elts)
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for e in node.values:
                result = _eval(e, env, state)
                if not result:
                    return result
            return result
        result = False
        for e in node.values:
            result = _eval(e, env, state)
            if result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, env, state)
        if isinstance(node.op, ast.Not):
            return not operand
        if isinstance(node.op, ast.USub):
            return -operand
        return +operand
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, env, state), _eval(node.right, env, state))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env, state)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, env, state)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        if _eval(node.test, env, state):
            return _eval(node.body, env, state)
        return _eval(node.orelse, env, state)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_eval(a, env, state) for a in node.args]
        return FUNCTIONS[node.func.id](*args)
    raise ExprError(f"{type(node).__name__} is not allowed in rules")  # pragma: no cover
