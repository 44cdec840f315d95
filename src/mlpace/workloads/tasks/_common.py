"""Helpers shared by task modules (not a task module itself: the name starts with ``_``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlpace.errors import DatasetError
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


def read_accuracy_log(path: Path) -> list[dict[str, object]]:
    """Entries of a ``mlperf_log_accuracy.json`` (``seq_id``, ``qsl_idx``, ``data`` hex)."""
    try:
        entries = json.loads(Path(path).read_text() or "[]")
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read the accuracy log {path}: {exc}") from exc
    if not isinstance(entries, list):
        raise DatasetError(f"{path}: expected a JSON list of accuracy entries")
    return entries


def classification_accuracy(path: Path, dataset: Dataset, dtype: str = "<i4") -> AccuracyReport:
    """Top-1 over the accuracy log, printed as accuracy-imagenet.py does.

    Each payload's first element is the predicted class; every QSL index counts once (a sample
    logged twice is scored the first time, as the reference script does).
    """
    seen: set[int] = set()
    good = 0
    for entry in read_accuracy_log(path):
        idx = int(entry["qsl_idx"])  # type: ignore[call-overload]
        if idx in seen:
            continue
        seen.add(idx)
        data = bytes.fromhex(str(entry["data"]))
        pred = np.frombuffer(data, dtype=dtype)
        if pred.size and int(pred[0]) == int(dataset.label(idx)):  # type: ignore[call-overload]
            good += 1
    total = len(seen)
    value = 100.0 * good / total if total else 0.0
    return AccuracyReport(
        text=f"accuracy={value:.3f}%, good={good}, total={total}",
        value=value,
        good=good,
        total=total,
    )
