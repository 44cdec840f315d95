"""Corpus BLEU with sacrebleu for translation tasks (GNMT-style ``accuracy-translate``).

Payload: the translated sentence as UTF-8 bytes. References: a text file, one reference per
line, line i = qsl_idx i. Printed: ``BLEU: 23.90`` then the sacrebleu signature, so the score
can be reproduced. Samples the log never answers are left out of the corpus (and reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlpace.errors import DatasetError, MissingDependencyError
from mlpace.workloads.accuracy.common import AccuracyLog, entries_in_range, read_accuracy_log

__all__ = ["BleuResult", "bleu_score", "read_references"]


@dataclass(frozen=True)
class BleuResult:
    bleu: float  # sacrebleu's score, 0..100
    signature: str
    detail: str  # sacrebleu's full score string (precisions, BP, lengths)
    sentences: int
    missing: tuple[int, ...] = ()

    @property
    def line(self) -> str:
        return f"BLEU: {self.bleu:.2f}"


def read_references(path: str | Path) -> list[str]:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{p}: reference file not found") from None


def bleu_score(
    log: AccuracyLog | str | Path, references: Sequence[str], *, tokenize: str = "13a"
) -> BleuResult:
    try:
        import sacrebleu
    except ImportError as exc:
        raise MissingDependencyError("sacrebleu", "accuracy") from exc
    acc_log = log if isinstance(log, AccuracyLog) else read_accuracy_log(log)
    unique = acc_log.unique()
    entries_in_range(unique.values(), len(references), acc_log.path)
    hyps: list[str] = []
    refs: list[str] = []
    for idx in sorted(unique):
        entry = unique[idx]
        try:
            hyps.append(entry.data.decode("utf-8"))
        except UnicodeDecodeError:
            raise DatasetError(f"{acc_log.path}:{entry.line}: payload is not UTF-8 text") from None
        refs.append(references[idx])
    if not hyps:
        raise DatasetError(f"{acc_log.path}: no translations to score")
    metric = sacrebleu.BLEU(tokenize=tokenize)
    score = metric.corpus_score(hyps, [refs])
    return BleuResult(
        bleu=float(score.score),
        signature=str(metric.get_signature()),
        detail=str(score),
        sentences=len(hyps),
        missing=tuple(acc_log.missing(len(references))),
    )
