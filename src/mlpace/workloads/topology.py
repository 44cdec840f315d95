"""The CPUs this process may use: logical CPUs, physical cores and sockets.

Thread settings are budgeted against *physical* cores: two hyper-threads share one core's
arithmetic units, so a compute-bound kernel gains little from the second one and a pool sized to
logical CPUs oversubscribes the machine. Linux exposes the layout in sysfs
(``cpuN/topology/{core_id,physical_package_id}``); elsewhere, or when sysfs is unreadable, every
logical CPU counts as a core (and the description says so).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuTopology", "detect_topology", "topology_from_sysfs"]

SYSFS_CPU = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class CpuTopology:
    """``physical_cores`` usable cores (hyper-threads counted out) on ``sockets`` sockets."""

    logical_cpus: int
    physical_cores: int
    sockets: int = 1
    source: str = "sysfs"  # "sysfs", or "cpu_count" when the layout is unknown

    def __post_init__(self) -> None:
        if not 1 <= self.physical_cores <= self.logical_cpus or self.sockets < 1:
            raise ValueError(f"inconsistent CPU topology: {self}")

    @property
    def cores_per_socket(self) -> int:
        """Physical cores of the fullest socket (the Intel-style rule's intra-op threads)."""
        return max(1, -(-self.physical_cores // self.sockets))

    @property
    def threads_per_core(self) -> int:
        return max(1, self.logical_cpus // self.physical_cores)

    def describe(self) -> str:
        per_core = self.threads_per_core
        ht = f", {per_core} hyper-threads per core" if per_core > 1 else ""
        unknown = " (layout unknown: every logical CPU counted as a core)"
        return (
            f"{self.physical_cores} physical cores on {self.sockets} socket(s), "
            f"{self.logical_cpus} logical CPUs{ht}"
            + (unknown if self.source == "cpu_count" else "")
        )


def _allowed_cpus() -> list[int] | None:
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    return sorted(getter(0))


def topology_from_sysfs(root: Path, cpus: Iterable[int]) -> CpuTopology | None:
    """The layout of ``cpus`` read from a sysfs CPU folder; None when it cannot be read."""
    cores: set[tuple[str, str]] = set()
    packages: set[str] = set()
    count = 0
    for cpu in cpus:
        topo = root / f"cpu{cpu}" / "topology"
        try:
            package = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
        except OSError:
            return None
        count += 1
        packages.add(package)
        cores.add((package, core))
    if not count:
        return None
    return CpuTopology(count, len(cores), len(packages), "sysfs")


@functools.lru_cache(maxsize=1)
def detect_topology() -> CpuTopology:
    """This process's CPUs (its affinity mask), read once per process."""
    allowed = _allowed_cpus()
    if allowed:
        found = topology_from_sysfs(SYSFS_CPU, allowed)
        if found is not None:
            return found
    logical = len(allowed) if allowed else (os.cpu_count() or 1)
    return CpuTopology(logical, logical, 1, "cpu_count")
