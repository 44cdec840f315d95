"""Sentence-encoder quality: agreement with the FP32 NumPy reference embeddings (mlpace format).

Payload: the 384 float32 values of the sample's embedding. For each qsl_idx (once) the cosine
similarity between the logged embedding and the reference embedding of that sample is taken;
the printed line is

    cosine_agreement=0.99998, good=307, total=307

``cosine_agreement`` is the mean cosine (5 decimals), ``good`` counts samples whose cosine is at
least ``threshold`` (0.99 by default: MLPerf's "99 % of FP32" idea applied per sample) and
``total`` the distinct samples in the log. The task passes when the mean is ≥ 0.99.
"""

from __future__ import annotations

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

__all__ = ["EncoderResult", "cosine_rows", "encoder_agreement"]

DEFAULT_THRESHOLD = 0.99


@dataclass(frozen=True)
class EncoderResult:
    mean_cosine: float
    min_cosine: float
    good: int
    total: int
    threshold: float = DEFAULT_THRESHOLD
    missing: tuple[int, ...] = ()

    @property
    def line(self) -> str:
        return f"cosine_agreement={self.mean_cosine:.5f}, good={self.good}, total={self.total}"


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity (float64), 0 where either row is all zeros."""
    a64 = np.asarray(a, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    num = np.sum(a64 * b64, axis=1)
    return np.asarray(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0))


def encoder_agreement(
    log: AccuracyLog | str | Path,
    reference: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> EncoderResult:
    """Agreement of the embeddings in ``log`` with ``reference`` ``[samples, dim]``."""
    acc_log = log if isinstance(log, AccuracyLog) else read_accuracy_log(log)
    ref = np.asarray(reference, dtype=np.float32)
    if ref.ndim != 2:
        raise DatasetError(f"reference embeddings must be [samples, dim], got {ref.shape}")
    unique = acc_log.unique()
    entries_in_range(unique.values(), ref.shape[0], acc_log.path)
    if not unique:
        raise DatasetError(f"{acc_log.path}: no embeddings to score")
    idx = np.fromiter(unique.keys(), dtype=np.intp, count=len(unique))
    got = np.empty((len(unique), ref.shape[1]), dtype=np.float32)
    for row, entry in enumerate(unique.values()):
        data = decode_hex(entry.data, "float32", where=f"{acc_log.path}:{entry.line}: ")
        if data.size != ref.shape[1]:
            raise DatasetError(
                f"{acc_log.path}:{entry.line}: embedding has {data.size} values, "
                f"the reference {ref.shape[1]}"
            )
        got[row] = data
    cos = cosine_rows(got, ref[idx])
    return EncoderResult(
        mean_cosine=float(cos.mean()),
        min_cosine=float(cos.min()),
        good=int(np.sum(cos >= threshold)),
        total=len(unique),
        threshold=threshold,
        missing=tuple(acc_log.missing(ref.shape[0])),
    )
