"""ROC AUC for click-through prediction (DLRM on Criteo), in the DLRM accuracy script's format.

Payload: float32 ``(score, label)`` pairs, one or more per qsl_idx (the DLRM reference harness
writes both so the script needs no data set); with ``labels`` given (``--day-23-file``), the
payload is the score(s) alone and the label comes from the data set.

The printed line is ``AUC=80.312%, accuracy=..%, good=N, total=M, queries=Q``: AUC in percent,
as the submission checker's DLRM-v2 target (80.31 × 0.99) is in percent; ``accuracy`` is the
fraction of samples whose score rounds (> 0.5) to the label.

:func:`roc_auc` is our own rank statistic (Mann–Whitney U with average ranks for ties), equal
to scikit-learn's ``roc_auc_score``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpace.errors import DatasetError
from mlpace.workloads.accuracy.common import (
    AccuracyLog,
    decode_hex,
    entries_in_range,
    read_accuracy_log,
)

__all__ = ["CriteoResult", "criteo_auc", "roc_auc"]


def roc_auc(labels: np.ndarray | Sequence[float], scores: np.ndarray | Sequence[float]) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties count ½."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise DatasetError(f"AUC needs one score per label ({s.size} scores, {y.size} labels)")
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise DatasetError("AUC is undefined when all labels are the same class")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    # Average rank (1-based) of each group of tied scores.
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    avg_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(s.size, dtype=np.float64)
    ranks[order] = np.repeat(avg_rank, ends - starts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True)
class CriteoResult:
    auc: float  # fraction, 0..1
    good: int
    total: int  # samples scored
    queries: int  # distinct qsl_idx in the log
    missing: tuple[int, ...] = ()

    @property
    def accuracy_percent(self) -> float:
        return 100.0 * self.good / self.total if self.total else 0.0

    @property
    def line(self) -> str:
        return (
            f"AUC={100.0 * self.auc:.3f}%, accuracy={self.accuracy_percent:.3f}%, "
            f"good={self.good}, total={self.total}, queries={self.queries}"
        )


def criteo_auc(
    log: AccuracyLog | str | Path,
    labels: np.ndarray | Sequence[int] | None = None,
    *,
    dtype: str = "float32",
    total_samples: int | None = None,
) -> CriteoResult:
    """AUC of the scores in ``log``; ``labels`` (index = qsl_idx) or (score, label) payloads."""
    acc_log = log if isinstance(log, AccuracyLog) else read_accuracy_log(log)
    unique = acc_log.unique()
    truth = None if labels is None else np.asarray(labels, dtype=np.float64)
    if truth is not None:
        entries_in_range(unique.values(), truth.size, acc_log.path)
    scores: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for idx, entry in unique.items():
        data = decode_hex(entry.data, dtype, where=f"{acc_log.path}:{entry.line}: ")
        data = data.astype(np.float64)
        if truth is not None:
            scores.append(data[:1])
            targets.append(truth[idx : idx + 1])
        else:
            if data.size % 2:
                raise DatasetError(
                    f"{acc_log.path}:{entry.line}: payload of {data.size} values is not "
                    "(score, label) pairs; pass the labels file (--day-23-file)"
                )
            pairs = data.reshape(-1, 2)
            scores.append(pairs[:, 0])
            targets.append(pairs[:, 1])
    if not scores:
        raise DatasetError(f"{acc_log.path}: no results to score")
    s = np.concatenate(scores)
    t = np.concatenate(targets)
    good = int(np.sum((s > 0.5) == (t > 0.5)))
    size = truth.size if truth is not None else total_samples
    return CriteoResult(
        auc=roc_auc(t > 0.5, s),
        good=good,
        total=int(s.size),
        queries=len(unique),
        missing=tuple(acc_log.missing(size)) if size is not None else (),
    )
