"""Criteo click logs (Kaggle / Terabyte TSV): ``label \\t I1..I13 \\t C1..C26`` per line.

Dense features are integers (possibly empty or negative); as in the DLRM reference, negatives
become 0, empties 0, and the model sees ``log(1 + x)``. Categorical features are 32-bit hex
strings (possibly empty); each is hashed into its embedding table as ``value mod table_size``
(the reference's ``max_ind_range``), an empty field maps to row 0.

Sample i is line i. The inputs are ``{"dense": float32 [B, 13], "sparse": int64 [B, 26]}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlpace.errors import DatasetError

__all__ = [
    "CATEGORICAL_FEATURES",
    "DEFAULT_TABLE_SIZE",
    "DENSE_FEATURES",
    "CriteoDataset",
    "parse_criteo_line",
    "read_criteo",
]

DENSE_FEATURES = 13
CATEGORICAL_FEATURES = 26
#: The DLRM reference's ``max_ind_range`` for Criteo Terabyte.
DEFAULT_TABLE_SIZE = 40_000_000


def parse_criteo_line(
    line: str, table_sizes: Sequence[int], *, where: str = ""
) -> tuple[int, np.ndarray, np.ndarray]:
    """(label, dense float32[13] after log1p, sparse int64[26] after hashing) of one line."""
    fields = line.rstrip("\r\n").split("\t")
    need = 1 + DENSE_FEATURES + CATEGORICAL_FEATURES
    if len(fields) != need:
        raise DatasetError(f"{where}expected {need} tab-separated fields, got {len(fields)}")
    if fields[0] not in ("0", "1"):
        raise DatasetError(f"{where}label {fields[0]!r} is not 0 or 1")
    dense = np.zeros(DENSE_FEATURES, dtype=np.float32)
    for k, f in enumerate(fields[1 : 1 + DENSE_FEATURES]):
        if f:
            try:
                dense[k] = max(int(f), 0)
            except ValueError:
                raise DatasetError(
                    f"{where}dense feature I{k + 1} = {f!r} is not an integer"
                ) from None
    sparse = np.zeros(CATEGORICAL_FEATURES, dtype=np.int64)
    for k, f in enumerate(fields[1 + DENSE_FEATURES :]):
        if f:
            try:
                sparse[k] = int(f, 16) % table_sizes[k]
            except ValueError:
                raise DatasetError(
                    f"{where}categorical feature C{k + 1} = {f!r} is not hex"
                ) from None
    return int(fields[0]), np.log1p(dense), sparse


def read_criteo(
    path: str | Path, *, table_sizes: Sequence[int] | None = None, count: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels int64 [N], dense float32 [N, 13], sparse int64 [N, 26]) of a Criteo TSV file."""
    p = Path(path)
    sizes = (
        tuple(table_sizes)
        if table_sizes is not None
        else ((DEFAULT_TABLE_SIZE,) * CATEGORICAL_FEATURES)
    )
    if len(sizes) != CATEGORICAL_FEATURES or min(sizes) <= 0:
        raise DatasetError(f"table_sizes must be {CATEGORICAL_FEATURES} positive sizes")
    labels: list[int] = []
    dense: list[np.ndarray] = []
    sparse: list[np.ndarray] = []
    try:
        with p.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if count is not None and len(labels) >= count:
                    break
                if not line.strip():
                    continue
                lab, d, s = parse_criteo_line(line, sizes, where=f"{p}:{lineno}: ")
                labels.append(lab)
                dense.append(d)
                sparse.append(s)
    except FileNotFoundError:
        raise DatasetError(f"{p}: Criteo file not found") from None
    if not labels:
        raise DatasetError(f"{p}: no samples")
    return np.asarray(labels, dtype=np.int64), np.stack(dense), np.stack(sparse)


class CriteoDataset:
    """A Criteo TSV file held in memory (the DLRM inputs are small per sample)."""

    synthetic = False

    def __init__(
        self,
        path: str | Path,
        *,
        table_sizes: Sequence[int] | None = None,
        count: int | None = None,
        name: str = "criteo",
    ) -> None:
        self.path = Path(path)
        self.labels, self.dense, self.sparse = read_criteo(
            self.path, table_sizes=table_sizes, count=count
        )
        self.name = name
        self.size = int(self.labels.shape[0])

    def get_samples(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        idx = np.asarray(indices, dtype=np.intp)
        return {"dense": self.dense[idx], "sparse": self.sparse[idx]}

    def label(self, index: int) -> int:
        return int(self.labels[index])

    def load(self, indices: Sequence[int]) -> None:
        """The whole file is in memory already."""

    def unload(self, indices: Sequence[int]) -> None:
        """Nothing per sample to release."""
