"""MPI + shared memory: MPI-3 shared windows within a node (the dissertation's MPISHM).

The ranks of one node map one copy of every array through ``MPI.Win.Allocate_shared`` and run
the same kernel bodies as the threads and shm models; barriers are MPI barriers and the
point-to-point pipeline signals of p2p are zero-byte MPI messages, while the data itself never
travels. All ranks must share one node (this model has no inter-node layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from mlpace.kernels import shared
from mlpace.kernels.errors import ModelUnavailableError
from mlpace.kernels.spec import KernelParams, verdict
from mlpace.kernels.timing import RunResult, TimingStats, timed_loop

__all__ = ["run_mpishm"]


class _WinSync:
    """Barriers and signals that also order the shared-window memory (MPI_Win_sync)."""

    def __init__(self, comm: Any, wins: list[Any]) -> None:
        self._comm = comm
        self._wins = wins
        self._empty = np.empty(0)

    def _sync(self) -> None:
        for w in self._wins:
            w.Sync()

    def barrier(self) -> None:
        self._sync()
        self._comm.Barrier()
        self._sync()

    def signal(self, dst: int, tag: int) -> None:
        self._sync()
        self._comm.Send(self._empty, dst, tag)

    def wait(self, src: int, tag: int) -> None:
        self._comm.Recv(self._empty, src, tag)
        self._sync()


def run_mpishm(p: KernelParams, comm: Any, clock: Callable[[], float] | None = None) -> RunResult:
    from mpi4py import MPI

    size = comm.Get_size()
    shared.check_workers(p, size)
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    if node.Get_size() != size:
        node.Free()
        raise ModelUnavailableError(
            f"mpishm needs every rank on one node; {node.Get_size()} of {size} share this one"
        )
    me = node.Get_rank()
    wins: list[Any] = []
    arrays: dict[str, np.ndarray] = {}  # type: ignore[type-arg]
    try:
        for name, (shape, dtype) in shared.array_specs(p).items():
            itemsize = np.dtype(dtype).itemsize
            nbytes = int(np.prod(shape)) * itemsize if me == 0 else 0
            win = MPI.Win.Allocate_shared(nbytes, itemsize, comm=node)
            wins.append(win)
            buf, _ = win.Shared_query(0)
            arrays[name] = np.ndarray(shape, dtype=dtype, buffer=cast(Any, buf))
        for w in wins:
            w.Lock_all(MPI.MODE_NOCHECK)
        sync = _WinSync(node, wins)
        if me == 0:
            shared.init_arrays(p, arrays)
        sync.barrier()
        step = shared.make_step(p, arrays, me, size, sync)
        kw = {"clock": clock} if clock else {}
        elapsed = timed_loop(step, p.iterations, sync.barrier, **kw)
        times = node.allgather(elapsed)
        value = node.bcast(shared.check_value(p, arrays) if me == 0 else None, root=0)
        del step
    finally:
        arrays.clear()
        for w in wins:
            w.Unlock_all()
            w.Free()
        node.Free()
    return RunResult(p, "mpishm", size, TimingStats.of(times), verdict(p, float(value)))
