"""The one timing rule every model uses, and the record a run produces.

PRK rule: run the kernel ``iterations + 1`` times; the first run is an untimed warm-up; a barrier
(or its equivalent) precedes starting the wall clock and another precedes stopping it; the
average time per iteration divides by ``iterations``. With several ranks each one times itself;
the rate uses the slowest rank (the PRK reduces with MAX) and min / avg / max are all recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlpace.kernels.spec import KernelParams, Verdict, unit, work_per_iteration

__all__ = ["RunResult", "TimingStats", "no_barrier", "timed_loop"]

Clock = Callable[[], float]


def no_barrier() -> None:
    """The barrier of a model with one worker."""


def timed_loop(
    step: Callable[[int], None],
    iterations: int,
    barrier: Callable[[], None] = no_barrier,
    clock: Clock = time.perf_counter,
) -> float:
    """Run step(0..iterations); return the wall time of steps 1..iterations, between barriers."""
    start = 0.0
    for k in range(iterations + 1):
        if k == 1:
            barrier()
            start = clock()
        step(k)
    if iterations == 0:
        barrier()
        return 0.0
    barrier()
    return clock() - start


@dataclass(frozen=True)
class TimingStats:
    """Elapsed seconds of the timed region across ranks (one value per rank)."""

    per_rank: tuple[float, ...]

    @property
    def min(self) -> float:
        return min(self.per_rank)

    @property
    def max(self) -> float:
        return max(self.per_rank)

    @property
    def avg(self) -> float:
        return sum(self.per_rank) / len(self.per_rank)

    @classmethod
    def of(cls, values: Sequence[float]) -> TimingStats:
        return cls(tuple(float(v) for v in values))


@dataclass(frozen=True)
class RunResult:
    """One run of one kernel under one model: parameters, timing, rate and verdict."""

    params: KernelParams
    model: str
    ranks: int
    timing: TimingStats
    verdict: Verdict
    variant: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def avg_time(self) -> float:
        """Seconds per iteration of the slowest rank (the PRK's Avg time)."""
        return self.timing.max / self.params.iterations

    @property
    def rate(self) -> float:
        """MFlops/s or MB/s (both 1e6-based, as the PRK prints them)."""
        t = self.avg_time
        return 1e-6 * work_per_iteration(self.params) / t if t > 0 else float("inf")

    @property
    def unit(self) -> str:
        return unit(self.params.kernel)

    def record(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "kernel": self.params.kernel,
            "model": self.model,
            "variant": self.variant,
            "ranks": self.ranks,
            "params": self.params.to_dict(),
            "iterations": self.params.iterations,
            "avg_time_s": self.avg_time,
            "elapsed_s": {
                "min": self.timing.min,
                "avg": self.timing.avg,
                "max": self.timing.max,
                "per_rank": list(self.timing.per_rank),
            },
            "rate": self.rate,
            "unit": self.unit,
            "work_per_iteration": work_per_iteration(self.params),
            "validated": v.valid,
            "checked": {
                "quantity": v.quantity,
                "observed": v.observed,
                "reference": v.reference,
                "error": v.error,
                "tolerance": v.tolerance,
                "relative": v.relative,
            },
            **self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.record(), sort_keys=True)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> RunResult:
        """Rebuild a result from record() (how an mpiexec child hands its result back)."""
        params = KernelParams(**rec["params"])
        c = rec["checked"]
        v = Verdict(
            bool(rec["validated"]),
            float(c["observed"]),
            float(c["reference"]),
            float(c["error"]),
            float(c["tolerance"]),
            bool(c["relative"]),
            str(c["quantity"]),
        )
        timing = TimingStats.of(rec["elapsed_s"]["per_rank"])
        return cls(params, rec["model"], int(rec["ranks"]), timing, v, rec.get("variant", ""))
