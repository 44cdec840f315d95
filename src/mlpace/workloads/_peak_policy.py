"""What the default run does after one timing attempt at the Server peak: a pure policy.

The peak search's short probes find the highest rate whose p99 meets the latency bound; the
Server figure is then a full run (every validity check) at that rate, stepped down only as far
as the attempts show it must be. Each INVALID attempt is classified and mapped to the next one:

* **machine busy** (the LoadGen's issue-lag p99 is at least :data:`BUSY_LAG_FRACTION` of the
  latency bound: other processes delayed the load generator itself): wait
  :data:`BUSY_WAIT_S` and repeat at the same rate the first time, at :data:`BUSY_FACTOR` of it
  after that (a burst of noise passes; a machine that stays busy needs a margin);
* **load generator crowded out** (the same issue lag, but other work took less than
  :data:`OTHERS_BUSY_CORES` during the attempt, :class:`mlpace.workloads._cpu_gate.LoadMeter`):
  the SUT's own threads took the cores the load generator needs at this rate, and waiting does
  not change that: :data:`BUSY_FACTOR` at once;
* **SUT too slow** (the latency percentile missed the bound with a low issue lag):
  :data:`SLOW_FACTOR` of the rate;
* **too few queries** (the latency met the bound but early stopping needs more queries): the
  same rate with the required count plus :data:`ES_MARGIN`; if that run would not fit in the
  time left, :data:`BUSY_FACTOR` of the rate instead (fewer queries over the bound there);
* anything else (LoadGen errors, a run cut short) is not fixed by another rate: stop.

At most :data:`MAX_ATTEMPTS` attempts, and none that would end after :data:`BUDGET_S` from the
first one's start. Every decision is a :class:`Step` whose ``reason`` the console shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "BUDGET_S",
    "BUSY_FACTOR",
    "BUSY_LAG_FRACTION",
    "BUSY_WAIT_S",
    "ES_MARGIN",
    "ES_MIN_QUERIES",
    "MAX_ATTEMPTS",
    "OTHERS_BUSY_CORES",
    "SLOW_FACTOR",
    "Attempt",
    "Limits",
    "Step",
    "attempt_of",
    "classify",
    "first_step",
    "next_step",
]

BUSY_LAG_FRACTION = 0.30
# Other work (other processes, or the host's steal in a VM) during an attempt, in cores, above
# which a lagging load generator is blamed on the machine rather than on the SUT's own threads.
OTHERS_BUSY_CORES = 0.25
BUSY_WAIT_S = 2.0
BUSY_FACTOR = 0.8
SLOW_FACTOR = 0.5
ES_MARGIN = 1.25
MAX_ATTEMPTS = 6
BUDGET_S = 60.0
# Early stopping at p99 needs 459 queries even with none over the bound; an attempt that
# cannot hold that many can never be VALID.
ES_MIN_QUERIES = 459
# The query floor of an attempt: enough for early stopping to prove p99 with a few queries over
# the bound, but never more than MAX_STRETCH times the profile's duration (a low rate stays
# bounded in time).
FLOOR_QUERIES = 1200
MAX_STRETCH = 3.0

Kind = Literal["busy", "crowded", "slow", "queries", "other", "valid"]
# Checks a different rate or query count can fix; any other failing check stops the attempts.
_RATE_CHECKS = frozenset({"perf_constraints", "early_stopping", "min_queries"})


@dataclass(frozen=True)
class Limits:
    """The bounds of the attempts (defaults: the module's constants)."""

    min_duration_s: float
    min_query_count: int = 0  # the settings' own floor (user.conf / profile)
    max_attempts: int = MAX_ATTEMPTS
    budget_s: float = BUDGET_S

    def floor_queries(self, qps: float) -> int:
        stretch = int(qps * self.min_duration_s * MAX_STRETCH)
        return max(self.min_query_count, min(FLOOR_QUERIES, stretch))

    def seconds(self, qps: float, queries: int) -> float:
        """How long an attempt at ``qps`` with at least ``queries`` queries lasts."""
        return max(self.min_duration_s, queries / qps)


@dataclass(frozen=True)
class Attempt:
    """What one timing attempt gave; times in seconds since the first attempt started."""

    number: int
    qps: float
    min_query_count: int
    failed: tuple[str, ...]  # the failing validity checks' names (empty: VALID)
    queries: int
    queries_required: int  # early stopping's count
    issue_lag_p99_ns: int
    bound_ns: int
    started_s: float
    ended_s: float
    # Cores other work took during the attempt (None: not known)
    others_cores: float | None = None

    @property
    def valid(self) -> bool:
        return not self.failed

    @property
    def busy(self) -> bool:
        return self.bound_ns > 0 and self.issue_lag_p99_ns >= BUSY_LAG_FRACTION * self.bound_ns


@dataclass(frozen=True)
class Step:
    """The next thing to do: ``run`` another attempt, or stop (``done``: VALID; ``give_up``)."""

    action: Literal["run", "done", "give_up"]
    reason: str
    qps: float = 0.0
    min_query_count: int = 0
    wait_s: float = 0.0


def attempt_of(
    result: Any,
    *,
    number: int,
    qps: float,
    min_query_count: int,
    started_s: float,
    ended_s: float,
    others_cores: float | None = None,
) -> Attempt:
    """An :class:`Attempt` from a LoadGen ``RunResult`` (read only: checks and issue lag)."""
    required = 0
    for check in result.checks:
        if check.name == "early_stopping" and isinstance(check.required, int | float):
            required = int(check.required)
    return Attempt(
        number=number,
        qps=qps,
        min_query_count=min_query_count,
        failed=tuple(c.name for c in result.checks if not c.passed),
        queries=int(result.queries_issued),
        queries_required=required,
        issue_lag_p99_ns=int(result.issue_lag.p99_ns),
        bound_ns=int(result.target_latency_ns),
        started_s=started_s,
        ended_s=ended_s,
        others_cores=others_cores,
    )


def classify(a: Attempt) -> Kind:
    if a.valid:
        return "valid"
    if any(name not in _RATE_CHECKS for name in a.failed):
        return "other"
    if a.busy:
        quiet = a.others_cores is not None and a.others_cores < OTHERS_BUSY_CORES
        return "crowded" if quiet else "busy"
    if "perf_constraints" in a.failed:
        return "slow"
    return "queries"


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3g} ms"


def _qps(q: float) -> str:
    return f"{q:,.1f} QPS"


def first_step(peak_qps: float, limits: Limits) -> Step:
    qps = max(0.1, round(peak_qps, 1))
    return Step(
        "run",
        f"a full run at the search's peak, {_qps(qps)}",
        qps,
        limits.floor_queries(qps),
    )


def _lower(last: Attempt, factor: float, why: str, limits: Limits, wait_s: float = 0.0) -> Step:
    qps = max(0.1, round(last.qps * factor, 1))
    return Step(
        "run", f"{why}; next at {_qps(qps)} ({factor:.0%})", qps, limits.floor_queries(qps), wait_s
    )


def _proposal(history: Sequence[Attempt], limits: Limits) -> Step:
    last = history[-1]
    kind = classify(last)
    if kind == "other":
        return Step(
            "give_up",
            f"INVALID because of {', '.join(last.failed)}, which another rate does not fix",
        )
    lag = (
        f"issue lag p99 {_ms(last.issue_lag_p99_ns)} ≥ {BUSY_LAG_FRACTION:.0%} of the "
        f"{_ms(last.bound_ns)} bound"
    )
    if last.others_cores is not None:
        lag += f"; other work took {last.others_cores:.2f} cores"
    if kind == "busy":
        if not any(classify(a) == "busy" for a in history[:-1]):
            return Step(
                "run",
                f"the machine was busy ({lag}: other work delayed the load generator); "
                f"waiting {BUSY_WAIT_S:g} s, then the same {_qps(last.qps)} again",
                last.qps,
                last.min_query_count,
                BUSY_WAIT_S,
            )
        why = f"the machine is still busy ({lag}); waiting {BUSY_WAIT_S:g} s"
        return _lower(last, BUSY_FACTOR, why, limits, BUSY_WAIT_S)
    if kind == "crowded":
        why = (
            f"the load generator fell behind ({lag}, little): the SUT's own threads crowd it "
            "out at this rate"
        )
        return _lower(last, BUSY_FACTOR, why, limits)
    if kind == "slow":
        why = (
            f"the SUT is too slow at {_qps(last.qps)} (the latency percentile missed the "
            f"{_ms(last.bound_ns)} bound with a low issue lag)"
        )
        return _lower(last, SLOW_FACTOR, why, limits)
    needed = max(last.min_query_count, math.ceil(max(last.queries_required, 1) * ES_MARGIN))
    seconds = limits.seconds(last.qps, needed)
    left = limits.budget_s - last.ended_s
    if seconds <= left:
        return Step(
            "run",
            f"early stopping needs {last.queries_required:,} queries, the run had "
            f"{last.queries:,}; the same {_qps(last.qps)} with {needed:,} queries "
            f"(+{ES_MARGIN - 1:.0%})",
            last.qps,
            needed,
        )
    why = (
        f"early stopping needs {last.queries_required:,} queries, {seconds:.0f} s at "
        f"{_qps(last.qps)}, more than the {max(left, 0):.0f} s left"
    )
    return _lower(last, BUSY_FACTOR, why, limits)


def next_step(history: Sequence[Attempt], limits: Limits) -> Step:
    """What to do after the attempts in ``history`` (the last one decides)."""
    last = history[-1]
    if last.valid:
        return Step("done", f"attempt {last.number} at {_qps(last.qps)} is VALID", last.qps)
    step = _proposal(history, limits)
    if step.action != "run":
        return step
    if len(history) >= limits.max_attempts:
        return Step("give_up", f"still INVALID after {len(history)} attempts (the most allowed)")
    if step.qps * limits.min_duration_s * MAX_STRETCH < ES_MIN_QUERIES:
        return Step(
            "give_up",
            f"{_qps(step.qps)} is too low a rate for the {ES_MIN_QUERIES} queries early "
            "stopping needs at p99 in a short run (a very busy machine, or a slow model)",
        )
    end = last.ended_s + step.wait_s + limits.seconds(step.qps, step.min_query_count)
    if end > limits.budget_s:
        return Step(
            "give_up",
            f"{step.reason}, but that attempt would end {end:.0f} s after the first one began, "
            f"past the {limits.budget_s:g} s the attempts may take",
        )
    return step
