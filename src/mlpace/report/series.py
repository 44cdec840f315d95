"""What the plots show, computed from per-sample timing: small arrays, whatever the run's size.

A CDF keeps a few hundred points, dense in the tail; series over the run are cut into time bins.
Percentiles use the official definition, ``sorted[floor(n * p)]``, so a plotted p99 equals the
logged one when a bin holds the whole run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mlpace.report.samples import SampleTimes

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def percentile_sorted(sorted_values: npt.NDArray[np.generic], p: float) -> float:
    n = int(sorted_values.shape[0])
    if n == 0:
        return math.nan
    return float(sorted_values[min(int(n * p), n - 1)])


def cdf_points(values_ns: I64, max_points: int = 400) -> tuple[F64, F64]:
    """(latency, cumulative fraction) at fractions spread evenly in the body and in the tail."""
    v = np.sort(values_ns[values_ns >= 0])
    n = int(v.shape[0])
    if n == 0:
        return np.zeros(0), np.zeros(0)
    body = np.linspace(0.0, 0.9, max_points // 3)
    deepest = max(1.0 / n, 1e-7)
    tail = 1.0 - np.logspace(-1.0, math.log10(deepest), max_points - body.size)
    q = np.unique(np.concatenate([body, tail, [1.0 - 1.0 / n]]))
    idx = np.minimum((q * n).astype(np.int64), n - 1)
    idx = np.unique(idx)
    return v[idx].astype(np.float64), (idx + 1).astype(np.float64) / n


@dataclass(frozen=True)
class OverTime:
    """Per time bin (centres in seconds): latency p50/p99, completions/s, issue lag p50/p99."""

    t_s: F64
    latency_p50_ns: F64
    latency_p99_ns: F64
    rate_per_s: F64
    lag_p50_ns: F64
    lag_p99_ns: F64
    ttft_p50_ns: F64 | None = None
    ttft_p99_ns: F64 | None = None


def _binned_percentiles(t: I64, values: I64, edges: I64, ps: tuple[float, ...]) -> list[F64]:
    nb = edges.size - 1
    out = [np.full(nb, np.nan) for _ in ps]
    if t.size == 0:
        return out
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, nb - 1)
    order = np.lexsort((values, which))
    which_sorted, values_sorted = which[order], values[order]
    bounds = np.searchsorted(which_sorted, np.arange(nb + 1))
    for b in range(nb):
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        if hi > lo:
            chunk = values_sorted[lo:hi]
            for k, p in enumerate(ps):
                out[k][b] = percentile_sorted(chunk, p)
    return out


def over_time(samples: SampleTimes, bins: int = 120) -> OverTime:
    """Latency and issue lag by when samples were due; throughput by when they completed."""
    done = samples.completed_mask
    base = samples.base_ns
    completion = samples.base_ns[done] + samples.latency_ns[done]
    end = int(max(int(base.max()) if base.size else 0, int(completion.max()) if done.any() else 0))
    end = max(end, 1)
    nb = max(1, min(bins, samples.count // 5 or 1))
    edges = np.linspace(0, end, nb + 1).round().astype(np.int64)
    edges[-1] = end + 1
    width_s = (edges[1:] - edges[:-1]) / 1e9
    centres = (edges[:-1] + edges[1:]) / 2e9
    lat_p50, lat_p99 = _binned_percentiles(base[done], samples.latency_ns[done], edges, (0.5, 0.99))
    counts = np.bincount(
        np.clip(np.searchsorted(edges, completion, side="right") - 1, 0, nb - 1), minlength=nb
    )
    rate = counts / width_s
    # Issue lag is a per-query quantity: one value per query (its first sample).
    first = np.ones(samples.count, dtype=bool)
    first[1:] = samples.query_of_sample[1:] != samples.query_of_sample[:-1]
    lag_p50, lag_p99 = _binned_percentiles(
        base[first], samples.issue_lag_ns[first], edges, (0.5, 0.99)
    )
    ttft50 = ttft99 = None
    if samples.ttft_ns is not None:
        ok = samples.ttft_ns >= 0
        ttft50, ttft99 = _binned_percentiles(base[ok], samples.ttft_ns[ok], edges, (0.5, 0.99))
    return OverTime(centres, lat_p50, lat_p99, rate, lag_p50, lag_p99, ttft50, ttft99)


def exact_percentiles(values_ns: I64, ps: tuple[float, ...]) -> list[float]:
    v = np.sort(values_ns[values_ns >= 0])
    return [percentile_sorted(v, p) for p in ps]


__all__ = ["OverTime", "cdf_points", "exact_percentiles", "over_time", "percentile_sorted"]
