"""Distributed memory through mpi4py: each rank owns only its block of the data.

* stencil   — 2-D block decomposition over a near-square Cartesian communicator; halo exchange
  of width r with the four neighbours, either two-sided (Sendrecv) or one-sided (Put into the
  neighbours' MPI.Win halo buffers, fence synchronization). Rows go first, then columns over the
  full height, so the compact (grid) stencil's corner values arrive too.
* transpose — row blocks; the global exchange is Alltoallv, staged pairwise Sendrecv (the PRK
  MPI1 schedule: phase k sends to me-k and receives from me+k) or Put into an MPI.Win.
* p2p       — the first dimension in strips, one pipelined Send/Recv per group of lines, and the
  corner sent from the last rank back to the rank owning i = 1 between sweeps.
* nstream, dgemm, sparse — local blocks (dgemm replicates B; sparse replicates the vector, whose
  update is a function of the index alone) and a reduction for the check.

Every rank runs the same timed loop (barrier, wall clock, barrier); rank times are all-gathered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlpace.kernels import ops
from mlpace.kernels.errors import KernelParamError
from mlpace.kernels.models._mpi_simple import simple_step
from mlpace.kernels.shared import CORNER, LINE, check_workers, split, transpose_error
from mlpace.kernels.spec import KernelParams, verdict
from mlpace.kernels.timing import RunResult, TimingStats, timed_loop

__all__ = ["VARIANTS", "run_mpi"]

VARIANTS = {"stencil": ("sendrecv", "rma"), "transpose": ("alltoall", "sendrecv", "rma")}
Step = tuple[Callable[[int], None], Callable[[], float], Callable[[], None]]


def run_mpi(
    p: KernelParams, comm: Any, variant: str = "", clock: Callable[[], float] | None = None
) -> RunResult:
    """Run one kernel on every rank of `comm`; every rank returns the same result."""
    choices = VARIANTS.get(p.kernel, ("sendrecv",))
    variant = variant or choices[0]
    if variant not in choices:
        raise KernelParamError(
            f"no MPI variant {variant!r} for {p.kernel}",
            param="variant",
            value=variant,
            allowed=" | ".join(choices),
        )
    size = comm.Get_size()
    if p.kernel != "stencil":
        check_workers(p, size)
    if p.kernel == "stencil":
        step, local_check, cleanup = _stencil(p, comm, variant)
    elif p.kernel == "transpose":
        step, local_check, cleanup = _transpose(p, comm, variant)
    elif p.kernel == "p2p":
        step, local_check, cleanup = _p2p(p, comm)
    else:
        step, local_check, cleanup = simple_step(p, comm)
    try:
        kw = {"clock": clock} if clock else {}
        elapsed = timed_loop(step, p.iterations, comm.Barrier, **kw)
        times = comm.allgather(elapsed)
        value = local_check()
        if p.kernel != "p2p":
            value = comm.allreduce(value)
        else:
            value = comm.bcast(value, root=size - 1)
    finally:
        cleanup()
    if p.kernel == "stencil":
        value /= float((p.order - 2 * p.radius) ** 2)
    return RunResult(p, "mpi", size, TimingStats.of(times), verdict(p, value), variant=variant)


def _nothing() -> None:
    pass


def _stencil(p: KernelParams, comm: Any, variant: str) -> Step:
    from mpi4py import MPI

    n, r = p.order, p.radius
    dims = MPI.Compute_dims(comm.Get_size(), 2)
    for axis in (0, 1):
        smallest = split(n, dims[axis], dims[axis] - 1)
        if smallest[1] - smallest[0] < r:
            raise KernelParamError(
                f"a {dims[0]}x{dims[1]} rank grid leaves tiles of "
                f"{smallest[1] - smallest[0]} points, smaller than the stencil radius",
                param="ranks",
                value=comm.Get_size(),
                allowed=f"a rank count whose tiles are at least {r} points wide",
            )
    cart = comm.Create_cart(dims, periods=[False, False], reorder=False)
    cx, cy = cart.Get_coords(cart.Get_rank())
    r0, r1 = split(n, dims[0], cx)
    c0, c1 = split(n, dims[1], cy)
    h, w = r1 - r0, c1 - c0
    gi = np.arange(r0 - r, r1 + r, dtype=np.float64)
    gj = np.arange(c0 - r, c1 + r, dtype=np.float64)
    inp = gi[:, None] + gj[None, :]
    out = np.zeros_like(inp)
    weights = ops.stencil_weights(r, p.pattern)
    rows = (max(r0, r) - r0 + r, min(r1, n - r) - r0 + r)
    cols = (max(c0, r) - c0 + r, min(c1, n - r) - c0 + r)
    up, down = cart.Shift(0, 1)
    left, right = cart.Shift(1, 1)
    own = inp[r : r + h, r : r + w]
    exchange: Callable[[], None]
    free = _nothing
    if variant == "rma":
        biggest = (-(-n // dims[0]), -(-n // dims[1]))
        exchange, free = _stencil_rma(cart, inp, r, h, w, (up, down, left, right), biggest)
    else:

        def exchange() -> None:
            _sendrecv_halo(cart, inp, r, h, w, (up, down, left, right))

    def step(_k: int) -> None:
        exchange()
        ops.stencil_apply(inp, out, weights, rows, cols)
        np.add(own, 1.0, out=own)

    def local_check() -> float:
        return float(np.abs(out[rows[0] : rows[1], cols[0] : cols[1]]).sum())

    def cleanup() -> None:
        free()
        cart.Free()

    return step, local_check, cleanup


def _sendrecv_halo(
    cart: Any, a: ops.Floats, r: int, h: int, w: int, nb: tuple[int, int, int, int]
) -> None:
    up, down, left, right = nb
    mid = slice(r, r + w)
    recv = np.empty((r, w))
    # rows: my top rows go up and the lower neighbour's top rows arrive into my bottom halo
    cart.Sendrecv(np.ascontiguousarray(a[r : 2 * r, mid]), up, 0, recv, down, 0)
    if down >= 0:
        a[r + h :, mid] = recv
    cart.Sendrecv(np.ascontiguousarray(a[h : h + r, mid]), down, 1, recv, up, 1)
    if up >= 0:
        a[:r, mid] = recv
    # columns over the full height, halo rows included, so corners travel in two hops
    recv = np.empty((h + 2 * r, r))
    cart.Sendrecv(np.ascontiguousarray(a[:, r : 2 * r]), left, 2, recv, right, 2)
    if right >= 0:
        a[:, r + w :] = recv
    cart.Sendrecv(np.ascontiguousarray(a[:, w : w + r]), right, 3, recv, left, 3)
    if left >= 0:
        a[:, :r] = recv


def _stencil_rma(
    cart: Any,
    a: ops.Floats,
    r: int,
    h: int,
    w: int,
    nb: tuple[int, int, int, int],
    biggest: tuple[int, int],
) -> tuple[Callable[[], None], Callable[[], None]]:
    """Halo exchange by MPI_Put into each neighbour's receive window, fence-synchronized."""
    from mpi4py import MPI

    up, down, left, right = nb
    row_n, col_n = r * w, (h + 2 * r) * r
    # window layout, the same on every rank (sized for the largest tile):
    # [from up | from down | from left | from right]
    row_max, col_max = r * biggest[1], (biggest[0] + 2 * r) * r
    offsets = {"up": 0, "down": row_max, "left": 2 * row_max, "right": 2 * row_max + col_max}
    buf = np.zeros(2 * row_max + 2 * col_max)
    win = MPI.Win.Create(buf, disp_unit=8, comm=cart)
    mid = slice(r, r + w)

    def put(data: ops.Floats, target: int, region: str, count: int) -> None:
        if target >= 0:
            win.Put(np.ascontiguousarray(data), target, target=(offsets[region], count, MPI.DOUBLE))

    def exchange() -> None:
        win.Fence()
        put(a[r : 2 * r, mid], up, "down", row_n)  # I am my upper neighbour's lower neighbour
        put(a[h : h + r, mid], down, "up", row_n)
        win.Fence()
        if up >= 0:
            a[:r, mid] = buf[:row_n].reshape(r, w)
        if down >= 0:
            a[r + h :, mid] = buf[row_max : row_max + row_n].reshape(r, w)
        put(a[:, r : 2 * r], left, "right", col_n)
        put(a[:, w : w + r], right, "left", col_n)
        win.Fence()
        if left >= 0:
            lo = offsets["left"]
            a[:, :r] = buf[lo : lo + col_n].reshape(h + 2 * r, r)
        if right >= 0:
            lo = offsets["right"]
            a[:, r + w :] = buf[lo : lo + col_n].reshape(h + 2 * r, r)

    return exchange, win.Free


def _transpose(p: KernelParams, comm: Any, variant: str) -> Step:
    from mpi4py import MPI

    size, me = comm.Get_size(), comm.Get_rank()
    order, tile = p.order, p.tile
    bounds = [split(order, size, q) for q in range(size)]
    q0, q1 = bounds[me]
    hq = q1 - q0
    a = np.arange(q0 * order, q1 * order, dtype=np.float64).reshape(hq, order)
    b = np.zeros((hq, order))
    counts = [(e - s) * hq for s, e in bounds]  # what I send to each rank
    displs = [s * hq for s, _ in bounds]
    rcounts = [hq * (e - s) for s, e in bounds]  # what each rank sends me: (hq x its rows)
    sendbuf = np.empty(hq * order)
    recvbuf = np.empty(hq * order)

    def pack(dst: int) -> ops.Floats:
        s, e = bounds[dst]
        block = sendbuf[displs[dst] : displs[dst] + counts[dst]].reshape(e - s, hq)
        _transpose_into(a[:, s:e], block, tile)
        return block

    def unpack(src: int, data: ops.Floats) -> None:
        s, e = bounds[src]
        b[:, s:e] += data.reshape(hq, e - s)

    free = _nothing
    if variant == "alltoall":

        def step(_k: int) -> None:
            for dst in range(size):
                pack(dst)
            comm.Alltoallv(
                [sendbuf, (counts, displs), MPI.DOUBLE], [recvbuf, (rcounts, displs), MPI.DOUBLE]
            )
            for src in range(size):
                unpack(src, recvbuf[displs[src] : displs[src] + rcounts[src]])
            np.add(a, 1.0, out=a)

    elif variant == "sendrecv":

        def step(_k: int) -> None:
            _local_phase(a, b, q0, q1, tile)
            for phase in range(1, size):
                dst, src = (me - phase) % size, (me + phase) % size
                block = pack(dst)
                rb = recvbuf[: rcounts[src]]
                comm.Sendrecv(block, dst, phase, rb, src, phase)
                unpack(src, rb)
            np.add(a, 1.0, out=a)

    else:
        win = MPI.Win.Create(recvbuf, disp_unit=8, comm=comm)
        free = win.Free

        def step(_k: int) -> None:
            win.Fence()
            for dst in range(size):
                block = pack(dst)
                # my block lands in dst's window where dst keeps data from rank `me`
                ds, de = bounds[dst]
                win.Put(block, dst, target=(q0 * (de - ds), block.size, MPI.DOUBLE))
            win.Fence()
            for src in range(size):
                unpack(src, recvbuf[displs[src] : displs[src] + rcounts[src]])
            np.add(a, 1.0, out=a)

    def local_check() -> float:
        return transpose_error(p, b, q0)

    return step, local_check, free


def _local_phase(a: ops.Floats, b: ops.Floats, q0: int, q1: int, tile: int) -> None:
    """b[:, own] += a[:, own].T without bumping a (a is bumped once, after all phases)."""
    own = a[:, q0:q1]
    if tile <= 0:
        b[:, q0:q1] += own.T
        return
    mine = b[:, q0:q1]
    n = own.shape[0]
    for i0 in range(0, n, tile):
        for j0 in range(0, n, tile):
            mine[j0 : j0 + tile, i0 : i0 + tile] += own[i0 : i0 + tile, j0 : j0 + tile].T


def _transpose_into(src: ops.Floats, dst: ops.Floats, tile: int) -> None:
    if tile <= 0:
        np.copyto(dst, src.T)
        return
    n_i, n_j = src.shape
    for i0 in range(0, n_i, tile):
        for j0 in range(0, n_j, tile):
            dst[j0 : j0 + tile, i0 : i0 + tile] = src[i0 : i0 + tile, j0 : j0 + tile].T


def _p2p(p: KernelParams, comm: Any) -> Step:
    size, me = comm.Get_size(), comm.Get_rank()
    last = size - 1
    i0, i1 = split(p.m, size, me)
    width = i1 - i0
    grid = np.zeros((p.n, width + 1))  # column 0 is the ghost A(i0-1, j)
    grid[0, :] = np.arange(i0 - 1, i1, dtype=np.float64)
    if me == 0:
        grid[:, 1] = np.arange(p.n, dtype=np.float64)  # A(0, j) = j
    else:
        grid[:, 0] = 0.0
        grid[0, 0] = i0 - 1
    owner1 = next(q for q in range(size) if split(p.m, size, q)[1] > 1)
    cols = (2 if me == 0 else 1, width + 1)
    ghost = grid[:, 0]
    corner = np.empty(1)

    def place_corner(value: float) -> None:
        # A(0,0) sits at local column 1 on rank 0, in the ghost column on rank 1
        grid[0, 1 if me == 0 else 0] = value

    def step(k: int) -> None:
        if k > 0 and me == owner1 and owner1 != last:
            comm.Recv(corner, last, CORNER)
            place_corner(float(corner[0]))
        for j in range(1, p.n, p.group):
            j1 = min(p.n, j + p.group)
            if me > 0:
                buf = np.empty(j1 - j)
                comm.Recv(buf, me - 1, LINE)
                ghost[j:j1] = buf
            ops.p2p_lines(grid, (j, j1), cols)
            if me < last:
                comm.Send(np.ascontiguousarray(grid[j:j1, width]), me + 1, LINE)
        if me == last:
            corner[0] = -grid[p.n - 1, width]
            if owner1 == last:
                place_corner(float(corner[0]))
            elif k < p.iterations:
                comm.Send(corner, owner1, CORNER)

    def local_check() -> float:
        return float(grid[p.n - 1, width]) if me == last else 0.0

    return step, local_check, _nothing
