"""Top-1 accuracy on ImageNet, with the output line of the official ``accuracy-imagenet.py``.

Payload: the predicted class as the first value of the sample's data, in ``--dtype``
(float32 by default, as the official script). Each qsl_idx counts once; ``total`` is the number
of distinct samples in the log (as the official script), and samples of the data set the log
never answers are reported separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpace.workloads.accuracy.common import (
    AccuracyLog,
    decode_hex,
    entries_in_range,
    read_accuracy_log,
)

__all__ = ["ImagenetResult", "imagenet_accuracy", "read_imagenet_labels"]


@dataclass(frozen=True)
class ImagenetResult:
    accuracy_percent: float
    good: int
    total: int
    missing: tuple[int, ...] = ()
    mismatches: tuple[tuple[int, int, int], ...] = ()  # (qsl_idx, predicted, expected)

    @property
    def line(self) -> str:
        """``accuracy=76.456%, good=38228, total=50000`` (what the submission checker greps)."""
        return f"accuracy={self.accuracy_percent:.3f}%, good={self.good}, total={self.total}"


def read_imagenet_labels(val_file: str | Path) -> np.ndarray:
    """Labels of ``val_map.txt`` in line order (int64)."""
    from mlpace.workloads.datasets.imagenet import read_val_map

    return np.asarray([lab for _, lab in read_val_map(val_file)], dtype=np.int64)


def imagenet_accuracy(
    log: AccuracyLog | str | Path,
    labels: Sequence[int] | np.ndarray,
    *,
    dtype: str = "float32",
) -> ImagenetResult:
    """Top-1 of the predictions in ``log`` against ``labels`` (index = qsl_idx)."""
    acc_log = log if isinstance(log, AccuracyLog) else read_accuracy_log(log)
    truth = np.asarray(labels, dtype=np.int64)
    unique = acc_log.unique()
    entries_in_range(unique.values(), len(truth), acc_log.path)
    good = 0
    mismatches: list[tuple[int, int, int]] = []
    for idx, entry in unique.items():
        data = decode_hex(entry.data, dtype, where=f"{acc_log.path}:{entry.line}: ")
        predicted = int(data[0]) if data.size else -1
        if predicted == int(truth[idx]):
            good += 1
        else:
            mismatches.append((idx, predicted, int(truth[idx])))
    total = len(unique)
    return ImagenetResult(
        accuracy_percent=100.0 * good / total if total else 0.0,
        good=good,
        total=total,
        missing=tuple(acc_log.missing(len(truth))),
        mismatches=tuple(mismatches),
    )
