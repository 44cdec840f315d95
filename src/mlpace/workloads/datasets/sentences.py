"""English sentences for the sentence-encoder task, tokenized with the model's own tokenizer.

The default set is ``mlpace/workloads/data/sentences.txt`` (307 varied sentences written for
mlpace, one per line). The order is a seeded permutation of the file, so sample indices are
stable across runs. Every sample is padded to the longest sentence of the set, so batches
built from any indices have one shape; mean pooling over the attention mask makes the padding
invisible in the embeddings.

Samples are the packed ``[3, seq]`` int64 arrays of :func:`mlpace.workloads.models.encoder.pack`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from mlpace.errors import DatasetError
from mlpace.workloads.datasets.synthetic import SyntheticDataset, TensorSpec

__all__ = ["SentenceDataset", "SyntheticSentences", "default_sentences", "read_sentences"]


def default_sentences() -> list[str]:
    text = resources.files("mlpace.workloads").joinpath("data/sentences.txt").read_text("utf-8")
    return [s.strip() for s in text.splitlines() if s.strip()]


def read_sentences(path: str | Path) -> list[str]:
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{p}: sentence file not found") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{p}: not UTF-8 text: {exc}") from None
    out = [s.strip() for s in lines if s.strip()]
    if not out:
        raise DatasetError(f"{p}: no sentences")
    return out


class SentenceDataset:
    """Tokenized sentences; ``label(i)`` is the sentence text (the reference embedding is
    computed by the accuracy script from the same tokens)."""

    synthetic = False

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        count: int | None = None,
        seed: int = 0,
        name: str = "sentences",
    ) -> None:
        from mlpace.workloads.models.encoder import pack, tokenize

        sentences = default_sentences() if path is None else read_sentences(path)
        order = np.random.default_rng(seed).permutation(len(sentences))
        chosen = [sentences[int(i)] for i in order]
        if count is not None:
            if count <= 0:
                raise DatasetError(f"sentence count must be positive, got {count}")
            chosen = chosen[:count]
        self.sentences = tuple(chosen)
        self.packed = pack(tokenize(self.sentences))
        self.seq_len = int(self.packed.shape[2])
        self.name = name
        self.size = len(chosen)
        self.source = "packaged sentences.txt" if path is None else str(path)

    @property
    def digest(self) -> str:
        """Identifies the exact token arrays (cache key of the reference embeddings)."""
        return hashlib.sha256(self.packed.tobytes()).hexdigest()[:16]

    def get_samples(self, indices: Sequence[int]) -> np.ndarray:
        return self.packed[np.asarray(indices, dtype=np.intp)]

    def label(self, index: int) -> str:
        return self.sentences[index]

    def load(self, indices: Sequence[int]) -> None:
        """Everything is tokenized at construction (a few hundred short rows)."""

    def unload(self, indices: Sequence[int]) -> None:
        """Nothing per sample to release."""


class SyntheticSentences(SyntheticDataset):
    """Random token ids shaped like the sentence set (performance runs without the text)."""

    def __init__(self, size: int = 512, *, seq_len: int = 32, seed: int = 0) -> None:
        super().__init__(
            "sentences-synthetic",
            size,
            {"": TensorSpec((3, seq_len), "int64", 1000, 30522)},
            seed=seed,
        )
        self.seq_len = seq_len

    def get_samples(self, indices: Sequence[int]) -> np.ndarray:
        batch = super().get_samples(indices)
        assert isinstance(batch, np.ndarray)
        batch[:, 0, 0] = 101  # [CLS]
        batch[:, 1, :] = 1  # every position attended: the worst case for the attention cost
        batch[:, 2, :] = 0
        return batch
