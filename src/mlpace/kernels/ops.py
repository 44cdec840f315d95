"""The kernels' operators as pure NumPy functions on (parts of) arrays.

Every programming model calls these on the block it owns, so a model differs from another only in
how it splits the work and moves data, never in the arithmetic. Functions work in place on the
arrays they are given and allocate only small, cache-sized scratch buffers: the PRK counts the
bytes a kernel must move, and NumPy temporaries the size of the whole array would move them twice.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CHUNK",
    "NSTREAM_CHUNK",
    "Floats",
    "csr_spmv",
    "nstream_step",
    "p2p_lines",
    "sparse_matrix",
    "stencil_apply",
    "stencil_weights",
    "transpose_block",
]

Floats = NDArray[np.float64]
# Elements per scratch chunk: 8192 doubles (64 KiB) keep three operands in a core's L2 cache.
CHUNK = 8192
# nstream streams three vectors through one scratch buffer: 256 Ki doubles (2 MiB) measured best
NSTREAM_CHUNK = 262144
_STRIP_POINTS = 32768  # stencil rows per strip ~ this many points, so a strip stays in L2


def stencil_weights(radius: int, pattern: str) -> Floats:
    """The (2r+1)^2 weight table of the star or grid (compact) divergence stencil."""
    r = radius
    w = np.zeros((2 * r + 1, 2 * r + 1))
    if pattern == "star":
        for k in range(1, r + 1):
            v = 1.0 / (2 * k * r)
            w[r, r + k], w[r + k, r] = v, v
            w[r, r - k], w[r - k, r] = -v, -v
        return w
    for j in range(1, r + 1):
        edge = 1.0 / (4 * j * (2 * j - 1) * r)
        for i in range(-j + 1, j):
            w[r + i, r + j], w[r + j, r + i] = edge, edge
            w[r + i, r - j], w[r - j, r + i] = -edge, -edge
        w[r + j, r + j] = 1.0 / (4 * j * r)
        w[r - j, r - j] = -1.0 / (4 * j * r)
    return w


def stencil_apply(
    inp: Floats, out: Floats, w: Floats, rows: tuple[int, int], cols: tuple[int, int]
) -> None:
    """out[rows, cols] += S(w) applied to inp, in the arrays' own coordinates.

    The caller guarantees `radius` points of inp on every side of the region. Work goes in row
    strips small enough for the scratch buffers to stay in cache.
    """
    i0, i1 = rows
    j0, j1 = cols
    if i1 <= i0 or j1 <= j0:
        return
    terms = _stencil_terms(w)
    width = j1 - j0
    strip = max(1, min(i1 - i0, _STRIP_POINTS // width))
    acc = np.empty((strip, width))
    tmp = np.empty((strip, width))
    for s0 in range(i0, i1, strip):
        s1 = min(i1, s0 + strip)
        h = s1 - s0
        a, t = acc[:h], tmp[:h]
        first = True
        for di, dj, v, anti in terms:
            plus = inp[s0 + di : s1 + di, j0 + dj : j1 + dj]
            if anti:
                minus = inp[s0 - di : s1 - di, j0 - dj : j1 - dj]
                np.subtract(plus, minus, out=t)
                src = t
            else:
                src = plus
            if first:
                np.multiply(src, v, out=a)
                first = False
            else:
                np.multiply(src, v, out=t)
                a += t
        if not first:
            out[s0:s1, j0:j1] += a


def _stencil_terms(w: Floats) -> list[tuple[int, int, float, bool]]:
    r = w.shape[0] // 2
    terms: list[tuple[int, int, float, bool]] = []
    done: set[tuple[int, int]] = set()
    for di in range(-r, r + 1):
        for dj in range(-r, r + 1):
            v = float(w[r + di, r + dj])
            if v == 0.0 or (di, dj) in done:
                continue
            done.add((di, dj))
            if (di, dj) != (0, 0) and float(w[r - di, r - dj]) == -v:
                done.add((-di, -dj))
                terms.append((di, dj, v, True))
            else:
                terms.append((di, dj, v, False))
    return terms


def transpose_block(a: Floats, b: Floats, tile: int) -> None:
    """b += a.T and a += 1, tile by tile so each tile of a is still in cache when it is bumped.

    `a` is (rows x cols) and `b` (cols x rows); they may be views into larger arrays.
    """
    n_i, n_j = a.shape
    if tile <= 0 or (tile >= n_i and tile >= n_j):
        b += a.T
        a += 1.0
        return
    for i0 in range(0, n_i, tile):
        i1 = min(n_i, i0 + tile)
        for j0 in range(0, n_j, tile):
            j1 = min(n_j, j0 + tile)
            at = a[i0:i1, j0:j1]
            b[j0:j1, i0:i1] += at.T
            at += 1.0


def nstream_step(a: Floats, b: Floats, c: Floats, scalar: float, scratch: Floats) -> None:
    """a += b + scalar * c, chunk by chunk through a cache-sized scratch buffer."""
    n = a.shape[0]
    step = scratch.shape[0]
    for s in range(0, n, step):
        e = min(n, s + step)
        t = scratch[: e - s]
        np.multiply(c[s:e], scalar, out=t)
        t += b[s:e]
        a[s:e] += t


def p2p_lines(grid: Floats, lines: tuple[int, int], cols: tuple[int, int]) -> None:
    """Sweep lines j0..j1-1 of the point-to-point recurrence over points cols=(i0, i1).

    `grid` is stored line by line (grid[j, i] is the PRK's A(i, j)). Along a line the
    recurrence A(i,j) = A(i-1,j) + A(i,j-1) - A(i-1,j-1) is a running sum of the previous
    line's differences started from A(i0-1, j), which must already be in grid[j, i0-1] (the
    left neighbour's last point, or a ghost column in distributed models). Dependence order is
    kept: line j needs line j-1 and the left value of line j.
    """
    i0, i1 = cols
    if i1 <= i0:
        return
    for j in range(lines[0], lines[1]):
        prev = grid[j - 1]
        row = grid[j, i0:i1]
        np.subtract(prev[i0:i1], prev[i0 - 1 : i1 - 1], out=row)
        row[0] += grid[j, i0 - 1]
        np.cumsum(row, out=row)


def _bit_reverse(values: NDArray[np.int64], bits: int) -> NDArray[np.int64]:
    out = np.zeros_like(values)
    v = values.copy()
    for _ in range(bits):
        out = (out << 1) | (v & 1)
        v >>= 1
    return out


def sparse_matrix(
    lsize: int, radius: int, rows: tuple[int, int], scramble: bool = True
) -> tuple[Floats, NDArray[np.int64]]:
    """Rows of the PRK sparse matrix: a periodic star stencil on a 2^L x 2^L grid.

    Returns (values, columns), both (nrows, 4r+1), each row's columns sorted; with `scramble`
    the column indices are bit-reversed over 2L bits, as in the PRK's SCRAMBLE build. The value
    of entry (i, j) is 1 / (j + 1).
    """
    size = 1 << lsize
    row = np.arange(rows[0], rows[1], dtype=np.int64)
    i = row % size
    j = row // size
    cols = [i + (j << lsize)]
    for k in range(1, radius + 1):
        cols.append((i + k) % size + (j << lsize))
        cols.append((i - k + size) % size + (j << lsize))
        cols.append(i + (((j + k) % size) << lsize))
        cols.append(i + (((j - k + size) % size) << lsize))
    col = np.stack(cols, axis=1)
    if scramble:
        col = _bit_reverse(col, 2 * lsize)
    col.sort(axis=1)
    return 1.0 / (col + 1.0), col


def csr_spmv(values: Floats, cols: NDArray[np.int64], vector: Floats, out: Floats) -> None:
    """out += M @ vector for a matrix with the same number of nonzeros in every row."""
    n = values.shape[0]
    step = max(1, CHUNK // max(1, values.shape[1]))
    for s in range(0, n, step):
        e = min(n, s + step)
        prod = vector[cols[s:e]]
        prod *= values[s:e]
        out[s:e] += prod.sum(axis=1)
