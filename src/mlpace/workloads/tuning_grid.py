"""The thread-settings grid of a sweep, pruned by the rules of arXiv:1908.04705.

A point is (intra-op threads, inter-op pools, SUT workers, batch size). The rules that keep the
grid small and sensible:

1. **Physical cores bound the threads**: workers x pools x intra-op threads <= physical cores;
   hyper-threads are counted out (they rarely help compute-bound kernels).
2. **Fill the machine**: points that leave more than half of the cores idle are dropped (a
   point using all of them with the same shape dominates them).
3. **Wide vs narrow graphs**: inter-op pools only pay when the graph has independent branches;
   pools > 1 are tried only up to the graph's width, and only on backends that run branches
   concurrently (ONNX Runtime's parallel executor). A narrow graph puts every core into
   intra-op threads or workers.
4. **Sockets**: a pool whose intra-op threads span sockets pays remote-memory traffic; that is
   only allowed when it is the only pool of the only worker.

Three reference points are always measured: the framework's default (its own thread counts, one
worker), the "Intel-style" rule (intra-op threads = cores per socket, inter-op pools = sockets,
one worker) and what ``mlpace run`` does by default for the task.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mlpace.workloads.topology import CpuTopology

__all__ = [
    "FRAMEWORK_DEFAULT",
    "INTEL_STYLE",
    "MLPACE_DEFAULT",
    "INTER_OP_BACKENDS",
    "ThreadPoint",
    "batch_candidates",
    "build_grid",
    "intel_style",
    "prune_reason",
]

FRAMEWORK_DEFAULT = "framework default"
INTEL_STYLE = "intel-style"
MLPACE_DEFAULT = "mlpace default"
# Backends whose executor runs independent graph branches at once (the "inter-op pools").
# PyTorch's eager modules run operators one after another: its inter-op pool only serves
# TorchScript forks, so for an nn.Module the graph is narrow and the pool count is moot.
INTER_OP_BACKENDS = ("onnxruntime",)


@dataclass(frozen=True)
class ThreadPoint:
    """One setting to measure. ``intra``/``pools`` None: the framework's own default."""

    intra: int | None
    pools: int | None
    workers: int
    batch: int
    label: str = ""  # a reference point's name ("framework default", ...), else ""

    @property
    def total_threads(self) -> int | None:
        if self.intra is None:
            return None
        return self.workers * (self.pools or 1) * self.intra

    @property
    def key(self) -> tuple[int | None, int | None, int, int]:
        return (self.intra, self.pools, self.workers, self.batch)

    def backend_options(self, backend: str) -> dict[str, Any]:
        """make_backend options for this point (empty: the backend's defaults)."""
        if self.pools is None or backend not in INTER_OP_BACKENDS:
            return {}
        if self.pools > 1:
            return {"inter_op_threads": self.pools, "execution_mode": "parallel"}
        return {"execution_mode": "sequential"}

    def describe(self) -> str:
        intra = "default" if self.intra is None else str(self.intra)
        pools = "default" if self.pools is None else str(self.pools)
        return f"intra {intra}, pools {pools}, workers {self.workers}, batch {self.batch}"


def _powers_of_two_upto(n: int) -> list[int]:
    out, k = [], 1
    while k <= n:
        out.append(k)
        k *= 2
    return out


def batch_candidates(default: int, largest: int) -> list[int]:
    """A quarter of, equal to and four times the task's batch, within [1, largest]."""
    largest = max(1, largest)
    wanted = (max(1, default // 4), default, default * 4)
    return sorted({min(max(1, b), largest) for b in wanted})


def intel_style(topology: CpuTopology, batch: int, backend: str) -> ThreadPoint:
    """Intra-op threads = cores per socket, inter-op pools = sockets, one worker."""
    pools = topology.sockets if backend in INTER_OP_BACKENDS else None
    return ThreadPoint(topology.cores_per_socket, pools, 1, batch, INTEL_STYLE)


def prune_reason(
    point: ThreadPoint, topology: CpuTopology, *, graph_width: int, backend: str
) -> str:
    """Why the rules drop ``point`` ("" when it stays in the grid)."""
    total = point.total_threads
    cores = topology.physical_cores
    pools = point.pools or 1
    if total is None:
        return ""  # framework defaults: measured as a reference, never generated
    if total > cores:
        return f"{total} threads > {cores} physical cores"
    if 2 * total <= cores and cores > 1:
        return f"{total} threads leave more than half of the {cores} cores idle"
    if pools > 1 and backend not in INTER_OP_BACKENDS:
        return f"{backend} runs operators one at a time (no inter-op pools)"
    if pools > max(1, graph_width):
        return f"{pools} pools > graph width {graph_width} (narrow graph: intra-op threads)"
    spans_sockets = point.intra is not None and point.intra > topology.cores_per_socket
    if topology.sockets > 1 and spans_sockets and point.workers * pools > 1:
        return "a pool's threads would span sockets while other pools compete"
    return ""


def build_grid(
    topology: CpuTopology,
    *,
    backend: str,
    graph_width: int,
    batches: Sequence[int],
    default_batch: int,
    mlpace_default: tuple[int | None, int] | None = None,
    max_points: int | None = None,
) -> list[ThreadPoint]:
    """Reference points first, then the pruned grid, most promising first.

    ``mlpace_default``: (threads, workers) of ``mlpace run``'s default for the task.
    """
    cores = topology.physical_cores
    counts = sorted(set(_powers_of_two_upto(cores)) | {cores, topology.cores_per_socket})
    width = max(1, graph_width)
    # Backends without inter-op pools keep their own setting (None): nothing to sweep there.
    pool_counts: list[int | None] = [None]
    if backend in INTER_OP_BACKENDS:
        pool_counts = [*sorted(set(_powers_of_two_upto(min(width, cores))) | {min(width, cores)})]
    # ONNX Runtime's own default executor is the sequential one: a single pool.
    default_pools = 1 if backend in INTER_OP_BACKENDS else None
    refs: list[ThreadPoint] = [
        ThreadPoint(None, default_pools, 1, default_batch, FRAMEWORK_DEFAULT),
        intel_style(topology, default_batch, backend),
    ]
    if mlpace_default is not None:
        threads, workers = mlpace_default
        pools = 1 if backend in INTER_OP_BACKENDS else None
        refs.append(ThreadPoint(threads, pools, workers, default_batch, MLPACE_DEFAULT))
    grid: list[ThreadPoint] = []
    for batch in batches:
        for intra in counts:
            for pools in pool_counts:
                for workers in counts:
                    p = ThreadPoint(intra, pools, workers, batch)
                    if not prune_reason(p, topology, graph_width=width, backend=backend):
                        grid.append(p)

    def order(p: ThreadPoint) -> tuple[int, int, int, int]:
        # Full machines first, the task's batch first, then the paper's preference for intra-op
        # threads over request-level workers at large batches (more threads per request first).
        full = 0 if p.total_threads == cores else 1
        return (full, 0 if p.batch == default_batch else 1, -(p.intra or 0), p.pools or 1)

    grid.sort(key=order)
    points = _dedupe([*refs, *grid])
    if max_points is not None:
        points = points[: max(len(_dedupe(refs)), max_points)]
    return points


def _dedupe(points: Iterable[ThreadPoint]) -> list[ThreadPoint]:
    """One point per setting; a grid point equal to a reference point keeps the reference's
    label (so the table says 'intel-style' once, not a twin row)."""
    seen: dict[tuple[int | None, int | None, int, int], int] = {}
    out: list[ThreadPoint] = []
    for p in points:
        if p.key in seen:
            kept = out[seen[p.key]]
            if p.label and p.label not in kept.label.split(" = "):
                labels = " = ".join(x for x in (kept.label, p.label) if x)
                out[seen[p.key]] = replace(kept, label=labels)
            continue
        seen[p.key] = len(out)
        out.append(p)
    return out
