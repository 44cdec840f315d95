"""Helpers shared by task modules (not a task module itself: the name starts with ``_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlpace.workloads.datasets.base import Dataset
from mlpace.workloads.registry import AccuracyReport

# Fig 4.8 (v0.5): queries / samples per query, vision tasks.
V05_VISION_QUERIES = {"SingleStream": 1024, "MultiStream": 270_336, "Server": 270_336, "Offline": 1}
V05_SAMPLES_PER_QUERY: dict[str, int | str] = {
    "SingleStream": 1,
    "MultiStream": "N",
    "Server": 1,
    "Offline": 24_576,
}


def classification_accuracy(path: Path, dataset: Dataset, dtype: str = "<i4") -> AccuracyReport:
    """Top-1 over the accuracy log, by the same script as ``python -m mlpace.workloads.accuracy``.

    Each payload's first element is the predicted class; every QSL index counts once (a sample
    logged twice is scored the first time, as the reference script does).
    """
    from mlpace.workloads.accuracy.imagenet import imagenet_accuracy

    labels = np.asarray([int(dataset.label(i)) for i in range(dataset.size)], dtype=np.int64)  # type: ignore[call-overload]
    result = imagenet_accuracy(path, labels, dtype=np.dtype(dtype).name)
    return AccuracyReport(
        text=result.line, value=result.accuracy_percent, good=result.good, total=result.total
    )


def encode_top1(outputs: Any) -> list[bytes]:
    """Classifier payload (predicted class as int32), imported on first use."""
    from mlpace.workloads.sut import argmax_int32

    return argmax_int32(outputs)
