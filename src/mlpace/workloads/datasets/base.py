"""The data set contract every workload builds on, and its LoadGen QSL adapter.

A :class:`Dataset` hands out *preprocessed* model inputs, batch-first, by dataset index, and the
ground truth an accuracy script compares against. :class:`DatasetQSL` turns any data set into
the LoadGen query sample library protocol (``load_samples`` / ``unload_samples``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from mlpace.errors import DatasetError

__all__ = ["Batch", "Dataset", "DatasetQSL", "refuse_synthetic"]

#: What a data set yields: one array (batch-first), or named arrays for multi-input models.
Batch = np.ndarray | dict[str, np.ndarray]


@runtime_checkable
class Dataset(Protocol):
    """A data set of preprocessed model inputs, indexed 0..size-1."""

    name: str
    size: int
    synthetic: bool

    def get_samples(self, indices: Sequence[int]) -> Batch:
        """Preprocessed model inputs for ``indices``, batch-first (row i = indices[i])."""
        ...

    def label(self, index: int) -> object:
        """Ground truth of sample ``index`` for the accuracy script."""
        ...

    def load(self, indices: Sequence[int]) -> None:
        """Bring ``indices`` into memory (called before they are issued)."""
        ...

    def unload(self, indices: Sequence[int]) -> None:
        """Release ``indices`` (called after the pass that used them)."""
        ...


def refuse_synthetic(dataset: Dataset, mode: str) -> None:
    """Raise if a synthetic data set is asked to produce an accuracy result."""
    if dataset.synthetic and "accuracy" in mode.lower():
        raise DatasetError(
            f"data set {dataset.name!r} is synthetic: it has no ground truth, so accuracy mode "
            "is refused; use the real data set (--dataset-path) or run --mode performance"
        )


class DatasetQSL:
    """Adapts a :class:`Dataset` to the LoadGen ``QuerySampleLibrary`` protocol."""

    def __init__(self, dataset: Dataset, performance_sample_count: int | None = None) -> None:
        if dataset.size <= 0:
            raise DatasetError(f"data set {dataset.name!r} is empty")
        psc = dataset.size if performance_sample_count is None else performance_sample_count
        if psc <= 0:
            raise DatasetError(
                f"performance_sample_count must be positive, got {psc} for {dataset.name!r}"
            )
        self.dataset = dataset
        self.name = dataset.name
        self.total_sample_count = dataset.size
        # LoadGen caps the performance set at the total; do the same so both agree.
        self.performance_sample_count = min(psc, dataset.size)

    def load_samples(self, indices: Sequence[int]) -> None:
        self.dataset.load(indices)

    def unload_samples(self, indices: Sequence[int]) -> None:
        self.dataset.unload(indices)

    def get_samples(self, indices: Sequence[int]) -> Batch:
        return self.dataset.get_samples(indices)
