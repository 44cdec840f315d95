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
from dataclasses import dataclass

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
