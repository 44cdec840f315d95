"""SQuAD v1.1 exact match and F1, printed as the official ``accuracy-squad.py`` does.

Payload: float32 logits ``[max_seq_length, 2]`` (start, end per token; the BERT reference's
``np.stack([start, end], axis=-1)``). The best span maximizes start + end logit over context
tokens with start ≤ end and at most ``max_answer_length`` tokens; its text is the original
context between the span's characters (see :mod:`mlpace.workloads.datasets.squad`).

Scoring is the standard SQuAD v1.1 evaluation: answers are normalized (lowercase, punctuation
and the articles a/an/the removed, whitespace collapsed); EM and F1 take the best over the
accepted answers; both are averaged over *every* question of the data set (an unanswered
question scores 0) and printed ×100 as ``{"exact_match": 83.1, "f1": 90.8}``.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlpace.errors import DatasetError
from mlpace.workloads.accuracy.common import (
    AccuracyLog,
    decode_hex,
    entries_in_range,
    read_accuracy_log,
)

__all__ = [
    "SquadResult",
    "best_span",
    "exact_match_score",
    "f1_score",
    "normalize_answer",
    "squad_evaluate",
    "squad_scores",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalization: lowercase, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match_score(prediction: str, truth: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(truth)


def f1_score(prediction: str, truth: str) -> float:
    pred = normalize_answer(prediction).split()
    gold = normalize_answer(truth).split()
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred)
    recall = same / len(gold)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class SquadResult:
    exact_match: float  # percent
    f1: float  # percent
    answered: int
    total: int  # questions in the data set
    missing: tuple[int, ...] = ()
    predictions: Mapping[str, str] = field(default_factory=dict)

    @property
    def line(self) -> str:
        """``{"exact_match": 83.1, "f1": 90.8}`` (json.dumps of the two numbers)."""
        return json.dumps({"exact_match": self.exact_match, "f1": self.f1})


def squad_evaluate(
    answers: Sequence[tuple[str, Sequence[str]]], predictions: Mapping[str, str]
) -> tuple[float, float]:
    """(exact_match %, f1 %) over ``answers`` = [(qas_id, accepted answers)]."""
    em = f1 = 0.0
    for qid, truths in answers:
        if qid not in predictions:
            continue  # scores 0, as the official evaluation
        pred = predictions[qid]
        em += max((float(exact_match_score(pred, t)) for t in truths), default=0.0)
        f1 += max((f1_score(pred, t) for t in truths), default=0.0)
    n = len(answers)
    return (100.0 * em / n, 100.0 * f1 / n) if n else (0.0, 0.0)


def best_span(
    logits: np.ndarray, context_mask: np.ndarray, max_answer_length: int = 30
) -> tuple[int, int]:
    """(start, end) token positions of the best-scoring valid span."""
    start_l = np.where(context_mask, logits[:, 0], -np.inf)
    end_l = np.where(context_mask, logits[:, 1], -np.inf)
    n = start_l.shape[0]
    best = (-np.inf, -1, -1)
    for length in range(max_answer_length):
        if length >= n:
            break
        scores = start_l[: n - length] + end_l[length:]
        k = int(np.argmax(scores))
        if scores[k] > best[0]:
            best = (float(scores[k]), k, k + length)
    if best[1] < 0:
        return -1, -1
    return best[1], best[2]


def squad_scores(
    log: AccuracyLog | str | Path,
    dataset: object,
    *,
    max_answer_length: int = 30,
    out_file: str | Path | None = None,
) -> SquadResult:
    """EM/F1 of ``log`` on a :class:`~mlpace.workloads.datasets.squad.SquadDataset` or path."""
    from mlpace.workloads.datasets.squad import SquadDataset

    ds = dataset if isinstance(dataset, SquadDataset) else SquadDataset(str(dataset))
    acc_log = log if isinstance(log, AccuracyLog) else read_accuracy_log(log)
    unique = acc_log.unique()
    entries_in_range(unique.values(), ds.size, acc_log.path)
    predictions: dict[str, str] = {}
    for idx, entry in unique.items():
        data = decode_hex(entry.data, "float32", where=f"{acc_log.path}:{entry.line}: ")
        if data.size != 2 * ds.max_seq_length:
            raise DatasetError(
                f"{acc_log.path}:{entry.line}: expected {2 * ds.max_seq_length} float32 logits "
                f"([max_seq_length={ds.max_seq_length}, 2]), got {data.size}"
            )
        feat = ds.features[idx]
        spans = feat.token_char_spans
        s, e = best_span(data.reshape(-1, 2), spans[:, 0] >= 0, max_answer_length)
        q = ds.questions[idx]
        predictions[q.qas_id] = "" if s < 0 else q.context[int(spans[s, 0]) : int(spans[e, 1])]
    if out_file is not None:
        Path(out_file).write_text(json.dumps(predictions, indent=2), encoding="utf-8")
    em, f1 = squad_evaluate([(q.qas_id, q.answers) for q in ds.questions], predictions)
    return SquadResult(
        exact_match=em,
        f1=f1,
        answered=len(unique),
        total=ds.size,
        missing=tuple(acc_log.missing(ds.size)),
        predictions=predictions,
    )
