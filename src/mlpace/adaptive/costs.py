"""Cost models: the link model (always), declared task estimates, and a deterministic CPU model.

Communication is modelled: a transfer of ``n`` bytes occupies its link for
``latency + n / bandwidth``; the bytes are really copied, so "bytes moved" is measured, but the
copy's own time is not what is charged (unless the bandwidth is 0, which means "charge the
measured copy time": this machine's memory system is the link).

CPU tasks are charged their measured thread CPU time by default (robust when other processes
load the machine: waiting for a core is not counted); :class:`CpuModel` replaces that by fixed
per-operation costs, fitted to NumPy on the project's 2-core machine, for deterministic runs
and tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mlpace.adaptive.runtime import AdaptiveError

# Declared estimates (the "annotations" the mode is built from). Only their proportions matter:
# alpha and beta are compared with the ratio of these numbers.
EST_NS_PER_USEFUL_FLOP = 0.5  # compute tasks declare their useful work: 2 flops per non-zero
EST_NS_PER_SCANNED_ELEMENT = 0.5  # a compression task declares a pass over its tile


@dataclass(frozen=True)
class LinkModel:
    """``gbps`` in GB/s (1e9 bytes per second); 0 charges the measured copy time instead."""

    gbps: float = 1.0
    latency_ns: float = 1_000.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.gbps) and self.gbps >= 0):
            raise AdaptiveError(
                "the link bandwidth must be a finite number of GB/s >= 0 (0: measured copies)",
                field="link_gbps",
                value=self.gbps,
            )
        if not (math.isfinite(self.latency_ns) and self.latency_ns >= 0):
            raise AdaptiveError(
                "the link latency must be a finite number of ns >= 0",
                field="link_latency_ns",
                value=self.latency_ns,
            )

    @property
    def measured(self) -> bool:
        return self.gbps == 0

    def estimate_ns(self, nbytes: int) -> float:
        """Declared cost of a transfer; with a measured link, 1 GB/s stands in for the estimate."""
        return self.latency_ns + nbytes / (self.gbps or 1.0)

    def charge_ns(self, nbytes: int, copy_cpu_ns: int) -> int:
        if self.measured:
            return int(copy_cpu_ns)
        return int(round(self.latency_ns + nbytes / self.gbps))


@dataclass(frozen=True)
class CpuModel:
    """Deterministic CPU costs in ns (fitted on NumPy 2.x, one core of the 2-core box)."""

    dense_mv_per_element: float = 0.25
    csr_mv_fixed: float = 6_000.0
    csr_mv_per_nnz: float = 5.6
    scan_fixed: float = 1_500.0
    scan_per_element: float = 0.35
    compress_fixed: float = 4_000.0
    compress_per_element: float = 0.35
    compress_per_nnz: float = 3.5
    reduce_per_element: float = 0.3

    def dense_mv(self, elements: int) -> float:
        return self.dense_mv_per_element * elements

    def csr_mv(self, nnz: int) -> float:
        return self.csr_mv_fixed + self.csr_mv_per_nnz * nnz

    def scan(self, elements: int) -> float:
        return self.scan_fixed + self.scan_per_element * elements

    def compress(self, elements: int, nnz: int) -> float:
        return (
            self.compress_fixed + self.compress_per_element * elements + self.compress_per_nnz * nnz
        )

    def reduce(self, elements: int) -> float:
        return self.reduce_per_element * elements


def calibrate(
    tile: int,
    *,
    repeats: int = 30,
    cpu_time_ns: Callable[[], int] = time.thread_time_ns,
    seed: int = 0,
) -> CpuModel:
    """Fit a :class:`CpuModel` to this machine: each operation timed on a nearly empty and on a
    full tile, the minimum of ``repeats`` runs (the least disturbed one, so a loaded machine
    shifts the fit little), then a straight line through the two points."""
    from mlpace.adaptive.matrix import compress  # here: matrix imports this module's errors

    if repeats < 1:
        raise AdaptiveError(
            "calibration needs at least 1 repetition", field="repeats", value=repeats
        )
    rng = np.random.default_rng(seed)
    elements = tile * tile
    sparse = np.zeros((tile, tile))
    sparse.flat[rng.choice(elements, size=max(1, tile // 4), replace=False)] = 1.0
    full = rng.uniform(0.5, 1.5, (tile, tile))
    x = rng.uniform(-1.0, 1.0, tile)
    csr_sparse, csr_full = compress(sparse), compress(full)
    partial = np.zeros((16, 16, tile))

    def best(fn: Callable[[], object]) -> float:
        fastest = math.inf
        for _ in range(repeats):
            t0 = cpu_time_ns()
            fn()
            fastest = min(fastest, cpu_time_ns() - t0)
        return max(0.0, float(fastest))

    def line(y0: float, y1: float, x0: int, x1: int) -> tuple[float, float]:
        slope = max(0.0, (y1 - y0) / (x1 - x0)) if x1 != x0 else 0.0
        return max(0.0, y0 - slope * x0), slope

    csr_fixed, csr_slope = line(
        best(lambda: csr_sparse.matvec(x)),
        best(lambda: csr_full.matvec(x)),
        csr_sparse.nnz,
        csr_full.nnz,
    )
    scan = best(lambda: np.count_nonzero(full))
    comp_sparse = best(lambda: compress(sparse))
    comp_full = best(lambda: compress(full))
    _, comp_per_nnz = line(comp_sparse, comp_full, csr_sparse.nnz, csr_full.nnz)
    return CpuModel(
        dense_mv_per_element=best(lambda: full @ x) / elements,
        csr_mv_fixed=csr_fixed,
        csr_mv_per_nnz=csr_slope,
        scan_fixed=0.0,
        scan_per_element=scan / elements,
        compress_fixed=0.0,
        compress_per_element=max(0.0, comp_sparse - comp_per_nnz * csr_sparse.nnz) / elements,
        compress_per_nnz=comp_per_nnz,
        reduce_per_element=best(lambda: partial.sum(axis=1)) / partial.size,
    )
