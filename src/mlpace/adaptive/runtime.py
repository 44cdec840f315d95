"""Task types, the run-time mode, and optimisations with domains of efficiency.

A task declares a *type* (what kind of load it puts on the machine: computation, communication,
compression, ...) and an *estimated cost* in nanoseconds. The scheduler keeps a sliding window
over the program's task stream: the tasks admitted and not yet finished (waiting, ready or
running). The run-time mode is the load of that window per task type, a vector; its scalar
summary here is the computation-to-communication ratio.

An optimisation has a state (``on``/``off`` or any string) and a *domain of efficiency*: a
function of the mode and of the optimisation's own state that names the state it should be
in. Because the domain sees the current state, hysteresis is expressible: switch on below
alpha, off above beta, hold in between. Every toggle is recorded with time, mode and states.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mlpace.errors import SettingsError

COMPUTE = "compute"
COMM = "comm"
COMPRESS = "compress"
TASK_TYPES: tuple[str, ...] = (COMPUTE, COMM, COMPRESS)

ON = "on"
OFF = "off"


class AdaptiveError(SettingsError):
    """A parameter of the adaptive runtime or of its SpMV experiment is out of range."""


@dataclass(eq=False)
class Task:
    """One unit of work: ``fn`` runs on a unit of ``resource`` once every dependency finished.

    ``resource`` is ``"cpu"`` (any processor) or a named single unit (``"link:2"``).
    ``est_ns`` is the declared cost (the mode is built from it); the duration the scheduler
    charges is measured, or taken from a cost model in deterministic runs. ``work`` records
    what the function did (elements scanned, non-zeros, bytes), filled in by the function for
    cost models and accounting; ``tag`` is the program's own label for the kind of task.
    """

    name: str
    type: str
    est_ns: float
    fn: Callable[[], Any] | None = None
    deps: tuple[Task, ...] = ()
    resource: str = "cpu"
    tag: str = ""
    work: dict[str, float] = field(default_factory=dict)
    # Filled in by the scheduler.
    seq: int = -1  # position in the stream
    start_ns: int = -1
    end_ns: int = -1
    result: Any = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.est_ns) or self.est_ns < 0:
            raise AdaptiveError(
                f"task {self.name!r}: the estimated cost must be a finite number of ns >= 0",
                field="est_ns",
                value=self.est_ns,
            )


@dataclass(frozen=True)
class Mode:
    """The run-time mode: the window's estimated load (ns) per task type."""

    loads: tuple[tuple[str, float], ...]
    tasks: int  # tasks in the window
    compute_types: tuple[str, ...] = (COMPUTE,)
    comm_types: tuple[str, ...] = (COMM,)

    def load(self, task_type: str) -> float:
        for name, value in self.loads:
            if name == task_type:
                return value
        return 0.0

    @cached_property
    def ratio(self) -> float:
        """Computation-to-communication ratio; ``inf`` with no communication, ``nan`` when the
        window holds neither. Computed once per snapshot."""
        compute = sum(self.load(t) for t in self.compute_types)
        comm = sum(self.load(t) for t in self.comm_types)
        if comm > 0:
            return compute / comm
        return math.inf if compute > 0 else math.nan

    def share(self, task_type: str) -> float:
        total = sum(v for _, v in self.loads)
        return self.load(task_type) / total if total > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        out = dict(self.loads)
        out["ratio"] = self.ratio
        return out


class ModeTracker:
    """Running per-type sums over the tasks in the window; O(1) per event, O(types) per read.

    Reading is cheap: :meth:`mode` returns a cached snapshot rebuilt only after a change.
    """

    def __init__(
        self,
        task_types: Iterable[str] = TASK_TYPES,
        *,
        compute_types: Iterable[str] = (COMPUTE,),
        comm_types: Iterable[str] = (COMM,),
    ) -> None:
        self._loads: dict[str, float] = {t: 0.0 for t in task_types}
        self._tasks = 0
        self._compute = tuple(compute_types)
        self._comm = tuple(comm_types)
        self._cached: Mode | None = None

    def enter(self, task: Task) -> None:
        self._loads[task.type] = self._loads.get(task.type, 0.0) + task.est_ns
        self._tasks += 1
        self._cached = None

    def leave(self, task: Task) -> None:
        left = self._loads.get(task.type, 0.0) - task.est_ns
        # Float sums drift; an empty type is exactly zero.
        self._loads[task.type] = left if left > 1e-9 else 0.0
        self._tasks -= 1
        if self._tasks == 0:
            self._loads = dict.fromkeys(self._loads, 0.0)
        self._cached = None

    def mode(self) -> Mode:
        if self._cached is None:
            self._cached = Mode(tuple(self._loads.items()), self._tasks, self._compute, self._comm)
        return self._cached


# A domain of efficiency: (mode, current state) -> the state the optimisation should be in.
Domain = Callable[[Mode, str], str]


# One rule of a domain: "v in D(o) => turn o to state x" as (predicate over mode and state, x).
Rule = tuple[Callable[[Mode, str], bool], str]


def rules(*domain: Rule) -> Domain:
    """A domain from rules: the first rule whose predicate holds names the new state; when none
    holds the optimisation keeps its state."""

    def decide(mode: Mode, state: str) -> str:
        for holds, target in domain:
            if holds(mode, state):
                return target
        return state

    return decide


def hysteresis(alpha: float, beta: float) -> Domain:
    """On when the ratio falls below ``alpha``, off when it rises above ``beta``, else hold.

    An empty window (ratio ``nan``) holds the state.
    """
    check_thresholds(alpha, beta)
    # nan compares false both ways, so an empty window matches neither rule
    return rules(
        (lambda mode, state: state != ON and mode.ratio < alpha, ON),
        (lambda mode, state: state != OFF and mode.ratio > beta, OFF),
    )


def check_thresholds(alpha: float, beta: float) -> None:
    if not (math.isfinite(alpha) and alpha >= 0):
        raise AdaptiveError("alpha must be a finite ratio >= 0", field="alpha", value=alpha)
    if not (math.isfinite(beta) and beta > alpha):
        raise AdaptiveError(
            f"beta must be finite and greater than alpha ({alpha:g}); alpha < beta gives the "
            "hysteresis band that stops the switch from flapping",
            field="beta",
            value=beta,
        )


@dataclass(frozen=True)
class Toggle:
    """One switch of an optimisation: when, which, from and to, and the mode that caused it."""

    time_ns: int
    optimisation: str
    old: str
    new: str
    mode: Mode


@dataclass
class Optimisation:
    name: str
    domain: Domain
    state: str = OFF
    on_toggle: Callable[[str], None] | None = None


class Optimisations:
    """The registry the runtime consults whenever the mode changes."""

    def __init__(self) -> None:
        self._items: dict[str, Optimisation] = {}
        self.log: list[Toggle] = []

    def register(
        self,
        name: str,
        domain: Domain,
        *,
        initial: str = OFF,
        on_toggle: Callable[[str], None] | None = None,
    ) -> Optimisation:
        if name in self._items:
            raise AdaptiveError(f"optimisation {name!r} is already registered", field="name")
        opt = Optimisation(name, domain, initial, on_toggle)
        self._items[name] = opt
        return opt

    def state(self, name: str) -> str:
        return self._items[name].state

    def evaluate(self, mode: Mode, time_ns: int) -> list[Toggle]:
        """Apply every domain to the mode; toggle, log and notify those that change."""
        changed: list[Toggle] = []
        for opt in self._items.values():
            new = opt.domain(mode, opt.state)
            if new != opt.state:
                toggle = Toggle(time_ns, opt.name, opt.state, new, mode)
                opt.state = new
                self.log.append(toggle)
                changed.append(toggle)
                if opt.on_toggle is not None:
                    opt.on_toggle(new)
        return changed

    def switches(self, name: str) -> int:
        return sum(1 for t in self.log if t.optimisation == name)
