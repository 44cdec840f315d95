"""MPI bodies of the kernels that need no communication inside an iteration.

nstream splits the vectors; dgemm splits the rows of A and C and keeps a full copy of B on every
rank (a replicated-B decomposition, not the PRK's SUMMA); sparse splits the matrix rows and keeps
the whole vector on every rank, because the PRK's vector update (v[j] += j + 1) depends on the
index alone and so needs no messages. Only the final check is reduced across ranks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlpace.kernels import ops
from mlpace.kernels.shared import split
from mlpace.kernels.spec import NSTREAM_SCALAR, KernelParams

__all__ = ["simple_step"]

Step = tuple[Callable[[int], None], Callable[[], float], Callable[[], None]]


def _nothing() -> None:
    pass


def simple_step(p: KernelParams, comm: Any) -> Step:
    size, me = comm.Get_size(), comm.Get_rank()
    if p.kernel == "nstream":
        s0, s1 = split(p.length, size, me)
        a = np.zeros(s1 - s0)
        b = np.full(s1 - s0, 2.0)
        c = np.full(s1 - s0, 2.0)
        scratch = np.empty(min(ops.NSTREAM_CHUNK, max(1, s1 - s0)))

        def nstream(_k: int) -> None:
            ops.nstream_step(a, b, c, NSTREAM_SCALAR, scratch)

        return nstream, lambda: float(np.abs(a).sum()), _nothing
    if p.kernel == "dgemm":
        r0, r1 = split(p.order, size, me)
        mb = np.broadcast_to(np.arange(p.order, dtype=np.float64), (p.order, p.order)).copy()
        ma = mb[r0:r1].copy()
        mc = np.zeros_like(ma)
        prod = np.empty_like(mc)

        def dgemm(_k: int) -> None:
            np.matmul(ma, mb, out=prod)
            np.add(mc, prod, out=mc)

        return dgemm, lambda: float(mc.sum()), _nothing
    rows = 4**p.lsize
    r0, r1 = split(rows, size, me)
    values, cols = ops.sparse_matrix(p.lsize, p.radius, (r0, r1), p.scramble)
    vector = np.zeros(rows)
    result = np.zeros(r1 - r0)
    bump = np.arange(1, rows + 1, dtype=np.float64)

    def sparse(_k: int) -> None:
        np.add(vector, bump, out=vector)
        ops.csr_spmv(values, cols, vector, result)

    return sparse, lambda: float(result.sum()), _nothing
