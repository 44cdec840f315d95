"""DLRM (Naumov et al., 2019) in miniature: the model file, its NumPy forward pass, its torch form.

The structure is the reference DLRM's: 13 dense features through a bottom MLP (ReLU after
every layer) down to the embedding width ``D``; 26 categorical features through embedding bags
(sum pooling, one table each); the 27 vectors interact by pairwise dot products (the strictly
lower triangle of ``T Tᵀ``, 351 values) concatenated with the bottom MLP's output; a top MLP
(ReLU between layers) gives one logit; the sigmoid is the click probability. Sizes are chosen
to train on two CPU cores: ``D = 16`` (the reference's Kaggle width), bottom 13-64-32-16,
top 367-128-64-1, tables of 3 .. ~3,200 rows (see
:mod:`mlpace.workloads.datasets.criteo_synthetic`).

The model file is an ``.npz``: ``spec`` (JSON in a 0-d array: table sizes, layer widths,
metadata such as the FP32 reference AUC) and float32 arrays ``emb_<t>`` [rows, D],
``bottom_w<i>``/``bottom_b<i>``, ``top_w<i>``/``top_b<i>`` in PyTorch's ``Linear`` layout
([out, in]). :func:`numpy_forward` is the core install's backend; :func:`build_torch` loads
the same arrays into :class:`mlpace.workloads.models.dlrm_torch.DLRM`.

Inputs: ``{"dense": float32 [B, 13] (log1p of the counts), "sparse": int64 [B, 26]}`` (one
index per table, as Criteo has); the output is float32 [B], the click probability.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import BackendError
from mlpace.workloads.datasets.base import Batch

__all__ = [
    "DEFAULT_MODEL_PATH",
    "BOTTOM_MLP",
    "EMBEDDING_DIM",
    "TOP_MLP",
    "DlrmSpec",
    "build_torch",
    "interaction_pairs",
    "load_spec",
    "numpy_forward",
    "numpy_interact",
    "random_arrays",
    "save_spec",
]

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "dlrm_small.npz"
EMBEDDING_DIM = 16
BOTTOM_MLP: tuple[int, ...] = (64, 32, EMBEDDING_DIM)  # after the 13 dense inputs
TOP_MLP: tuple[int, ...] = (128, 64, 1)  # after the interaction output


@dataclass(frozen=True)
class DlrmSpec:
    """A DLRM's shape, its float32 arrays and the model file's metadata."""

    table_sizes: tuple[int, ...]
    embedding_dim: int
    dense_features: int
    bottom_mlp: tuple[int, ...]
    top_mlp: tuple[int, ...]
    arrays: Mapping[str, np.ndarray]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def interaction_width(self) -> int:
        """Top-MLP input: the bottom output plus one dot product per pair of the F vectors."""
        f = len(self.table_sizes) + 1
        return self.embedding_dim + f * (f - 1) // 2

    @property
    def sha256(self) -> str:
        return "" if self.path is None else hashlib.sha256(self.path.read_bytes()).hexdigest()

    def layer_sizes(self) -> tuple[list[int], list[int]]:
        bottom = [self.dense_features, *self.bottom_mlp]
        top = [self.interaction_width, *self.top_mlp]
        return bottom, top

    def parameter_count(self) -> int:
        return int(sum(a.size for a in self.arrays.values()))

    def to_json(self) -> dict[str, Any]:
        return {
            "model": "dlrm",
            "table_sizes": list(self.table_sizes),
            "embedding_dim": self.embedding_dim,
            "dense_features": self.dense_features,
            "bottom_mlp": list(self.bottom_mlp),
            "top_mlp": list(self.top_mlp),
            "interaction": "dot",
            "metadata": dict(self.metadata),
        }


def interaction_pairs(n_vectors: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the strictly lower triangle, row-major (the reference's order:
    (1,0), (2,0), (2,1), (3,0), ...)."""
    rows, cols = np.tril_indices(n_vectors, k=-1)
    return rows, cols


def random_arrays(
    table_sizes: Sequence[int],
    *,
    seed: int = 0,
    embedding_dim: int = EMBEDDING_DIM,
    dense_features: int = 13,
    bottom_mlp: Sequence[int] = BOTTOM_MLP,
    top_mlp: Sequence[int] = TOP_MLP,
) -> dict[str, np.ndarray]:
    """The reference DLRM's initialisation: tables U(±sqrt(1/rows)); weights N(0, sqrt(2/(in+out)));
    biases N(0, sqrt(1/out))."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for t, rows in enumerate(table_sizes):
        bound = np.sqrt(1.0 / rows)
        arrays[f"emb_{t}"] = rng.uniform(-bound, bound, (rows, embedding_dim))
    f = len(table_sizes) + 1
    for prefix, sizes in (
        ("bottom", [dense_features, *bottom_mlp]),
        ("top", [embedding_dim + f * (f - 1) // 2, *top_mlp]),
    ):
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            arrays[f"{prefix}_w{i}"] = rng.normal(0, np.sqrt(2 / (n_in + n_out)), (n_out, n_in))
            arrays[f"{prefix}_b{i}"] = rng.normal(0, np.sqrt(1 / n_out), n_out)
    return {k: v.astype(np.float32) for k, v in arrays.items()}


def save_spec(spec: DlrmSpec, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    contents: dict[str, Any] = {k: np.asarray(v, dtype=np.float32) for k, v in spec.arrays.items()}
    contents["spec"] = np.array(json.dumps(spec.to_json(), sort_keys=True))
    with p.open("wb") as fh:
        np.savez_compressed(fh, **contents)
    return p


def load_spec(path: str | Path | None = None) -> DlrmSpec:
    """Read and check a DLRM model file (default: the one shipped in the package)."""
    p = DEFAULT_MODEL_PATH if path is None else Path(path)
    if not p.is_file():
        raise BackendError(
            f"DLRM model file {p} is missing; write it with python -m mlpace.training.export_dlrm"
        )
    try:
        with np.load(p, allow_pickle=False) as z:
            doc = json.loads(str(z["spec"]))
            arrays = {k: np.asarray(z[k], dtype=np.float32) for k in z.files if k != "spec"}
        spec = DlrmSpec(
            table_sizes=tuple(int(s) for s in doc["table_sizes"]),
            embedding_dim=int(doc["embedding_dim"]),
            dense_features=int(doc["dense_features"]),
            bottom_mlp=tuple(int(s) for s in doc["bottom_mlp"]),
            top_mlp=tuple(int(s) for s in doc["top_mlp"]),
            arrays=arrays,
            metadata=dict(doc.get("metadata", {})),
            path=p,
        )
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise BackendError(f"{p}: not a DLRM model file ({type(exc).__name__}: {exc})") from None
    _check(spec, p)
    return spec


def _check(spec: DlrmSpec, where: Path) -> None:
    """Every array present with the shape the spec implies (a clear error, not a shape crash)."""
    expected: dict[str, tuple[int, ...]] = {
        f"emb_{t}": (rows, spec.embedding_dim) for t, rows in enumerate(spec.table_sizes)
    }
    bottom, top = spec.layer_sizes()
    if bottom[-1] != spec.embedding_dim:
        raise BackendError(f"{where}: the bottom MLP must end at the embedding width")
    if top[-1] != 1:
        raise BackendError(f"{where}: the top MLP must end in one output")
    for prefix, sizes in (("bottom", bottom), ("top", top)):
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            expected[f"{prefix}_w{i}"] = (n_out, n_in)
            expected[f"{prefix}_b{i}"] = (n_out,)
    for name, shape in expected.items():
        arr = spec.arrays.get(name)
        if arr is None:
            raise BackendError(f"{where}: array {name!r} is missing")
        if arr.shape != shape:
            raise BackendError(f"{where}: array {name!r} has shape {arr.shape}, expected {shape}")


# ---------------------------------------------------------------------------------- NumPy
def numpy_interact(bottom_out: np.ndarray, embedded: np.ndarray) -> np.ndarray:
    """[B, D] and [B, 26, D] → [B, D + 351]: bottom output, then the pairwise dot products."""
    t = np.concatenate([bottom_out[:, None, :], embedded], axis=1)  # [B, F, D]
    z = np.einsum("bfd,bgd->bfg", t, t)
    rows, cols = interaction_pairs(t.shape[1])
    return np.concatenate([bottom_out, z[:, rows, cols]], axis=1)


def _inputs(batch: Batch, spec: DlrmSpec) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, Mapping) or "dense" not in batch or "sparse" not in batch:
        raise BackendError("DLRM takes a batch of {'dense': [B, 13], 'sparse': [B, 26]}")
    dense = np.asarray(batch["dense"], dtype=np.float32)
    sparse = np.asarray(batch["sparse"], dtype=np.int64)
    n_tables = len(spec.table_sizes)
    if dense.ndim != 2 or dense.shape[1] != spec.dense_features:
        raise BackendError(f"dense input has shape {dense.shape}, expected [B, 13]")
    if sparse.ndim != 2 or sparse.shape != (dense.shape[0], n_tables):
        raise BackendError(f"sparse input has shape {sparse.shape}, expected [B, {n_tables}]")
    return dense, sparse


def numpy_forward(spec: DlrmSpec) -> Any:
    """A function batch → click probability float32 [B], in pure NumPy (float32 math)."""
    a = spec.arrays
    bottom, top = spec.layer_sizes()
    n_bottom, n_top = len(bottom) - 1, len(top) - 1
    tables = [a[f"emb_{t}"] for t in range(len(spec.table_sizes))]
    sizes = np.asarray(spec.table_sizes, dtype=np.int64)

    def forward(batch: Batch) -> np.ndarray:
        dense, sparse = _inputs(batch, spec)
        x = dense
        for i in range(n_bottom):
            x = np.maximum(x @ a[f"bottom_w{i}"].T + a[f"bottom_b{i}"], 0.0)
        if sparse.size and (sparse.min() < 0 or (sparse >= sizes).any()):
            raise BackendError("a sparse index lies outside its embedding table")
        emb = np.stack([tables[t][sparse[:, t]] for t in range(len(tables))], axis=1)
        h = numpy_interact(x, emb)
        for i in range(n_top):
            h = h @ a[f"top_w{i}"].T + a[f"top_b{i}"]
            if i < n_top - 1:
                h = np.maximum(h, 0.0)
        logit = h[:, 0].astype(np.float64)
        return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)

    return forward


# ---------------------------------------------------------------------------------- torch
def build_torch(spec: DlrmSpec) -> Any:
    """A :class:`~mlpace.workloads.models.dlrm_torch.DLRM` holding the spec's weights (eval)."""
    from mlpace.workloads.backends.base import require

    require("torch", "torch")
    from mlpace.workloads.models.dlrm_torch import DLRM

    model = DLRM(
        spec.table_sizes,
        embedding_dim=spec.embedding_dim,
        dense_features=spec.dense_features,
        bottom_mlp=spec.bottom_mlp,
        top_mlp=spec.top_mlp,
    )
    model.load_arrays(spec.arrays)
    return model.as_predictor().eval()
