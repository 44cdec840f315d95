"""Thread-settings sweep: measure every grid point, pick the best, say how sure that is.

``run_sweep(points, measure, repeats=..., budget_s=...)`` measures in rounds: round 1 runs each
point once, in order, admitting points while its share of the budget (1/repeats) lasts; later
rounds repeat the admitted points in alternating order, so a slow drift of the machine's load
spreads over all points instead of favouring whichever ran first. After ``repeats`` rounds,
more rounds (up to ``max_repeats``) use what is left of the budget: more repeats, narrower
confidence. A measurement that would overrun the budget is not started (its cost is estimated
from the ones before). Ctrl-C or a stop signal ends the sweep and keeps every point measured so
far.

Each point's figure is the median of its repeats, shown with its range (lowest..highest). A
speedup is the ratio of medians, with the ratios round by round and a sign test over them
(:class:`Speedup`).

``measure(point)`` returns one throughput figure (Offline samples/s or Server peak QPS); the
LoadGen-based one is in :mod:`mlpace.workloads.tuning_measure`; tests inject a fake.
"""

from __future__ import annotations

import math
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
    """Best over a reference point: the ratio of medians, and the ratios round by round.

    Points of one round run minutes apart at most, under the same load, so the per-round
    ratios cancel most of a busy machine's drift. The speedup is *clear* when a one-sided sign
    test over the rounds rejects "no faster" at 5 % (5 rounds out of 5 at least).
    """

    reference: str
    ratio: float
    paired: tuple[float, ...]

    @property
    def wins(self) -> int:
        return sum(1 for r in self.paired if r > 1.0)

    @property
    def p_value(self) -> float:
        n, k = len(self.paired), self.wins
        return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n if n else 1.0

    @property
    def clear(self) -> bool:
        return self.p_value <= 0.05

    def describe(self) -> str:
        n = len(self.paired)
        spread = f"{min(self.paired):.2f}..{max(self.paired):.2f}x" if n else "-"
        verdict = "clear" if self.clear else "not proven"
        return (
            f"{self.ratio:.2f}x over the {self.reference} (round by round {spread}; faster in "
            f"{self.wins} of {n} rounds, sign test p={self.p_value:.3f}: {verdict})"
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
    repeats: int  # rounds asked for (the most a point got may be more: see max_repeats)
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
        assert best.median is not None
        paired = tuple(b / r for b, r in zip(best.values, ref.values) if r > 0)
        return Speedup(label, best.median / ref.median, paired)

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
    max_repeats: int | None = None,
    budget_s: float = 300.0,
    clock: Callable[[], float] = time.monotonic,
    say: Say | None = None,
) -> SweepResult:
    """Measure ``points`` (``repeats`` rounds, up to ``max_repeats`` while the budget lasts)
    within ``budget_s`` seconds of ``clock``."""
    if repeats < 1:
        raise MlpaceError(f"repeats must be >= 1, got {repeats}")
    rounds = max(repeats, max_repeats or repeats)
    tell = say or (lambda _line: None)
    results = [PointResult(p) for p in points]
    start = clock()
    load_before = _load_avg()
    stopped, exit_code = "", 0
    costs: list[float] = []
    share = budget_s / repeats  # round 1's share: the later rounds repeat what it measured

    def expected_cost() -> float:
        return statistics.median(costs) if costs else 0.0

    # measure.prepare(point), if it has one, sets a point up (e.g. loads its backend); its
    # time counts against the budget but not in the cost estimate of a measurement.
    prepare: Callable[[ThreadPoint], object] | None = getattr(measure, "prepare", None)
    budget_hit = False
    admitted: list[PointResult] = []
    try:
        for rnd in range(rounds):
            queue = results if rnd == 0 else (admitted if rnd % 2 else admitted[::-1])
            active = [r for r in admitted if not r.error]
            if rnd >= repeats and clock() - start + expected_cost() * len(active) > budget_s:
                break  # an extra round runs whole or not at all: equal repeats for every point
            for res in queue:
                if res.error:
                    continue
                spent = clock() - start
                if rnd == 0 and len(admitted) >= 2 and spent + expected_cost() > share:
                    break  # round 1 admitted what its share of the budget allows
                if spent + expected_cost() > budget_s:
                    budget_hit = rnd < repeats  # extra rounds just end with the budget
                    break
                try:
                    if prepare is not None and rnd == 0:
                        prepare(res.point)  # building a backend is no part of a pass's cost
                    t0 = clock()
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
                    f"mlpace: tune: round {rnd + 1}/{rounds}: {res.point.describe()}: "
                    f"{value:,.1f} {metric} ({cost:.1f} s)"
                )
            if budget_hit or clock() - start + expected_cost() > budget_s:
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
        f"{_repeats_text(sweep)}, {sweep.elapsed_s:.0f} s of a {sweep.budget_s:g} s "
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


def _repeats_text(sweep: SweepResult) -> str:
    counts = [len(r.values) for r in sweep.measured]
    if not counts:
        return "no repeats"
    lo, hi = min(counts), max(counts)
    return f"{lo} repeat(s) each" if lo == hi else f"{lo} to {hi} repeats"
