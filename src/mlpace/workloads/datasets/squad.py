"""SQuAD v1.1 (``dev-v1.1.json``): one sample per question.

The BERT reference tokenizes with a WordPiece vocabulary and splits long contexts into
overlapping windows. mlpace carries no vocabulary, so it uses a vocabulary-free stand-in that
keeps the structure the accuracy script needs:

* context and question are split on whitespace; every context token remembers its character
  span in the original context, so a predicted token span maps back to the original text;
* token ids are a stable hash of the lowercased token into BERT's id range (``[CLS]`` 101,
  ``[SEP]`` 102, ``[PAD]`` 0 as in BERT);
* a sample is ``[CLS] question [SEP] context [SEP]`` padded to ``max_seq_length``; a context
  too long for one window is truncated (no document stride), which the metric then scores as
  the official evaluation would score the prediction it gets.

The model inputs are the three arrays the BERT reference feeds: ``input_ids``, ``input_mask``
and ``segment_ids`` (int64, batch-first). The ground truth keeps the original answers, so
EM/F1 are the standard SQuAD v1.1 numbers.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import DatasetError

__all__ = [
    "SquadDataset",
    "SquadFeature",
    "SquadQuestion",
    "build_feature",
    "hash_token_id",
    "read_squad",
    "whitespace_tokens",
]

CLS_ID, SEP_ID, PAD_ID = 101, 102, 0
VOCAB_SIZE = 30522
_FIRST_WORD_ID = 1000  # BERT's special and unused ids sit below this


@dataclass(frozen=True)
class SquadQuestion:
    """One question with its context and every accepted answer text."""

    qas_id: str
    question: str
    context: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class SquadFeature:
    """Model inputs of one question and the map from token positions to context characters."""

    input_ids: np.ndarray  # int64 [max_seq_length]
    input_mask: np.ndarray
    segment_ids: np.ndarray
    # For token position t in the window: (char_start, char_end) in the context, or (-1, -1)
    # when t is not a context token.
    token_char_spans: np.ndarray  # int64 [max_seq_length, 2]


def hash_token_id(token: str) -> int:
    """A stable id in BERT's word range for a (lowercased) token: crc32, not Python's hash."""
    return _FIRST_WORD_ID + zlib.crc32(token.lower().encode("utf-8")) % (
        VOCAB_SIZE - _FIRST_WORD_ID
    )


def whitespace_tokens(text: str) -> list[tuple[str, int, int]]:
    """(token, char_start, char_end) for each whitespace-separated token."""
    out: list[tuple[str, int, int]] = []
    start = -1
    for i, ch in enumerate(text):
        if ch.isspace():
            if start >= 0:
                out.append((text[start:i], start, i))
                start = -1
        elif start < 0:
            start = i
    if start >= 0:
        out.append((text[start:], start, len(text)))
    return out


def build_feature(
    q: SquadQuestion, max_seq_length: int = 384, max_query_length: int = 64
) -> SquadFeature:
    q_tokens = [t for t, _, _ in whitespace_tokens(q.question)][:max_query_length]
    ctx = whitespace_tokens(q.context)
    room = max_seq_length - len(q_tokens) - 3
    if room <= 0:
        raise DatasetError(
            f"question {q.qas_id!r}: max_seq_length {max_seq_length} leaves no room for the context"
        )
    ctx = ctx[:room]
    ids = [CLS_ID, *(hash_token_id(t) for t in q_tokens), SEP_ID]
    seg = [0] * len(ids)
    spans = [(-1, -1)] * len(ids)
    for tok, s, e in ctx:
        ids.append(hash_token_id(tok))
        seg.append(1)
        spans.append((s, e))
    ids.append(SEP_ID)
    seg.append(1)
    spans.append((-1, -1))
    n = len(ids)
    pad = max_seq_length - n
    input_ids = np.asarray(ids + [PAD_ID] * pad, dtype=np.int64)
    mask = np.asarray([1] * n + [0] * pad, dtype=np.int64)
    segment = np.asarray(seg + [0] * pad, dtype=np.int64)
    span_arr = np.asarray(spans + [(-1, -1)] * pad, dtype=np.int64)
    return SquadFeature(input_ids, mask, segment, span_arr)


def _need(obj: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DatasetError(f"{where}: missing key {key!r}")
    if not isinstance(obj[key], kind):
        raise DatasetError(f"{where}.{key}: expected {kind.__name__}")
    return obj[key]


def read_squad(path: str | Path) -> list[SquadQuestion]:
    """Every question of a SQuAD v1.1 file, in file order."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{p}: SQuAD file not found") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    out: list[SquadQuestion] = []
    for a, article in enumerate(_need(doc, "data", list, str(p))):
        for b, para in enumerate(_need(article, "paragraphs", list, f"{p}: data[{a}]")):
            where = f"{p}: data[{a}].paragraphs[{b}]"
            context = _need(para, "context", str, where)
            for c, qa in enumerate(_need(para, "qas", list, where)):
                wq = f"{where}.qas[{c}]"
                answers = _need(qa, "answers", list, wq)
                texts = tuple(
                    _need(ans, "text", str, f"{wq}.answers[{d}]") for d, ans in enumerate(answers)
                )
                out.append(
                    SquadQuestion(
                        qas_id=str(_need(qa, "id", str, wq)),
                        question=_need(qa, "question", str, wq),
                        context=context,
                        answers=texts,
                    )
                )
    if not out:
        raise DatasetError(f"{p}: no questions")
    return out


class SquadDataset:
    """SQuAD v1.1 questions as BERT-shaped inputs (see the module docstring)."""

    synthetic = False

    def __init__(
        self,
        path: str | Path,
        *,
        max_seq_length: int = 384,
        max_query_length: int = 64,
        count: int | None = None,
        name: str = "squad",
    ) -> None:
        self.path = Path(path)
        questions = read_squad(self.path)
        if count is not None:
            questions = questions[:count]
        self.questions = tuple(questions)
        self.features = tuple(build_feature(q, max_seq_length, max_query_length) for q in questions)
        self.max_seq_length = max_seq_length
        self.name = name
        self.size = len(questions)

    def get_samples(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        feats = [self.features[int(i)] for i in indices]
        return {
            "input_ids": np.stack([f.input_ids for f in feats]),
            "input_mask": np.stack([f.input_mask for f in feats]),
            "segment_ids": np.stack([f.segment_ids for f in feats]),
        }

    def label(self, index: int) -> SquadQuestion:
        return self.questions[index]

    def load(self, indices: Sequence[int]) -> None:
        """Features are built at construction (small); nothing to do."""

    def unload(self, indices: Sequence[int]) -> None:
        """Nothing is held per sample beyond the features."""
