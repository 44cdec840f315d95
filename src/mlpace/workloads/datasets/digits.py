"""The real handwritten-digits data (scikit-learn's copy of the UCI set; no download).

The validation split is the one the digits model was trained against: its indices are in the
model file's metadata (``metadata.split.validation_indices``), so accuracy is measured on data
the model never saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlpace.errors import DatasetError

DEFAULT_SCALE = 16.0  # digits pixels are 0..16


class DigitsDataset:
    """The digits validation split, preprocessed to float32 ``[N, 1, 8, 8]`` / scale."""

    synthetic = False

    def __init__(
        self,
        indices: Sequence[int] | None = None,
        *,
        scale: float = DEFAULT_SCALE,
        name: str = "digits-validation",
    ) -> None:
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:  # scikit-learn is a core dependency; say so if absent
            raise DatasetError(
                "the digits data set needs scikit-learn (pip install mlpace)"
            ) from exc
        bunch = load_digits()
        images = np.asarray(bunch.images, dtype=np.float32)
        targets = np.asarray(bunch.target, dtype=np.int64)
        sel = np.arange(len(images)) if indices is None else np.asarray(indices, dtype=np.int64)
        if sel.size == 0 or sel.min() < 0 or sel.max() >= len(images):
            raise DatasetError(
                f"digits split indices must lie in 0..{len(images) - 1} (got {sel.size} indices)"
            )
        # Preprocess once: the whole split is 360 x 64 floats, so it always stays in memory.
        self._x = np.ascontiguousarray((images[sel] / np.float32(scale))[:, None, :, :])
        self._y = targets[sel]
        self.source_indices = sel
        self.name = name
        self.size = int(sel.size)
        self.loaded: set[int] = set()

    @classmethod
    def from_metadata(
        cls, metadata: Mapping[str, Any], *, scale: float = DEFAULT_SCALE
    ) -> DigitsDataset:
        """The validation split named in a digits model file's metadata."""
        split = metadata.get("split", {})
        indices = split.get("validation_indices") if isinstance(split, Mapping) else None
        if not indices:
            raise DatasetError(
                "the digits model metadata has no split.validation_indices; re-export the model "
                "with python -m mlpace.training.export_digits"
            )
        return cls([int(i) for i in indices], scale=scale)

    def get_samples(self, indices: Sequence[int]) -> np.ndarray:
        return self._x[np.asarray(indices, dtype=np.int64)]

    def label(self, index: int) -> int:
        return int(self._y[index])

    @property
    def labels(self) -> np.ndarray:
        return self._y

    def load(self, indices: Sequence[int]) -> None:
        self.loaded.update(int(i) for i in indices)

    def unload(self, indices: Sequence[int]) -> None:
        self.loaded.difference_update(int(i) for i in indices)
