"""Performance of one run as an estimate with a confidence interval, and the ratio of two runs.

The official compliance scripts compare two single numbers. mlpace compares the raw per-sample
latencies, so it can say how sure the difference is:

* latency scenarios (SingleStream p90 per sample, MultiStream p99 per query, Server p99 per
  sample): the percentile as LoadGen computes it (``sorted[floor(n*p)]``) with a
  distribution-free interval from the binomial law of order statistics;
* Offline: throughput (completed samples / time of the last completion) with a block bootstrap
  over the gaps between completions (blocks keep batches together); the resampling uses a fixed
  seed, so the same logs always give the same interval.

The interval of a ratio combines the two runs' intervals, each at a Bonferroni-adjusted level,
so the ratio's interval has at least the stated confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from mlpace.audit.logs import DetailLog, RawSamples

__all__ = [
    "Estimate",
    "SpeedRatio",
    "percentile_estimate",
    "ratio",
    "scenario_estimate",
    "throughput_estimate",
]

I64 = npt.NDArray[np.int64]
BOOTSTRAP_RESAMPLES = 400
BOOTSTRAP_SEED = 20_240_601
MAX_BLOCKS = 40


@dataclass(frozen=True)
class Estimate:
    """One run's performance figure and its interval (``low``/``high`` None: no raw data)."""

    label: str
    value: float
    low: float | None
    high: float | None
    unit: str  # "ns" or "samples/s"
    higher_is_better: bool
    count: int
    source: str

    def text(self) -> str:
        if self.unit == "ns":

            def fmt(v: float) -> str:
                return f"{v / 1e6:.4g} ms"
        else:

            def fmt(v: float) -> str:
                return f"{v:.5g} {self.unit}"

        interval = ""
        if self.low is not None and self.high is not None:
            interval = f" [{fmt(self.low)} .. {fmt(self.high)}]"
        return f"{self.label} {fmt(self.value)}{interval} ({self.count} values, {self.source})"


@dataclass(frozen=True)
class SpeedRatio:
    """Test speed / reference speed: above 1 the test run was faster."""

    value: float
    low: float | None
    high: float | None
    confidence: float

    def text(self) -> str:
        def pct(v: float) -> str:
            return f"{(v - 1.0) * 100:+.1f}%"

        interval = ""
        if self.low is not None and self.high is not None:
            interval = f" ({self.confidence:.0%} interval {pct(self.low)} .. {pct(self.high)})"
        return f"{pct(self.value)} speed{interval}"


def _z(confidence: float, intervals: int = 2) -> float:
    """Two-sided z for ``intervals`` intervals that must all hold at ``confidence`` together."""
    alpha = (1.0 - confidence) / intervals
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def percentile_estimate(
    values: I64, p: float, *, label: str, source: str, confidence: float = 0.95
) -> Estimate | None:
    """The p-th percentile as LoadGen takes it, with an order-statistic interval."""
    v = np.sort(np.asarray(values, dtype=np.int64))
    n = int(v.shape[0])
    if n == 0:
        return None
    k = min(n - 1, int(math.floor(n * p)))
    spread = _z(confidence) * math.sqrt(n * p * (1.0 - p))
    lo = max(0, int(math.floor(n * p - spread)))
    hi = min(n - 1, int(math.ceil(n * p + spread)))
    return Estimate(label, float(v[k]), float(v[lo]), float(v[hi]), "ns", False, n, source)


def throughput_estimate(
    completion_ns: I64, *, source: str, confidence: float = 0.95
) -> Estimate | None:
    """Samples per second from completion times since the start of the run."""
    c = np.sort(np.asarray(completion_ns, dtype=np.int64))
    n = int(c.shape[0])
    if n == 0 or int(c[-1]) <= 0:
        return None
    value = n / (int(c[-1]) / 1e9)
    gaps = np.diff(np.concatenate([np.zeros(1, dtype=np.int64), c])).astype(np.float64)
    blocks = min(MAX_BLOCKS, n)
    edges = np.linspace(0, n, blocks + 1).astype(np.int64)
    sums = np.add.reduceat(gaps, edges[:-1])
    counts = np.diff(edges).astype(np.float64)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    pick = rng.integers(0, blocks, size=(BOOTSTRAP_RESAMPLES, blocks))
    time_s = sums[pick].sum(axis=1) / 1e9
    rates = counts[pick].sum(axis=1) / np.maximum(time_s, 1e-12)
    alpha = (1.0 - confidence) / 2.0  # shared between the two runs of a ratio
    low, high = np.quantile(rates, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Estimate("throughput", value, float(low), float(high), "samples/s", True, n, source)


def _query_latencies(samples: RawSamples) -> I64:
    """MultiStream: a query's latency is that of its last sample (all are issued together)."""
    done = samples.latency_ns >= 0
    queries = samples.query[done]
    lat = samples.latency_ns[done]
    if queries.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(queries, kind="stable")
    q, lat = queries[order], lat[order]
    starts = np.flatnonzero(np.concatenate([[True], q[1:] != q[:-1]]))
    out: I64 = np.maximum.reduceat(lat, starts)
    return out


def _percentile_of(detail: DetailLog | None, scenario: str) -> float:
    default = 0.9 if scenario == "SingleStream" else 0.99
    if detail is None:
        return default
    value = detail.get("effective_target_latency_percentile")
    if isinstance(value, (int, float)) and 0.0 < float(value) < 1.0 and scenario != "Offline":
        return float(value)
    return default


def scenario_estimate(
    scenario: str,
    samples: RawSamples | None,
    detail: DetailLog | None,
    *,
    subset: npt.NDArray[np.bool_] | None = None,
    confidence: float = 0.95,
    percentile: float | None = None,
) -> Estimate | None:
    """The figure a scenario is judged by, from raw latencies when the run kept them.

    ``subset`` (a mask over the samples) restricts the estimate to some samples, e.g. those
    inside the performance sample set; ``percentile`` replaces the scenario's own. Without raw
    latencies the detail log's own number is used, without an interval.
    """
    p = _percentile_of(detail, scenario) if percentile is None else percentile
    if samples is not None and samples.count:
        chosen = samples
        if subset is not None:
            chosen = RawSamples(
                samples.sample_index[subset],
                samples.query[subset],
                samples.latency_ns[subset],
                samples.source,
            )
        done = chosen.latency_ns[chosen.latency_ns >= 0]
        if scenario == "Offline":
            return throughput_estimate(done, source=chosen.source, confidence=confidence)
        if scenario == "MultiStream":
            values = _query_latencies(chosen)
            label = f"p{p * 100:g} query latency"
        else:
            values = done
            label = f"p{p * 100:g} latency"
        return percentile_estimate(
            values, p, label=label, source=chosen.source, confidence=confidence
        )
    if detail is None or subset is not None:
        return None
    return _from_detail(scenario, detail, p)


def _from_detail(scenario: str, detail: DetailLog, p: float) -> Estimate | None:
    """The same figure from the detail log's own percentiles (LoadGen computes them the same way:
    ``sorted[floor(n*p)]``), so runs with and without raw latencies stay comparable."""
    source = "detail log only (no raw latencies: the run kept no trace)"
    if scenario == "Offline":
        value = detail.get("result_samples_per_second")
        unit, label, higher = "samples/s", "throughput", True
    elif scenario == "MultiStream":
        value = detail.get(f"result_{p * 100:.2f}_percentile_per_query_latency_ns")
        unit, label, higher = "ns", f"p{p * 100:g} query latency", False
    else:
        value = detail.get(f"result_{p * 100:.2f}_percentile_latency_ns")
        unit, label, higher = "ns", f"p{p * 100:g} latency", False
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return None
    count = detail.get("result_query_count")
    n = int(count) if isinstance(count, int) else 0
    return Estimate(label, float(value), None, None, unit, higher, n, source)


def ratio(reference: Estimate, test: Estimate, confidence: float = 0.95) -> SpeedRatio:
    """How much faster the test run was than the reference (its speed over the reference's)."""
    if reference.higher_is_better:
        value = test.value / reference.value
        pairs = (test.low, reference.high, test.high, reference.low)
    else:
        value = reference.value / test.value
        pairs = (reference.low, test.high, reference.high, test.low)
    a, b, c, d = pairs
    if None in pairs or not b or not d:
        return SpeedRatio(value, None, None, confidence)
    assert a is not None and b is not None and c is not None and d is not None
    return SpeedRatio(value, a / b, c / d, confidence)
