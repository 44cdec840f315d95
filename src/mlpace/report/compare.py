"""``compare(A, B)``: did B get slower or faster than A, beyond noise and beyond a threshold?

Per scenario, each metric gets B's value, the relative change ``B / A - 1`` and its confidence
interval (:mod:`mlpace.report.stats`). The verdict is deliberately conservative, because CI
jobs act on it:

* **regression**: the whole interval lies beyond the threshold on the bad side (latency up,
  throughput down), i.e. we are confident the run got worse by more than the threshold;
* **improvement**: the same on the good side;
* **changed, below threshold**: the interval excludes 0 but not the threshold (relative, or
  the per-query floor ``min_change_ns``);
* **inconclusive**: the point estimate is beyond the threshold but the interval is too wide;
* **no significant change**: the interval contains 0.

Metrics: latency p50, p90, p99 (and the run's target percentile) and the mean, per sample
(MultiStream: per query); throughput; and the time to first token for token runs that kept
per-sample times. Offline latencies are completion times from the start of one big query, so
Offline is compared on throughput only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mlpace.errors import MlpaceError
from mlpace.report.run import RunLog
from mlpace.report.samples import SampleTimes
from mlpace.report.stats import (
    DEFAULT_CONFIDENCE,
    Interval,
    compare_latencies,
    compare_throughput,
)
from mlpace.report.svg import format_value

I64 = npt.NDArray[np.int64]
DEFAULT_THRESHOLD = 0.05
# Changes smaller than this (per query) never count as regressions: below a few microseconds a
# Python load generator on a shared machine measures its own jitter, not the SUT (issue lag
# alone is microseconds), so two identical null-SUT runs can differ by 10-20 % of 1 µs.
DEFAULT_MIN_CHANGE_NS = 5_000
REGRESSION = "regression"
IMPROVEMENT = "improvement"
WITHIN = "changed, below threshold"
INCONCLUSIVE = "inconclusive"
SAME = "no significant change"
MIN_SAMPLES = 20


class CompareError(MlpaceError):
    """The two runs cannot be compared (names why)."""


@dataclass(frozen=True)
class MetricChange:
    name: str
    unit: str  # "ns" or "/s"
    lower_is_better: bool
    a: float
    b: float
    change: Interval
    method: str
    verdict: str

    @property
    def regression(self) -> bool:
        return self.verdict == REGRESSION


@dataclass(frozen=True)
class ScenarioComparison:
    scenario: str
    a: RunLog
    b: RunLog
    metrics: tuple[MetricChange, ...]
    notes: tuple[str, ...] = ()

    @property
    def regressions(self) -> list[MetricChange]:
        return [m for m in self.metrics if m.regression]


@dataclass(frozen=True)
class Comparison:
    scenarios: tuple[ScenarioComparison, ...]
    threshold: float
    confidence: float
    notes: tuple[str, ...] = field(default=())
    min_change_ns: float = 0.0

    @property
    def regressions(self) -> list[tuple[str, MetricChange]]:
        return [(s.scenario, m) for s in self.scenarios for m in s.regressions]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)


def _time_change_ns(rel: float, a: float, lower_is_better: bool) -> float:
    """The per-query time change (ns) a relative change ``rel`` of ``a`` means.

    Latency (``lower_is_better``): ``rel * a``. A rate in queries/s: the time per query goes
    from ``1/a`` to ``1/(a (1 + rel))`` seconds.
    """
    if lower_is_better:
        return rel * a
    if a <= 0 or rel <= -1.0:
        return math.inf
    return (1.0 / (a * (1.0 + rel)) - 1.0 / a) * 1e9


def verdict(
    change: Interval,
    threshold: float,
    lower_is_better: bool,
    *,
    a_value: float | None = None,
    min_change_ns: float = 0.0,
) -> str:
    """Classify an interval of ``B / A - 1`` (see the module docstring).

    With ``a_value`` and ``min_change_ns``, a regression or improvement must also be larger
    than ``min_change_ns`` per query at the interval's near end (latency in ns; a rate in
    queries/s).
    """
    lo, hi, est = change.low, change.high, change.estimate
    if any(math.isnan(v) for v in (lo, hi, est)):
        return INCONCLUSIVE
    worse_lo, worse_hi = (lo, hi) if lower_is_better else (-hi, -lo)  # > 0 means worse
    worse_est = est if lower_is_better else -est
    near_worse = lo if lower_is_better else hi  # the interval's end closest to "no change"
    near_better = hi if lower_is_better else lo
    floor_ok_worse = floor_ok_better = True
    if a_value is not None and min_change_ns > 0:
        floor_ok_worse = abs(_time_change_ns(near_worse, a_value, lower_is_better)) > min_change_ns
        floor_ok_better = (
            abs(_time_change_ns(near_better, a_value, lower_is_better)) > min_change_ns
        )
    if worse_lo > threshold:
        return REGRESSION if floor_ok_worse else WITHIN
    if worse_hi < -threshold:
        return IMPROVEMENT if floor_ok_better else WITHIN
    if abs(worse_est) > threshold:
        return INCONCLUSIVE
    if lo > 0 or hi < 0:
        return WITHIN
    return SAME


def _query_latencies(s: SampleTimes) -> tuple[I64, I64]:
    """MultiStream: per-query latency (its slowest sample) and the query's base time."""
    done = s.completed_mask
    q = s.query_of_sample[done]
    lat = s.latency_ns[done]
    base = s.base_ns[done]
    if q.size == 0:
        return lat, base
    starts = np.flatnonzero(np.concatenate([[True], q[1:] != q[:-1]]))
    return np.maximum.reduceat(lat, starts), base[starts]


def _latency_arrays(run: RunLog) -> tuple[I64, I64]:
    s = run.samples
    assert s is not None
    if run.scenario == "MultiStream":
        return _query_latencies(s)
    done = s.completed_mask
    return s.latency_ns[done], s.base_ns[done]


def _percentiles_for(run: RunLog) -> tuple[float, ...]:
    ps = [0.5, 0.9, 0.99]
    target = run.detail.get("effective_target_latency_percentile")
    if isinstance(target, (int, float)) and 0 < float(target) < 1 and float(target) not in ps:
        ps.append(float(target))
    return tuple(sorted(ps))


def compare_pair(
    a: RunLog,
    b: RunLog,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
    min_change_ns: float = DEFAULT_MIN_CHANGE_NS,
    resamples: int = 1000,
    seed: int = 0,
) -> ScenarioComparison:
    """Compare two runs of the same scenario from their per-sample timing."""
    if a.scenario != b.scenario:
        raise CompareError(f"cannot compare a {a.scenario} run with a {b.scenario} run")
    for run in (a, b):
        if not run.has_performance:
            raise CompareError(f"{run.path}: not a performance run (mode {run.mode})")
        if run.samples is None:
            raise CompareError(
                f"{run.path}: no per-query timing to compare (neither mlpace_samples.npz nor "
                "mlperf_log_trace.json); rerun with the trace enabled"
            )
    assert a.samples is not None and b.samples is not None
    notes = [f"{r.label}: {r.samples_note}" for r in (a, b) if r.samples and not r.samples.complete]
    metrics: list[MetricChange] = []
    scenario = a.scenario
    if scenario != "Offline":
        la, ta = _latency_arrays(a)
        lb, tb = _latency_arrays(b)
        if la.size < MIN_SAMPLES or lb.size < MIN_SAMPLES:
            raise CompareError(
                f"too few completed samples to compare ({la.size} and {lb.size}; need "
                f"{MIN_SAMPLES})"
            )
        ps = _percentiles_for(a)
        lat = compare_latencies(
            la, ta, lb, tb, ps, confidence=confidence, resamples=resamples, seed=seed
        )
        what = "query latency" if scenario == "MultiStream" else "latency"
        method = "block bootstrap"

        def judged(ch: Interval, va: float) -> str:
            return verdict(ch, threshold, True, a_value=va, min_change_ns=min_change_ns)

        for p, va, vb, ch in zip(ps, lat.a_values, lat.b_values, lat.changes):
            metrics.append(
                MetricChange(f"p{p * 100:g} {what}", "ns", True, va, vb, ch, method,
                             judged(ch, va))
            )  # fmt: skip
        metrics.append(
            MetricChange(f"mean {what}", "ns", True, lat.a_mean, lat.b_mean, lat.mean_change,
                         method, judged(lat.mean_change, lat.a_mean))
        )  # fmt: skip
        metrics += _ttft(a, b, threshold, confidence, resamples, seed, min_change_ns)
    if scenario == "MultiStream":
        done_a, done_b = _query_done(a.samples), _query_done(b.samples)
        rate_a = rate_b = None  # the logs state no MultiStream throughput
    else:
        done_a, done_b = a.samples.done_ns(), b.samples.done_ns()
        rate_a, rate_b = a.throughput(), b.throughput()
    tp = compare_throughput(done_a, done_b, a_rate=rate_a, b_rate=rate_b, confidence=confidence)
    one_at_a_time = scenario in ("SingleStream", "MultiStream")
    name = "queries/s" if one_at_a_time else "samples/s"
    # One query at a time: the rate is 1 / time per query, so the same floor applies.
    floor = min_change_ns if one_at_a_time else 0.0
    tp_verdict = verdict(tp.change, threshold, False, a_value=tp.a_rate, min_change_ns=floor)
    metrics.append(
        MetricChange(f"throughput ({name})", "/s", False, tp.a_rate, tp.b_rate, tp.change,
                     "Welch t-test on window rates", tp_verdict)
    )  # fmt: skip
    return ScenarioComparison(scenario, a, b, tuple(metrics), tuple(notes))


def _query_done(s: SampleTimes) -> I64:
    lat, base = _query_latencies(s)
    out: I64 = lat + base
    return out


def _ttft(
    a: RunLog,
    b: RunLog,
    threshold: float,
    confidence: float,
    resamples: int,
    seed: int,
    min_change_ns: float,
) -> list[MetricChange]:
    sa, sb = a.samples, b.samples
    if sa is None or sb is None or sa.ttft_ns is None or sb.ttft_ns is None:
        return []
    ok_a, ok_b = sa.ttft_ns >= 0, sb.ttft_ns >= 0
    if ok_a.sum() < MIN_SAMPLES or ok_b.sum() < MIN_SAMPLES:
        return []
    res = compare_latencies(
        sa.ttft_ns[ok_a], sa.base_ns[ok_a], sb.ttft_ns[ok_b], sb.base_ns[ok_b], (0.5, 0.99),
        confidence=confidence, resamples=resamples, seed=seed + 1,
    )  # fmt: skip
    return [
        MetricChange(f"p{p * 100:g} TTFT", "ns", True, va, vb, ch, "block bootstrap",
                     verdict(ch, threshold, True, a_value=va, min_change_ns=min_change_ns))
        for p, va, vb, ch in zip(res.percentiles, res.a_values, res.b_values, res.changes)
    ]  # fmt: skip


def compare_runs(
    a_runs: list[RunLog],
    b_runs: list[RunLog],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
    min_change_ns: float = DEFAULT_MIN_CHANGE_NS,
    resamples: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Pair the performance runs of A and B by scenario and compare each pair."""
    if not 0.0 <= threshold < 10.0:
        raise CompareError(f"the threshold must be a fraction in [0, 10), got {threshold}")
    if not 0.5 <= confidence < 1.0:
        raise CompareError(f"the confidence must be in [0.5, 1), got {confidence}")
    pa = {r.scenario: r for r in a_runs if r.has_performance}
    pb = {r.scenario: r for r in b_runs if r.has_performance}
    common = [s for s in pa if s in pb]
    if not common:
        raise CompareError(
            f"no scenario with a performance run in both: A has {sorted(pa) or 'none'}, "
            f"B has {sorted(pb) or 'none'}"
        )
    notes = [f"only in A: {s}" for s in pa if s not in pb] + [
        f"only in B: {s}" for s in pb if s not in pa
    ]
    pairs = tuple(
        compare_pair(pa[s], pb[s], threshold=threshold, confidence=confidence,
                     min_change_ns=min_change_ns, resamples=resamples, seed=seed)
        for s in common
    )  # fmt: skip
    return Comparison(pairs, threshold, confidence, tuple(notes), min_change_ns)


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x * 100:+.1f}%"


def format_comparison(cmp: Comparison) -> str:
    """The plain-text table ``mlpace compare`` prints."""
    lines = [
        f"threshold {cmp.threshold * 100:g}% (and {cmp.min_change_ns / 1000:g} µs per query), "
        f"{cmp.confidence * 100:g}% confidence intervals of the change B/A - 1"
    ]
    for sc in cmp.scenarios:
        lines.append("")
        lines.append(f"{sc.scenario}: A = {sc.a.label} ({sc.a.path})")
        lines.append(f"{' ' * len(sc.scenario)}  B = {sc.b.label} ({sc.b.path})")
        rows = [("metric", "A", "B", "change", "interval", "verdict")]
        for m in sc.metrics:
            rows.append(
                (
                    m.name,
                    format_value(m.a, m.unit),
                    format_value(m.b, m.unit),
                    _pct(m.change.estimate),
                    f"[{_pct(m.change.low)}, {_pct(m.change.high)}]",
                    m.verdict.upper() if m.regression else m.verdict,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        lines += [f"  note: {n}" for n in sc.notes]
    lines += [f"note: {n}" for n in cmp.notes]
    lines.append("")
    if cmp.regressed:
        named = ", ".join(f"{s} {m.name} {_pct(m.change.estimate)}" for s, m in cmp.regressions)
        lines.append(f"REGRESSION: {named}")
    else:
        lines.append("no regression beyond the threshold")
    return "\n".join(lines) + "\n"


def comparison_html(cmp: Comparison) -> str:
    """The comparison as an HTML block (the top of ``mlpace compare --html``)."""
    import html

    esc = html.escape
    out = [
        "<h2>Comparison</h2>",
        f"<p>Threshold {cmp.threshold * 100:g}% and {cmp.min_change_ns / 1000:g} µs per query; "
        f"{cmp.confidence * 100:g}% confidence intervals "
        "of the relative change B/A - 1 (latency: block bootstrap over time-contiguous blocks of "
        "the raw per-query latencies; throughput: Welch's t-test on per-window rates).</p>",
    ]
    for sc in cmp.scenarios:
        out.append(
            f"<h3>{esc(sc.scenario)}: A = {esc(sc.a.label)}, B = {esc(sc.b.label)}</h3><table>"
            "<tr><th>metric</th><th>A</th><th>B</th><th>change</th><th>interval</th>"
            "<th>verdict</th></tr>"
        )
        for m in sc.metrics:
            cls = "fail" if m.regression else ("pass" if m.verdict == IMPROVEMENT else "")
            out.append(
                f'<tr><th>{esc(m.name)}</th><td class="num">{esc(format_value(m.a, m.unit))}'
                f'</td><td class="num">{esc(format_value(m.b, m.unit))}</td>'
                f'<td class="num">{_pct(m.change.estimate)}</td>'
                f"<td>[{_pct(m.change.low)}, {_pct(m.change.high)}]</td>"
                f'<td class="{cls}">{esc(m.verdict)}</td></tr>'
            )
        out.append("</table>")
    verdict_text = (
        "REGRESSION: " + ", ".join(f"{s} {m.name}" for s, m in cmp.regressions)
        if cmp.regressed
        else "No regression beyond the threshold."
    )
    cls = "fail" if cmp.regressed else "pass"
    out.append(f'<p class="{cls}">{esc(verdict_text)}</p>')
    return "".join(out)


__all__ = [
    "DEFAULT_MIN_CHANGE_NS",
    "DEFAULT_THRESHOLD",
    "comparison_html",
    "CompareError",
    "Comparison",
    "MetricChange",
    "ScenarioComparison",
    "compare_pair",
    "compare_runs",
    "format_comparison",
    "verdict",
]
