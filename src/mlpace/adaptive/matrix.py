"""Input matrices for the adaptive SpMV experiment, and tile formats (dense, CSR).

The sparse part is a Graph500 Kronecker (R-MAT) graph: each edge picks one of the four
quadrants at every one of ``scale`` levels with the initiator probabilities
(0.57, 0.19, 0.19, 0.05), so ``2**scale`` vertices and ``edge_factor * 2**scale`` edges. The
Graph500 reference also relabels vertices at random; that spreads the edges evenly over all
tiles, so here it is optional and off by default: the Kronecker block structure is what gives
tiles different densities. Duplicate edges add up. On top, phases overlay some tiles with
dense blocks; which tiles and their values come from the seed and the phase number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mlpace.adaptive.runtime import AdaptiveError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

GRAPH500_INITIATOR = (0.57, 0.19, 0.19, 0.05)


def kronecker_edges(
    scale: int,
    edge_factor: int,
    *,
    seed: int,
    initiator: tuple[float, float, float, float] = GRAPH500_INITIATOR,
    permute: bool = False,
) -> tuple[IntArray, IntArray]:
    """Row and column index of each of the ``edge_factor * 2**scale`` R-MAT edges."""
    a, b, c, d = initiator
    if min(initiator) < 0 or abs(a + b + c + d - 1.0) > 1e-9:
        raise AdaptiveError(
            "initiator probabilities must be >= 0 and add up to 1",
            field="initiator",
            value=initiator,
        )
    rng = np.random.default_rng(seed)
    m = edge_factor << scale
    rows = np.zeros(m, dtype=np.int64)
    cols = np.zeros(m, dtype=np.int64)
    ab = a + b
    c_norm = c / (c + d)  # P(column bit 0 | row bit 1)
    a_norm = a / ab  # P(column bit 0 | row bit 0)
    for level in range(scale):
        row_bit = rng.random(m) > ab
        col_bit = rng.random(m) > np.where(row_bit, c_norm, a_norm)
        rows |= row_bit.astype(np.int64) << level
        cols |= col_bit.astype(np.int64) << level
    if permute:
        perm = rng.permutation(1 << scale)
        rows, cols = perm[rows], perm[cols]
    return rows, cols


def graph500_matrix(
    order: int, edge_factor: int, *, seed: int, permute: bool = False
) -> FloatArray:
    """Dense ``order`` x ``order`` array holding the Kronecker graph's weighted adjacency."""
    scale = order.bit_length() - 1
    if order < 2 or 1 << scale != order:
        raise AdaptiveError(
            "the Graph500 generator needs a power-of-two order", field="order", value=order
        )
    rows, cols = kronecker_edges(scale, edge_factor, seed=seed, permute=permute)
    weights = np.random.default_rng(seed + 1).uniform(0.5, 1.5, rows.size)
    out = np.zeros((order, order))
    np.add.at(out, (rows, cols), weights)
    return out


def overlay_tiles(
    tiles_per_side: int, fraction: float, *, seed: int, phase: int
) -> list[tuple[int, int]]:
    """The (block row, block column) of the tiles a phase makes dense: ``round(fraction * T)``
    of the ``T`` tiles, drawn without replacement."""
    if not 0.0 <= fraction <= 1.0:
        raise AdaptiveError(
            "the dense-overlay fraction must be in [0, 1]", field="overlay", value=fraction
        )
    total = tiles_per_side * tiles_per_side
    count = int(round(fraction * total))
    rng = np.random.default_rng([seed, phase, 7])
    picked = rng.choice(total, size=count, replace=False)
    return [(int(i) // tiles_per_side, int(i) % tiles_per_side) for i in sorted(picked)]


def apply_overlay(
    base: FloatArray, tile: int, blocks: list[tuple[int, int]], *, seed: int, phase: int
) -> FloatArray:
    """A copy of ``base`` with every listed tile replaced by a dense block of values."""
    out: FloatArray = base.copy()
    rng = np.random.default_rng([seed, phase, 11])
    for bi, bj in blocks:
        out[bi * tile : (bi + 1) * tile, bj * tile : (bj + 1) * tile] = rng.uniform(
            0.5, 1.5, (tile, tile)
        )
    return out


@dataclass(frozen=True)
class CsrTile:
    """A compressed tile: row pointers, column indices, values (int32/int32/float64)."""

    shape: tuple[int, int]
    indptr: npt.NDArray[np.int32]
    indices: npt.NDArray[np.int32]
    data: FloatArray

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.data.nbytes)

    @property
    def nnz(self) -> int:
        return int(self.data.size)

    def copy(self) -> CsrTile:
        return CsrTile(self.shape, self.indptr.copy(), self.indices.copy(), self.data.copy())

    def matvec(self, x: FloatArray) -> FloatArray:
        counts = np.diff(self.indptr)
        row_of = np.repeat(np.arange(self.shape[0]), counts)
        products = self.data * x[self.indices]
        return np.asarray(
            np.bincount(row_of, weights=products, minlength=self.shape[0]), np.float64
        )

    def to_dense(self) -> FloatArray:
        out = np.zeros(self.shape)
        row_of = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        out[row_of, self.indices] = self.data
        return out


def compress(block: FloatArray) -> CsrTile:
    """CSR form of a dense block (row-major order of the non-zeros).

    One comparison pass and one index pass over the block: flat positions of a boolean mask
    are several times faster in NumPy than ``np.nonzero`` on the float block itself.
    """
    rows, cols = block.shape
    flat = np.ascontiguousarray(block).ravel()
    where = np.flatnonzero(flat != 0)
    indptr = np.searchsorted(where, np.arange(0, rows * cols + 1, cols)).astype(np.int32)
    return CsrTile((int(rows), int(cols)), indptr, (where % cols).astype(np.int32), flat[where])


def csr_nbytes(rows: int, nnz: int) -> int:
    """Bytes of a CSR tile with ``nnz`` non-zeros: int32 pointers and indices, float64 values."""
    return 4 * (rows + 1) + 12 * nnz


def check_geometry(order: int, tile: int, threshold: int) -> None:
    """Clear errors for a tile size that does not divide the order or a bad threshold."""
    if order < 1:
        raise AdaptiveError("the matrix order must be at least 1", field="order", value=order)
    if not 1 <= tile <= order:
        raise AdaptiveError(
            f"the tile size must be in [1, {order}] (the order)", field="tile", value=tile
        )
    if order % tile:
        raise AdaptiveError(
            f"the tile size must divide the order {order} evenly", field="tile", value=tile
        )
    if not 1 <= threshold <= tile * tile:
        raise AdaptiveError(
            f"the compression threshold (non-zeros per tile) must be in [1, {tile * tile}] "
            f"(tile {tile} x {tile})",
            field="threshold",
            value=threshold,
        )
