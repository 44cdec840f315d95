"""Versioned rule data: loading ``mlpace/training/rules/training_<ruleset>.json``.

A ruleset is a set of named *rule files* that chain like the official configs: ``common`` is
always checked; its ``submission_division`` rule queues ``{division}_common``, whose
``submission_benchmark`` rule queues ``{division}_{benchmark}``. Each file is checked against the
whole log with its own state. A key rule has the fields

* ``key`` and ``req`` (``EXACTLY_ONE``, ``AT_LEAST_ONE``, ``AT_LEAST`` with ``n``,
  ``AT_LEAST_ONE_OR`` with ``alternatives``, ``OPTIONAL``);
* ``check`` (every occurrence; only the first for ``submission_*`` keys), ``first_check``
  (first occurrence), ``atleast_one_check`` (some occurrence must pass): each a list of
  checks ``{"expr", "message", "id"?, "severity"?, "observed"?, "origin"?}``;
* ``post``: ``{state_name: expr}`` assignments after the checks, in order;
* ``enqueue``: the name of the rule file to queue, ``{value}`` replaced by the logged value.

The rule files of mlpace's proxy benchmarks are built from :mod:`mlpace.training.proxies`
(their registry is the single source of their targets and closed-division freedoms).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.checker.expr import compile_expr
from mlpace.training.checker.findings import ERROR, WARNING, Severity

REQ_KINDS = ("EXACTLY_ONE", "AT_LEAST_ONE", "AT_LEAST", "AT_LEAST_ONE_OR", "OPTIONAL")


@dataclass(frozen=True)
class Check:
    expr: str
    message: str
    id: str
    severity: Severity = ERROR
    observed: str = "value"
    origin: str = "official"  # "mlpace" marks rules the official checker does not have


@dataclass(frozen=True)
class KeyRule:
    key: str
    req: str = "OPTIONAL"
    n: int = 1
    alternatives: tuple[str, ...] = ()
    check: tuple[Check, ...] = ()
    first_check: tuple[Check, ...] = ()
    atleast_one_check: Check | None = None
    post: tuple[tuple[str, str], ...] = ()
    enqueue: str | None = None

    @property
    def first_only(self) -> bool:
        # The official engine runs the checks of submission_* keys on their first line only.
        return "submission_" in self.key


@dataclass(frozen=True)
class RuleFile:
    name: str
    keys: tuple[KeyRule, ...]
    state: Mapping[str, Any] = field(default_factory=dict)
    end: tuple[Check, ...] = ()
    description: str = ""

    def declared_keys(self) -> set[str]:
        return {k.key for k in self.keys}


@dataclass(frozen=True)
class RuleSet:
    usage: str
    version: str
    benchmarks: tuple[str, ...]  # official benchmarks of the ruleset
    files: Mapping[str, RuleFile]
    proxies: tuple[str, ...] = ()

    @property
    def allowed_benchmarks(self) -> tuple[str, ...]:
        return (*self.benchmarks, *self.proxies)

    def file(self, name: str) -> RuleFile | None:
        return self.files.get(name)


def _check(raw: Any, default_id: str) -> Check:
    if isinstance(raw, str):
        raw = {"expr": raw, "message": f"must satisfy {raw}"}
    if not isinstance(raw, dict) or "expr" not in raw:
        raise TrainingError(f"rule {default_id}: a check needs an 'expr'")
    compile_expr(str(raw["expr"]))  # fail on load, not on the first matching line
    observed = str(raw.get("observed", "value"))
    compile_expr(observed)
    severity = raw.get("severity", ERROR)
    if severity not in (ERROR, WARNING):
        raise TrainingError(f"rule {default_id}: severity must be error or warning")
    return Check(
        expr=str(raw["expr"]),
        message=str(raw.get("message", f"must satisfy {raw['expr']}")),
        id=str(raw.get("id", default_id)),
        severity=severity,
        observed=observed,
        origin=str(raw.get("origin", "official")),
    )


def _key_rule(file_name: str, raw: Mapping[str, Any]) -> KeyRule:
    key = str(raw["key"])
    req = str(raw.get("req", "OPTIONAL"))
    if req not in REQ_KINDS:
        raise TrainingError(f"rule {file_name}.{key}: unknown req {req!r}")
    base = f"{file_name}.{key}"
    checks = tuple(
        _check(c, f"{base}.check{i}" if len(raw.get("check", [])) > 1 else f"{base}.check")
        for i, c in enumerate(raw.get("check", []))
    )
    firsts = tuple(
        _check(c, f"{base}.first_check{i}") for i, c in enumerate(raw.get("first_check", []))
    )
    alo = raw.get("atleast_one_check")
    post = tuple((str(k), str(v)) for k, v in dict(raw.get("post", {})).items())
    for _, expr in post:
        compile_expr(expr)
    # Prefix explicit short ids with the file and key so every id is unique and greppable.
    checks = tuple(_qualify(c, base) for c in checks)
    firsts = tuple(_qualify(c, base) for c in firsts)
    return KeyRule(
        key=key,
        req=req,
        n=int(raw.get("n", 1)),
        alternatives=tuple(str(a) for a in raw.get("alternatives", [])),
        check=checks,
        first_check=firsts,
        atleast_one_check=None
        if alo is None
        else _qualify(_check(alo, f"{base}.atleast_one"), base),
        post=post,
        enqueue=None if raw.get("enqueue") is None else str(raw["enqueue"]),
    )


def _qualify(check: Check, base: str) -> Check:
    if check.id.startswith(base):
        return check
    return Check(
        expr=check.expr,
        message=check.message,
        id=f"{base}.{check.id}",
        severity=check.severity,
        observed=check.observed,
        origin=check.origin,
    )


def rule_file_from_data(name: str, raw: Mapping[str, Any]) -> RuleFile:
    """Build one rule file from its JSON form (also used for generated proxy rules)."""
    return RuleFile(
        name=name,
        keys=tuple(_key_rule(name, k) for k in raw.get("keys", [])),
        state=dict(raw.get("state", {})),
        end=tuple(_check(c, f"{name}.end{i}") for i, c in enumerate(raw.get("end", []))),
        description=str(raw.get("description", "")),
    )


def available_rulesets() -> list[str]:
    out = []
    for entry in resources.files("mlpace.training.rules").iterdir():
        name = entry.name
        if name.startswith("training_") and name.endswith(".json"):
            out.append(name[len("training_") : -len(".json")])
    return sorted(out)


@lru_cache(maxsize=8)
def load_ruleset(version: str = C.DEFAULT_RULESET, usage: str = "training") -> RuleSet:
    """The rule data of ``usage``/``version`` plus mlpace's proxy benchmarks."""
    if usage != "training":
        raise TrainingError(f"usage {usage!r} is not supported (only 'training')")
    resource = resources.files("mlpace.training.rules") / f"training_{version}.json"
    if not resource.is_file():
        raise TrainingError(
            f"unknown training ruleset {version!r}; available: {', '.join(available_rulesets())}"
        )
    try:
        doc = json.loads(resource.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise TrainingError(f"rule data training_{version}.json is not valid JSON: {exc}") from exc
    files = {name: rule_file_from_data(name, raw) for name, raw in doc["files"].items()}
    proxies: list[str] = []
    for name, raw in proxy_rule_data().items():
        files[name] = rule_file_from_data(name, raw)
    for division in C.DIVISIONS:
        proxies.extend(n[len(division) + 1 :] for n in files if n.startswith(f"{division}_mlpace_"))
    return RuleSet(
        usage=usage,
        version=version,
        benchmarks=tuple(doc["benchmarks"]),
        files=files,
        proxies=tuple(dict.fromkeys(proxies)),
    )


def _num_eq(key: str, value: Any) -> str:
    if isinstance(value, float) and not math.isnan(value):
        return f"is_number(value) and isclose(value, {value!r}, 1e-9, 1e-12)"
    return f"value == {value!r}"


def proxy_rule_data() -> dict[str, dict[str, Any]]:
    """Rule files for the proxy benchmarks, derived from their registry (no torch import)."""
    try:
        from mlpace.training.proxies import BENCHMARKS
    except ImportError:  # pragma: no cover - the registry is part of the package
        return {}
    out: dict[str, dict[str, Any]] = {}
    for bench in BENCHMARKS.values():
        op = ">=" if bench.higher_is_better else "<="
        target = {
            "expr": f"is_number(value) and value {op} {bench.quality_target!r}",
            "message": (f"{bench.metric} must reach {op} {bench.quality_target} at least once"),
            "id": "quality_target",
        }
        eval_rule = {"key": C.EVAL_ACCURACY, "req": "AT_LEAST_ONE", "atleast_one_check": target}
        closed_keys: list[dict[str, Any]] = [
            {
                "key": C.GLOBAL_BATCH_SIZE,
                "req": "EXACTLY_ONE",
                "check": [
                    {
                        "expr": "is_integer(value) and value >= 1",
                        "message": "must be a positive integer",
                    }
                ],
            },
        ]
        for key, default in bench.defaults.items():
            if key == C.GLOBAL_BATCH_SIZE:
                continue
            checks: list[dict[str, Any]] = []
            if key in bench.choices:
                checks.append(
                    {
                        "expr": f"value in {tuple(bench.choices[key])!r}",
                        "message": f"must be one of {', '.join(bench.choices[key])}",
                        "id": "choice",
                    }
                )
            if key not in bench.closed_modifiable:
                checks.append(
                    {
                        "expr": _num_eq(key, default),
                        "message": (
                            f"may not be changed in the closed division (reference {default!r})"
                        ),
                        "id": "fixed",
                    }
                )
            closed_keys.append({"key": key, "req": "OPTIONAL", "check": checks})
        closed_keys.append(eval_rule)
        desc = f"mlpace proxy {bench.log_name}: {bench.description}"
        out[f"closed_{bench.log_name}"] = {"description": desc, "keys": closed_keys}
        out[f"open_{bench.log_name}"] = {"description": desc, "keys": [eval_rule]}
    return out


def benchmark_names(version: str = C.DEFAULT_RULESET) -> Sequence[str]:
    return load_ruleset(version).allowed_benchmarks
