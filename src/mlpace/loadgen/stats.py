"""Latency statistics exactly as the official LoadGen computes them (reference §8).

Percentile p of n sorted values is ``sorted[floor(n * p)]``: the product is a double, truncated,
no interpolation. Means are integer sums divided by n with C++ truncation. Everything is integer
nanoseconds and vectorised, so 10^6 samples take milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

# The fixed list every official log reports, as fractions.
PERCENTILES: tuple[float, ...] = (0.50, 0.90, 0.95, 0.97, 0.99, 0.999)


def percentile_index(n: int, percentile: float) -> int:
    """``floor(n * p)`` with the product taken in double precision, as the official code does."""
    return int(float(n) * percentile)


def percentile_label(percentile: float) -> str:
    """The official ``DoubleToString(p * 100)`` label: two decimals (``"99.90"``)."""
    return f"{percentile * 100:.2f}"


def percentile_short_label(percentile: float) -> str:
    """The one-decimal label of summary headlines and early stopping (``"90.0"``)."""
    return f"{percentile * 100:.1f}"


def trunc_div(numerator: int, denominator: int) -> int:
    """Integer division rounding toward zero (C++ semantics; Python's ``//`` floors)."""
    q = abs(numerator) // abs(denominator)
    return q if (numerator >= 0) == (denominator >= 0) else -q


def exact_sum(values: I64) -> int:
    """Sum of int64 values without silent overflow (falls back to Python ints when needed)."""
    if values.size == 0:
        return 0
    bound = int(np.abs(values).max()) * int(values.size)
    if bound < 2**62:
        return int(values.sum(dtype=np.int64))
    return sum(int(v) for v in values.tolist())


def mean_ns(values: I64) -> int:
    """Integer mean (sum / n truncated toward zero); 0 for an empty array, like the official."""
    if values.size == 0:
        return 0
    return trunc_div(exact_sum(values), int(values.size))


def sorted_ns(values: npt.ArrayLike) -> I64:
    """A sorted int64 copy."""
    out = np.array(values, dtype=np.int64, copy=True)
    out.sort(kind="stable")
    return out


def sort_owned_ns(values: I64) -> I64:
    """Sort a freshly computed int64 array in place and return it.

    For arrays nobody else holds (a difference of two columns): a million-query run then needs
    one latency array instead of two at the peak of the result computation.
    """
    values.sort(kind="stable")
    return values


def percentile_of_sorted(sorted_values: I64, percentile: float) -> int:
    """``sorted[floor(n * p)]``; 0 for an empty array (the official default)."""
    n = int(sorted_values.size)
    if n == 0:
        return 0
    return int(sorted_values[min(percentile_index(n, percentile), n - 1)])


@dataclass(frozen=True)
class LatencyStats:
    """Min, max, integer mean and the official percentiles of one latency array (ns)."""

    count: int
    min_ns: int
    max_ns: int
    mean_ns: int
    target_percentile: float
    target_ns: int
    percentiles_ns: tuple[tuple[float, int], ...]

    def at(self, percentile: float) -> int:
        """The value at one of :data:`PERCENTILES` (or the target percentile)."""
        for p, value in self.percentiles_ns:
            if p == percentile:
                return value
        if percentile == self.target_percentile:
            return self.target_ns
        raise KeyError(f"percentile {percentile} was not computed")

    @classmethod
    def empty(cls, target_percentile: float = 0.9) -> LatencyStats:
        return cls(0, 0, 0, 0, target_percentile, 0, tuple((p, 0) for p in PERCENTILES))


def latency_stats_sorted(sorted_values: I64, target_percentile: float) -> LatencyStats:
    """Statistics of an already sorted array."""
    n = int(sorted_values.size)
    if n == 0:
        return LatencyStats.empty(target_percentile)
    return LatencyStats(
        count=n,
        min_ns=int(sorted_values[0]),
        max_ns=int(sorted_values[-1]),
        mean_ns=mean_ns(sorted_values),
        target_percentile=target_percentile,
        target_ns=percentile_of_sorted(sorted_values, target_percentile),
        percentiles_ns=tuple((p, percentile_of_sorted(sorted_values, p)) for p in PERCENTILES),
    )


def latency_stats(values: npt.ArrayLike, target_percentile: float) -> LatencyStats:
    """Statistics of an unsorted array (it is copied and sorted)."""
    return latency_stats_sorted(sorted_ns(values), target_percentile)
