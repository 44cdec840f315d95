"""Confidence intervals for the change between two runs, from their raw per-query times.

Latency percentiles and the mean: a **block bootstrap**. Each run's samples are put in time
order and cut into contiguous blocks; a replicate draws as many blocks with replacement and
recomputes the statistic. Drawing whole blocks keeps what the plain (i.i.d.) bootstrap and the
order-statistic interval ignore: latencies come in bursts (a preempted issue thread, a garbage
collection, a noisy neighbour), so neighbouring samples are not independent and intervals that
assume they are come out far too narrow on a shared machine. Replicates are computed on
log-spaced histogram bins 0.2 % wide (each block's histogram once, then one matrix product for
all replicates), so the cost does not grow with the number of samples. The interval is the
percentile interval of the replicates' relative change ``B / A - 1``.

Throughput: completions per second in equal time windows of each run; Welch's t-test on the
window rates gives the interval of the difference of the means, expressed relative to A.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

BIN_WIDTH = 0.002  # relative width of a histogram bin (natural-log units)
MAX_BINS = 10_000  # wider ranges get wider bins
_CHUNK = 200  # replicates per matrix product (bounds the memory at ~16 MB)
DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.99


@dataclass(frozen=True)
class Interval:
    """A relative change ``B / A - 1`` and its confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float

    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0


def percentile_of(values: npt.NDArray[np.generic], p: float) -> float:
    """The official percentile ``sorted[floor(n * p)]`` of unsorted values."""
    n = int(values.shape[0])
    if n == 0:
        return math.nan
    k = min(int(n * p), n - 1)
    return float(np.partition(values, k)[k])


def n_blocks(n: int) -> int:
    """Blocks per run: enough replicate diversity, each block long enough to hold a burst."""
    if n < 40:
        return max(1, n)
    return int(min(50, max(10, n // 200)))


def _block_of(order_key: I64, blocks: int) -> I64:
    """Block index of each sample: ``blocks`` equal-count runs of consecutive samples in time."""
    n = order_key.shape[0]
    order = np.argsort(order_key, kind="stable")
    block = np.empty(n, dtype=np.int64)
    block[order] = (np.arange(n, dtype=np.int64) * blocks) // max(1, n)
    return block


@dataclass(frozen=True)
class _Binned:
    counts: F64  # [blocks, bins]
    sums: F64  # [blocks] sum of values per block (for the mean)


def _bins(a: I64, b: I64) -> F64:
    lo = max(1.0, float(min(a.min(), b.min())))
    hi = max(lo * 1.0001, float(max(a.max(), b.max())))
    nb = int(min(MAX_BINS, math.ceil(math.log(hi / lo) / BIN_WIDTH) + 1))
    return np.geomspace(lo, hi * (1 + 1e-12), nb + 1)


def _binned(values: I64, time_key: I64, edges: F64) -> _Binned:
    k = n_blocks(values.shape[0])
    block = _block_of(time_key, k)
    nb = edges.shape[0] - 1
    which = np.clip(np.searchsorted(edges, np.maximum(values, 1), side="right") - 1, 0, nb - 1)
    counts = np.bincount(block * nb + which, minlength=k * nb).reshape(k, nb).astype(np.float64)
    sums = np.bincount(block, weights=values.astype(np.float64), minlength=k).astype(np.float64)
    return _Binned(counts, sums)


def _replicate_weights(k: int, resamples: int, rng: np.random.Generator) -> F64:
    return rng.multinomial(k, np.full(k, 1.0 / k), size=resamples).astype(np.float64)


def _replicate_percentiles(binned: _Binned, w: F64, edges: F64, ps: tuple[float, ...]) -> F64:
    """[len(ps), resamples] percentile of each replicate (bin centres, geometric)."""
    centres = np.sqrt(edges[:-1] * edges[1:])
    out = np.empty((len(ps), w.shape[0]))
    for start in range(0, w.shape[0], _CHUNK):
        cum = np.cumsum(w[start : start + _CHUNK] @ binned.counts, axis=1)
        total = cum[:, -1:]
        for i, p in enumerate(ps):
            # the element at 0-based index floor(n p): the first bin whose count reaches it + 1
            need = np.floor(total * p) + 1.0
            idx = (cum < need).sum(axis=1)
            out[i, start : start + _CHUNK] = centres[np.minimum(idx, centres.shape[0] - 1)]
    return out


def _interval(ratio: F64, estimate: float, confidence: float) -> Interval:
    alpha = 1.0 - confidence
    lo, hi = np.quantile(ratio, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate, float(min(lo, estimate)), float(max(hi, estimate)), confidence)


@dataclass(frozen=True)
class LatencyComparison:
    """Per requested percentile (and the mean): values of A and B and the relative change."""

    percentiles: tuple[float, ...]
    a_values: tuple[float, ...]
    b_values: tuple[float, ...]
    changes: tuple[Interval, ...]
    a_mean: float
    b_mean: float
    mean_change: Interval


def compare_latencies(
    a: I64,
    a_time: I64,
    b: I64,
    b_time: I64,
    percentiles: tuple[float, ...],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> LatencyComparison:
    """Block-bootstrap intervals of ``B / A - 1`` for percentiles and the mean of latencies.

    ``a_time``/``b_time`` order the samples in time (their latency base); values are ns.
    """
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError("each run needs at least 2 completed samples to compare")
    rng = np.random.default_rng(seed)
    edges = _bins(a, b)
    ba, bb = _binned(a, a_time, edges), _binned(b, b_time, edges)
    wa = _replicate_weights(ba.counts.shape[0], resamples, rng)
    wb = _replicate_weights(bb.counts.shape[0], resamples, rng)
    ra = _replicate_percentiles(ba, wa, edges, percentiles)
    rb = _replicate_percentiles(bb, wb, edges, percentiles)
    a_vals = tuple(percentile_of(a, p) for p in percentiles)
    b_vals = tuple(percentile_of(b, p) for p in percentiles)
    changes = tuple(
        _interval(rb[i] / ra[i] - 1.0, b_vals[i] / a_vals[i] - 1.0, confidence)
        for i in range(len(percentiles))
    )
    mean_a, mean_b = float(a.mean()), float(b.mean())
    rep_mean_a = (wa @ ba.sums) / (wa @ ba.counts.sum(axis=1))
    rep_mean_b = (wb @ bb.sums) / (wb @ bb.counts.sum(axis=1))
    mean_change = _interval(rep_mean_b / rep_mean_a - 1.0, mean_b / mean_a - 1.0, confidence)
    return LatencyComparison(percentiles, a_vals, b_vals, changes, mean_a, mean_b, mean_change)


def window_rates(done_ns: I64, windows: int) -> F64:
    """Completions per second in ``windows`` equal windows from 0 to the last completion."""
    if done_ns.shape[0] == 0:
        return np.zeros(0)
    end = float(done_ns.max()) + 1.0
    edges = np.linspace(0.0, end, windows + 1)
    counts = np.histogram(done_ns.astype(np.float64), bins=edges)[0]
    return counts / (np.diff(edges) / 1e9)


def t_quantile(q: float, df: float) -> float:
    """Student's t quantile (Cornish-Fisher expansion; within 1e-3 for df >= 5)."""
    z = NormalDist().inv_cdf(q)
    if not math.isfinite(df) or df > 1e6:
        return z
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


@dataclass(frozen=True)
class ThroughputComparison:
    a_rate: float
    b_rate: float
    change: Interval
    t_statistic: float
    df: float


def compare_throughput(
    a_done_ns: I64,
    b_done_ns: I64,
    *,
    a_rate: float | None = None,
    b_rate: float | None = None,
    windows: int = 30,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ThroughputComparison:
    """Welch's t-test on per-window completion rates; the interval is relative to A's rate.

    ``a_rate``/``b_rate`` (e.g. the logged metric) replace the window means as the reported
    values; the interval's width always comes from the windows.
    """
    ra, rb = window_rates(a_done_ns, windows), window_rates(b_done_ns, windows)
    if ra.shape[0] < 2 or rb.shape[0] < 2:
        raise ValueError("each run needs completions to compare throughput")
    ma, mb = float(ra.mean()), float(rb.mean())
    va, vb = float(ra.var(ddof=1)) / ra.shape[0], float(rb.var(ddof=1)) / rb.shape[0]
    se = math.sqrt(va + vb)
    if se > 0:
        df = (va + vb) ** 2 / (
            (va**2 / (ra.shape[0] - 1) if va else 0.0) + (vb**2 / (rb.shape[0] - 1) if vb else 0.0)
            or 1e-300
        )
        t = (mb - ma) / se
    else:
        df, t = math.inf, 0.0 if mb == ma else math.copysign(math.inf, mb - ma)
    half = t_quantile(1 - (1 - confidence) / 2, df) * se
    shown_a = a_rate if a_rate is not None else ma
    shown_b = b_rate if b_rate is not None else mb
    est = shown_b / shown_a - 1.0 if shown_a else math.nan
    base = ma if ma else 1.0
    # a rate cannot fall by more than 100 %
    change = Interval(est, max(-1.0, est - half / base), est + half / base, confidence)
    return ThroughputComparison(shown_a, shown_b, change, t, df)


__all__ = [
    "Interval",
    "LatencyComparison",
    "ThroughputComparison",
    "compare_latencies",
    "compare_throughput",
    "n_blocks",
    "percentile_of",
    "t_quantile",
    "window_rates",
]
