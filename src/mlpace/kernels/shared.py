"""Kernel bodies for models whose workers share one address space for the data.

Serial NumPy (one worker), threads, shared-memory processes and MPI-3 shared windows all run
these bodies; they differ only in the `Sync` they pass (how workers wait for one another) and in
where the arrays live. Work is split by the PRK's uneven rule: with n items over P workers the
first n mod P workers get one item more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from mlpace.kernels import ops
from mlpace.kernels.errors import KernelParamError
from mlpace.kernels.spec import NSTREAM_SCALAR, KernelParams

__all__ = [
    "CORNER",
    "LINE",
    "ArraySpec",
    "NullSync",
    "Sync",
    "array_specs",
    "check_value",
    "check_workers",
    "init_arrays",
    "make_step",
    "split",
]

LINE = 0  # p2p: a group of lines is done, the right neighbour may go on
CORNER = 1  # p2p: the corner value of the previous sweep is in place
Arrays = dict[str, np.ndarray]  # type: ignore[type-arg]
ArraySpec = tuple[tuple[int, ...], str]


class Sync(Protocol):
    """How one worker waits for the others."""

    def barrier(self) -> None: ...

    def signal(self, dst: int, tag: int) -> None: ...

    def wait(self, src: int, tag: int) -> None: ...


class NullSync:
    """The sync of a single worker: nothing to wait for."""

    def barrier(self) -> None:
        pass

    def signal(self, dst: int, tag: int) -> None:
        pass

    def wait(self, src: int, tag: int) -> None:
        pass


def split(n: int, parts: int, idx: int) -> tuple[int, int]:
    """Block `idx` of `n` items over `parts` workers; the first n % parts get one more."""
    width, left = divmod(n, parts)
    start = idx * width + min(idx, left)
    return start, start + width + (1 if idx < left else 0)


def _split_extent(p: KernelParams) -> tuple[str, int]:
    k = p.kernel
    if k == "stencil":
        return "order - 2*radius (interior rows)", p.order - 2 * p.radius
    if k == "p2p":
        return "m", p.m
    if k in ("transpose", "dgemm"):
        return "order", p.order
    if k == "nstream":
        return "length", p.length
    return "4**lsize (matrix rows)", 4**p.lsize


def check_workers(p: KernelParams, workers: int) -> None:
    """Every worker must own at least one item of the split dimension."""
    what, extent = _split_extent(p)
    if workers < 1 or workers > extent:
        raise KernelParamError(
            f"{workers} workers cannot split {what} = {extent}",
            param="ranks",
            value=workers,
            allowed=f"1..{extent}",
        )


def array_specs(p: KernelParams) -> dict[str, ArraySpec]:
    k = p.kernel
    f = "float64"
    if k == "stencil":
        return {"inp": ((p.order, p.order), f), "out": ((p.order, p.order), f)}
    if k == "p2p":
        return {"grid": ((p.n, p.m), f)}
    if k == "transpose":
        return {"a": ((p.order, p.order), f), "b": ((p.order, p.order), f)}
    if k == "nstream":
        return {"a": ((p.length,), f), "b": ((p.length,), f), "c": ((p.length,), f)}
    if k == "dgemm":
        return {
            "a": ((p.order, p.order), f),
            "b": ((p.order, p.order), f),
            "c": ((p.order,) * 2, f),
        }
    rows, nz = 4**p.lsize, 4 * p.radius + 1
    return {
        "values": ((rows, nz), f),
        "cols": ((rows, nz), "int64"),
        "vector": ((rows,), f),
        "result": ((rows,), f),
    }


def init_arrays(p: KernelParams, a: Arrays) -> None:
    """The PRK's deterministic initial values (never timed, independent of the worker count)."""
    k = p.kernel
    if k == "stencil":
        idx = np.arange(p.order, dtype=np.float64)
        a["inp"][...] = idx[:, None] + idx[None, :]
        a["out"][...] = 0.0
    elif k == "p2p":
        g = a["grid"]
        g[...] = 0.0
        g[0, :] = np.arange(p.m)
        g[:, 0] = np.arange(p.n)
    elif k == "transpose":
        a["a"][...] = np.arange(p.order * p.order, dtype=np.float64).reshape(p.order, p.order)
        a["b"][...] = 0.0
    elif k == "nstream":
        a["a"][...] = 0.0
        a["b"][...] = 2.0
        a["c"][...] = 2.0
    elif k == "dgemm":
        a["a"][...] = np.arange(p.order, dtype=np.float64)[None, :]
        a["b"][...] = a["a"]
        a["c"][...] = 0.0
    else:
        values, cols = ops.sparse_matrix(p.lsize, p.radius, (0, 4**p.lsize), p.scramble)
        a["values"][...] = values
        a["cols"][...] = cols
        a["vector"][...] = 0.0
        a["result"][...] = 0.0


def check_value(p: KernelParams, a: Arrays) -> float:
    """The one number the validator compares with the closed form."""
    k = p.kernel
    if k == "stencil":
        r, n = p.radius, p.order
        return float(np.abs(a["out"][r : n - r, r : n - r]).sum()) / float((n - 2 * r) ** 2)
    if k == "p2p":
        return float(a["grid"][p.n - 1, p.m - 1])
    if k == "transpose":
        return transpose_error(p, a["b"], 0)
    if k == "nstream":
        return float(np.abs(a["a"]).sum())
    if k == "dgemm":
        return float(a["c"].sum())
    return float(a["result"].sum())


def transpose_error(p: KernelParams, b_rows: np.ndarray, row0: int) -> float:  # type: ignore[type-arg]
    """Summed |B - expected| over rows row0.. of B (B[i][j] = (order*j + i)*(it+1) + it(it+1)/2)."""
    it = p.iterations
    total = 0.0
    j = np.arange(p.order, dtype=np.float64)
    for s in range(0, b_rows.shape[0], 256):
        i = np.arange(row0 + s, row0 + min(b_rows.shape[0], s + 256), dtype=np.float64)
        expected = (p.order * j[None, :] + i[:, None]) * (it + 1) + 0.5 * it * (it + 1)
        total += float(np.abs(b_rows[s : s + 256] - expected).sum())
    return total


def make_step(
    p: KernelParams, a: Arrays, me: int, workers: int, sync: Sync
) -> Callable[[int], None]:
    """The body worker `me` of `workers` runs once per iteration k = 0..iterations."""
    k = p.kernel
    if k == "stencil":
        return _stencil_step(p, a, me, workers, sync)
    if k == "p2p":
        return _p2p_step(p, a, me, workers, sync)
    if k == "transpose":
        c0, c1 = split(p.order, workers, me)
        a_cols, b_rows = a["a"][:, c0:c1], a["b"][c0:c1, :]
        tile = p.tile

        def transpose(_k: int) -> None:
            ops.transpose_block(a_cols, b_rows, tile)  # own columns of A, own rows of B

        return transpose
    if k == "nstream":
        s0, s1 = split(p.length, workers, me)
        va, vb, vc = a["a"][s0:s1], a["b"][s0:s1], a["c"][s0:s1]
        scratch = np.empty(min(ops.NSTREAM_CHUNK, max(1, s1 - s0)))

        def nstream(_k: int) -> None:
            ops.nstream_step(va, vb, vc, NSTREAM_SCALAR, scratch)

        return nstream
    if k == "dgemm":
        r0, r1 = split(p.order, workers, me)
        ma, mb, mc = a["a"][r0:r1], a["b"], a["c"][r0:r1]
        prod = np.empty_like(mc)

        def dgemm(_k: int) -> None:
            np.matmul(ma, mb, out=prod)
            np.add(mc, prod, out=mc)

        return dgemm
    return _sparse_step(p, a, me, workers, sync)


def _stencil_step(
    p: KernelParams, a: Arrays, me: int, workers: int, sync: Sync
) -> Callable[[int], None]:
    r, n = p.radius, p.order
    w = ops.stencil_weights(r, p.pattern)
    i0, i1 = split(n - 2 * r, workers, me)
    b0, b1 = split(n, workers, me)
    inp, out = a["inp"], a["out"]

    def stencil(_k: int) -> None:
        ops.stencil_apply(inp, out, w, (r + i0, r + i1), (r, n - r))
        sync.barrier()  # everyone has read the input before anyone bumps it
        inp[b0:b1] += 1.0
        sync.barrier()

    return stencil


def _p2p_step(
    p: KernelParams, a: Arrays, me: int, workers: int, sync: Sync
) -> Callable[[int], None]:
    grid = a["grid"]
    i0, i1 = split(p.m, workers, me)
    cols = (max(i0, 1), i1)
    owner1 = next(w for w in range(workers) if split(p.m, workers, w)[1] > 1)
    last = workers - 1
    group = p.group

    def p2p(k: int) -> None:
        if k > 0 and me == owner1 and owner1 != last:
            sync.wait(last, CORNER)
        for j in range(1, p.n, group):
            if me > 0:
                sync.wait(me - 1, LINE)
            ops.p2p_lines(grid, (j, min(p.n, j + group)), cols)
            if me < last:
                sync.signal(me + 1, LINE)
        if me == last:
            grid[0, 0] = -grid[p.n - 1, p.m - 1]
            if k < p.iterations and owner1 != last:
                sync.signal(owner1, CORNER)

    return p2p


def _sparse_step(
    p: KernelParams, a: Arrays, me: int, workers: int, sync: Sync
) -> Callable[[int], None]:
    r0, r1 = split(4**p.lsize, workers, me)
    vector, result = a["vector"], a["result"]
    values, cols = a["values"][r0:r1], a["cols"][r0:r1]
    bump = np.arange(r0 + 1, r1 + 1, dtype=np.float64)

    def sparse(_k: int) -> None:
        vector[r0:r1] += bump
        sync.barrier()  # the whole vector is updated before anyone multiplies
        ops.csr_spmv(values, cols, vector, result[r0:r1])
        sync.barrier()

    return sparse
