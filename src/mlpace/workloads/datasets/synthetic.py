"""Seeded synthetic stand-ins for the real data sets (performance runs only).

Each generator yields the same shapes and dtypes as its real loader, so a backend sees the
same work. Sample i is drawn from ``numpy.random.default_rng((seed, i))``: the same index gives
the same array whatever query it is part of, and runs are reproducible. There is no ground
truth, so :func:`require_real_data` refuses these in accuracy mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mlpace.errors import DatasetError

__all__ = [
    "ACCURACY_NEEDS_REAL_DATA",
    "SyntheticDataset",
    "TensorSpec",
    "require_real_data",
    "synthetic_coco",
    "synthetic_criteo",
    "synthetic_imagenet",
    "synthetic_squad",
]

ACCURACY_NEEDS_REAL_DATA = (
    "accuracy mode needs the real data set; synthetic data is only for performance runs: "
    "pass --dataset PATH"
)


def require_real_data(dataset: object, mode: object) -> None:
    """Raise :class:`DatasetError` when ``mode`` computes accuracy on a synthetic data set.

    ``mode`` is a ``TestMode`` or its name; AccuracyOnly and SubmissionRun (which has an
    accuracy pass) need real data.
    """
    name = str(getattr(mode, "value", mode)).lower()
    if getattr(dataset, "synthetic", False) and ("accuracy" in name or "submission" in name):
        raise DatasetError(ACCURACY_NEEDS_REAL_DATA)


@dataclass(frozen=True)
class TensorSpec:
    """One model input: per-sample shape, dtype and the value range drawn from."""

    shape: tuple[int, ...]
    dtype: str
    low: float = 0.0
    high: float = 1.0
    distribution: str = "uniform"  # "uniform" or "normal" (mean low, std high)


class SyntheticDataset:
    """A data set of seeded random inputs; ``specs`` with one key ``""`` yields a bare array."""

    synthetic = True

    def __init__(
        self, name: str, size: int, specs: Mapping[str, TensorSpec], *, seed: int = 0
    ) -> None:
        if size <= 0:
            raise DatasetError(f"synthetic data set {name!r} needs a positive size, got {size}")
        self.name = name
        self.size = size
        self.specs = dict(specs)
        self.seed = seed

    def _sample(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < self.size:
            raise DatasetError(f"{self.name}: sample index {index} outside 0..{self.size - 1}")
        rng = np.random.default_rng((self.seed, index))
        out: dict[str, np.ndarray] = {}
        for key, spec in self.specs.items():
            dt = np.dtype(spec.dtype)
            if dt.kind in "iu":
                out[key] = rng.integers(int(spec.low), int(spec.high), size=spec.shape, dtype=dt)
            elif spec.distribution == "normal":
                out[key] = rng.normal(spec.low, spec.high, size=spec.shape).astype(dt)
            else:
                out[key] = rng.uniform(spec.low, spec.high, size=spec.shape).astype(dt)
        return out

    def get_samples(self, indices: Sequence[int]) -> np.ndarray | dict[str, np.ndarray]:
        rows = [self._sample(int(i)) for i in indices]
        batch = {k: np.stack([r[k] for r in rows]) for k in self.specs}
        return batch[""] if list(batch) == [""] else batch

    def label(self, index: int) -> object:
        raise DatasetError(ACCURACY_NEEDS_REAL_DATA)

    def load(self, indices: Sequence[int]) -> None:
        """Samples are generated on demand."""

    def unload(self, indices: Sequence[int]) -> None:
        """Nothing is held."""


def synthetic_imagenet(size: int = 1024, *, seed: int = 0, crop_px: int = 224) -> SyntheticDataset:
    """Normalized-image-like float32 [3, crop, crop] (mean 0, std 1 like real preprocessed)."""
    spec = TensorSpec((3, crop_px, crop_px), "float32", 0.0, 1.0, "normal")
    return SyntheticDataset("imagenet-synthetic", size, {"": spec}, seed=seed)


def synthetic_coco(size: int = 256, *, seed: int = 0, image_size_px: int = 300) -> SyntheticDataset:
    spec = TensorSpec((3, image_size_px, image_size_px), "float32", -1.0, 1.0)
    return SyntheticDataset("coco-synthetic", size, {"": spec}, seed=seed)


def synthetic_squad(
    size: int = 1024, *, seed: int = 0, max_seq_length: int = 384
) -> SyntheticDataset:
    specs = {
        "input_ids": TensorSpec((max_seq_length,), "int64", 1000, 30522),
        "input_mask": TensorSpec((max_seq_length,), "int64", 1, 2),  # all ones: worst case
        "segment_ids": TensorSpec((max_seq_length,), "int64", 0, 2),
    }
    return SyntheticDataset("squad-synthetic", size, specs, seed=seed)


def synthetic_criteo(
    size: int = 4096, *, seed: int = 0, table_size: int = 40_000_000
) -> SyntheticDataset:
    specs = {
        # log1p of counts up to ~e^8: the range real Criteo dense features land in.
        "dense": TensorSpec((13,), "float32", 0.0, 8.0),
        "sparse": TensorSpec((26,), "int64", 0, table_size),
    }
    return SyntheticDataset("criteo-synthetic", size, specs, seed=seed)
