"""Thread-settings sweep: measure every grid point, pick the best, say how sure that is.

``run_sweep(points, measure, repeats=..., budget_s=...)`` measures in rounds: round 1 runs each
point once, in order, admitting points while its share of the budget lasts; later rounds repeat
the admitted points in alternating order, so a slow drift of the machine's load spreads over all
points instead of favouring whichever ran first. A measurement that would overrun the budget
is not started (its cost is estimated from the ones before). Ctrl-C or a stop signal ends the
sweep and keeps every point measured so far.

Each point's figure is the median of its repeats; its range (lowest..highest) is the
confidence shown: with 3 repeats the range holds the true median with 75 % probability. A
speedup is the ratio of medians; it is called *clear* when even the best point's lowest repeat
beats the reference's highest one.

``measure(point)`` returns one throughput figure (Offline samples/s or Server peak QPS); the
LoadGen-based one is in :mod:`mlpace.workloads.tuning_measure`; tests inject a fake.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mlpace.errors import MlpaceError, RunInterrupted, StopRequested, interrupt_reason
from mlpace.workloads.topology import CpuTopology
from mlpace.workloads.tuning_grid import FRAMEWORK_DEFAULT, INTEL_STYLE, ThreadPoint

__all__ = [
    "PointResult",
    "Speedup",
    "SweepResult",
    "format_sweep_table",
    "run_sweep",
]

Measure = Callable[[ThreadPoint], float]
Say = Callable[[str], None]


@dataclass
class PointResult:
    """The repeats of one point (``values``) and why it stopped being measured, if it did."""

    point: ThreadPoint
    values: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def low(self) -> float | None:
        return min(self.values) if self.values else None

    @property
    def high(self) -> float | None:
        return max(self.values) if self.values else None


@dataclass(frozen=True)
class Speedup:
    """Best over a reference point: ratio of medians, and lowest-over-highest (conservative)."""

    reference: str
    ratio: float
    conservative: float

    @property
    def clear(self) -> bool:
        return self.conservative > 1.0

    def describe(self) -> str:
        verdict = "clear" if self.clear else "within the noise"
        return (
            f"{self.ratio:.2f}x over the {self.reference} (worst case {self.conservative:.2f}x, "
            f"{verdict})"
        )


@dataclass(frozen=True)
class SweepResult:
    task: str
    backend: str
    scenario: str
    metric: str  # e.g. "samples/s" or "peak QPS"
    topology: CpuTopology
    graph_width: int
    results: tuple[PointResult, ...]
    repeats: int
    budget_s: float
    elapsed_s: float
    load_avg: tuple[float, float]  # 1-minute load average before and after the sweep
    stopped: str = ""  # why the sweep ended early ("" when it ran to its end)
    exit_code: int = 0  # 128 + signal when a signal stopped it

    @property
    def measured(self) -> list[PointResult]:
        return [r for r in self.results if r.values]

    @property
    def best(self) -> PointResult | None:
        """The highest median among the points with the most repeats (a point measured once
        does not beat one measured three times on a lucky draw)."""
        measured = self.measured
        if not measured:
            return None
        most = max(len(r.values) for r in measured)
        full = [r for r in measured if len(r.values) == most]
        return max(full, key=lambda r: r.median or 0.0)

    def reference(self, label: str) -> PointResult | None:
        for r in self.results:
            if label in r.point.label.split(" = ") and r.values:
                return r
        return None

    def speedup(self, label: str) -> Speedup | None:
        best, ref = self.best, self.reference(label)
        if best is None or ref is None or not ref.median or not ref.high:
            return None
        assert best.median is not None and best.low is not None
        return Speedup(label, best.median / ref.median, best.low / ref.high)

    def speedups(self) -> list[Speedup]:
        found = [self.speedup(label) for label in (FRAMEWORK_DEFAULT, INTEL_STYLE)]
        return [s for s in found if s is not None]


def _load_avg() -> float:
    import os

    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return float("nan")


def run_sweep(
    points: Sequence[ThreadPoint],
    measure: Measure,
    *,
    task: str,
    backend: str,
    scenario: str,
    metric: str,
    topology: CpuTopology,
    graph_width: int = 1,
    repeats: int = 3,
    budget_s: float = 300.0,
    clock: Callable[[], float] = time.monotonic,
    say: Say | None = None,
) -> SweepResult:
    """Measure ``points`` (``repeats`` rounds) within ``budget_s`` seconds of ``clock``."""
    if repeats < 1:
        raise MlpaceError(f"repeats must be >= 1, got {repeats}")
    tell = say or (lambda _line: None)
    results = [PointResult(p) for p in points]
    start = clock()
    load_before = _load_avg()
    stopped, exit_code = "", 0
    costs: list[float] = []
    share = budget_s / repeats  # round 1's share: the later rounds repeat what it measured

    def expected_cost() -> float:
        return statistics.median(costs) if costs else 0.0

    budget_hit = False
    admitted: list[PointResult] = []
    try:
        for rnd in range(repeats):
            queue = results if rnd == 0 else (admitted if rnd % 2 else admitted[::-1])
            for res in queue:
                if res.error:
                    continue
                spent = clock() - start
                if rnd == 0 and len(admitted) >= 2 and spent + expected_cost() > share:
                    break  # round 1 admitted what its share of the budget allows
                if spent + expected_cost() > budget_s:
                    budget_hit = True
                    break
                t0 = clock()
                try:
                    value = measure(res.point)
                except RunInterrupted:
                    raise
                except MlpaceError as exc:  # this point cannot run (e.g. an option refused)
                    res.error = str(exc)
                    tell(f"mlpace: tune: {res.point.describe()}: failed: {exc}")
                    continue
                cost = clock() - t0
                costs.append(cost)
                res.values.append(float(value))
                res.seconds.append(cost)
                if rnd == 0:
                    admitted.append(res)
                tell(
                    f"mlpace: tune: round {rnd + 1}/{repeats}: {res.point.describe()}: "
                    f"{value:,.1f} {metric} ({cost:.1f} s)"
                )
            if budget_hit:
                break
    except RunInterrupted as exc:
        stopped, exit_code = str(exc), exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, or a StopRequested signal
        reason, exit_code = interrupt_reason(exc)
        stopped = reason if isinstance(exc, StopRequested) else "interrupted (Ctrl-C)"
    reasons = [stopped] if stopped else []
    if budget_hit:
        reasons.append(f"budget of {budget_s:g} s reached")
    left = len([r for r in results if not r.error and not r.values])
    if left:
        reasons.append(f"{left} point(s) of the grid not measured")
    return SweepResult(
        task=task,
        backend=backend,
        scenario=scenario,
        metric=metric,
        topology=topology,
        graph_width=graph_width,
        results=tuple(results),
        repeats=repeats,
        budget_s=budget_s,
        elapsed_s=clock() - start,
        load_avg=(load_before, _load_avg()),
        stopped="; ".join(reasons),
        exit_code=exit_code,
    )


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}"


def format_sweep_table(sweep: SweepResult, *, markdown: bool = False) -> str:
    """The sweep as a table (plain text, or Markdown for BENCHMARKS.md), then the verdict."""
    head = ["intra", "pools", "workers", "batch", "threads", f"median {sweep.metric}", "range", "n"]
    head.append("point")
    rows: list[list[str]] = []
    best = sweep.best
    for r in sweep.results:
        p = r.point
        label = p.label
        if r is best:
            label = f"BEST{' = ' + label if label else ''}"
        if r.error:
            label = f"{label} failed: {r.error}".strip()
        elif not r.values:
            label = f"{label} (not measured)".strip()
        rows.append(
            [
                "default" if p.intra is None else str(p.intra),
                "default" if p.pools is None else str(p.pools),
                str(p.workers),
                str(p.batch),
                "-" if p.total_threads is None else str(p.total_threads),
                _fmt(r.median),
                f"{_fmt(r.low)}..{_fmt(r.high)}" if r.values else "-",
                str(len(r.values)),
                label,
            ]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * (len(head) - 1) + "---|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]

        def fmt_row(row: list[str]) -> str:
            cells = zip(row, widths)
            return "  ".join(
                c.rjust(w) if i < len(head) - 1 else c for i, (c, w) in enumerate(cells)
            ).rstrip()

        lines = [fmt_row(head), fmt_row(["-" * w for w in widths])]
        lines += [fmt_row(row) for row in rows]
    lines.append("")
    lines += verdict_lines(sweep)
    return "\n".join(lines)


def verdict_lines(sweep: SweepResult) -> list[str]:
    t = sweep.topology
    load = ", ".join("?" if x != x else f"{x:.2f}" for x in sweep.load_avg)
    lines = [
        f"{sweep.task} on {sweep.backend}, {sweep.scenario}: {t.describe()}; graph width "
        f"{sweep.graph_width}; {len(sweep.measured)} of {len(sweep.results)} point(s) measured, "
        f"up to {sweep.repeats} repeat(s), {sweep.elapsed_s:.0f} s of a {sweep.budget_s:g} s "
        f"budget; load average {load} (before, after)",
    ]
    if sweep.stopped:
        lines.append(f"stopped early: {sweep.stopped} (points measured so far are kept)")
    best = sweep.best
    if best is None:
        lines.append("no point was measured: no best setting")
        return lines
    lines.append(
        f"best: {best.point.describe()}: {_fmt(best.median)} {sweep.metric} (median of "
        f"{len(best.values)}, range {_fmt(best.low)}..{_fmt(best.high)})"
    )
    for s in sweep.speedups():
        lines.append(f"speedup: {s.describe()}")
    return lines
