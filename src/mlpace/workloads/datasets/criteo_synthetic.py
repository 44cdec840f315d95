"""Seeded click logs with Criteo-like statistics, in the Criteo TSV format (with ground truth).

No Criteo ships with mlpace, and the real one is ~1 TB, so the DLRM workload trains and infers on
a generated stand-in that keeps what makes Criteo hard for a recommender:

* **categorical features**: 26 tables whose cardinalities span three decades (3 .. ~4,000, a
  miniature of the Kaggle set's 3 .. 10M), each drawn from a power law (Zipf exponent
  ``ZIPF_EXPONENT`` over a random category order), so a few values cover most samples and the
  long tail is seen a handful of times;
* **dense features**: 13 heavy-tailed integer counts (log-normal), some negative (clipped by the
  preprocessing) and some missing (an empty field), at per-feature rates;
* **a learnable click model**: ``logit = bias + sum_t a_t[c_t] + sum_(t,u) <v_t[c_t], v_u[c_u]>
  + w . standardize(log1p(dense))``: per-category effects, latent factor *pairwise
  interactions* between chosen tables (what DLRM's dot-product interaction can learn) and a
  dense term; the bias puts the click rate near Criteo's ~25 %. Labels are Bernoulli draws of
  that probability, so even the true model has an AUC well below 1 (:func:`bayes_auc`).

Raw categorical values are 32-bit numbers whose residue modulo the table size is the category
(``h = c + table_size * k`` for a random ``k``): hex strings that look hashed, and that the
Criteo loader's ``value mod table_size`` maps back to the category exactly. So the TSV file
(:func:`write_tsv`) read by :class:`~mlpace.workloads.datasets.criteo.CriteoDataset` and the
arrays from :func:`preprocess` are the same model inputs (tested).

Everything is a function of ``(seed, split)``: training and evaluation data come from the same
hidden click model and differ in their draws.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpace.errors import DatasetError
from mlpace.workloads.datasets.criteo import CATEGORICAL_FEATURES, DENSE_FEATURES

__all__ = [
    "DATA_SEED",
    "TABLE_SIZES",
    "ZIPF_EXPONENT",
    "ClickLog",
    "ClickModel",
    "GeneratedCriteo",
    "bayes_auc",
    "generate",
    "preprocess",
    "tsv_lines",
    "write_tsv",
]

#: The data set's own seed (DLRM's arXiv date), independent of any run seed.
DATA_SEED = 19_060_091
ZIPF_EXPONENT = 1.05
#: Rows of each embedding table = categories of each feature (Kaggle's 26, shrunk by ~x^0.5).
TABLE_SIZES: tuple[int, ...] = (
    38, 24, 3181, 1484, 17, 24, 112, 25, 3, 305,
    75, 2890, 57, 27, 122, 2337, 10, 75, 47, 4,
    2654, 18, 15, 535, 105, 378,
)  # fmt: skip
LATENT_DIM = 4
# Spreads of the hidden click model: chosen so the true model's AUC is ~0.82 and a trained
# DLRM lands near MLPerf's DLRM target (~0.80), as on the real Criteo data.
EFFECT_STD = 0.2
LATENT_STD = 0.4
DENSE_WEIGHT_STD = 0.25
#: Feature pairs whose latent factors interact in the click model (table indices).
INTERACTING_PAIRS: tuple[tuple[int, int], ...] = (
    (2, 3), (2, 11), (3, 15), (11, 20), (15, 20), (9, 23), (0, 2), (12, 25), (4, 16), (6, 14),
)  # fmt: skip
# Per dense feature: log-normal (mu, sigma) of the count, missing rate, negative rate.
_DENSE_MU = (0.5, 3.0, 1.5, 1.5, 8.0, 3.5, 1.0, 2.5, 3.5, 0.2, 1.0, 0.1, 1.5)
_DENSE_SIGMA = (1.0, 1.6, 1.0, 0.9, 1.8, 1.4, 1.2, 1.0, 1.3, 0.5, 0.8, 0.5, 1.0)
_DENSE_MISSING = (0.45, 0.0, 0.21, 0.22, 0.03, 0.22, 0.04, 0.0, 0.04, 0.45, 0.04, 0.77, 0.22)
_DENSE_NEGATIVE = (0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
_TARGET_CTR = 0.25


@dataclass(frozen=True)
class ClickModel:
    """The hidden parameters every split of one data seed shares."""

    popularity: tuple[np.ndarray, ...]  # per table: category probabilities (power law)
    effect: tuple[np.ndarray, ...]  # per table: additive logit of each category
    latent: tuple[np.ndarray, ...]  # per table: [rows, LATENT_DIM] factors
    dense_weight: np.ndarray  # [13] on standardized log1p(dense)
    dense_mean: np.ndarray
    dense_std: np.ndarray
    bias: float

    @classmethod
    def from_seed(cls, seed: int = DATA_SEED) -> ClickModel:
        rng = np.random.default_rng([seed, 0])
        popularity, effect, latent = [], [], []
        for size in TABLE_SIZES:
            p = 1.0 / np.arange(1, size + 1) ** ZIPF_EXPONENT
            popularity.append(p[rng.permutation(size)] / p.sum())
            effect.append(rng.normal(0.0, EFFECT_STD, size))
            latent.append(rng.normal(0.0, LATENT_STD, (size, LATENT_DIM)))
        weight = rng.normal(0.0, DENSE_WEIGHT_STD, DENSE_FEATURES)
        # Standardization constants of log1p(max(count, 0)) under the dense distribution.
        probe, absent = _draw_dense(np.random.default_rng([seed, 1]), 20_000)
        probe[absent] = 0  # the loader reads a missing field as 0
        z = np.log1p(np.maximum(probe, 0))
        model = cls(
            tuple(popularity),
            tuple(effect),
            tuple(latent),
            weight,
            z.mean(axis=0),
            z.std(axis=0) + 1e-6,
            0.0,
        )
        # The bias that puts the mean click probability at the target rate (bisection).
        cats = _draw_categories(model, np.random.default_rng([seed, 2]), 20_000)
        raw_logit = model.logit(cats, probe)
        lo, hi = -10.0, 10.0
        for _ in range(50):
            mid = (lo + hi) / 2
            if np.mean(1 / (1 + np.exp(-(raw_logit + mid)))) < _TARGET_CTR:
                lo = mid
            else:
                hi = mid
        return cls(
            model.popularity,
            model.effect,
            model.latent,
            weight,
            model.dense_mean,
            model.dense_std,
            (lo + hi) / 2,
        )

    def logit(self, categories: np.ndarray, dense_counts: np.ndarray) -> np.ndarray:
        """The true click logit of each row (``categories`` [N, 26], raw counts [N, 13])."""
        out = np.full(categories.shape[0], self.bias)
        for t in range(CATEGORICAL_FEATURES):
            out += self.effect[t][categories[:, t]]
        for t, u in INTERACTING_PAIRS:
            vt = self.latent[t][categories[:, t]]
            vu = self.latent[u][categories[:, u]]
            out += np.einsum("nd,nd->n", vt, vu)
        z = (np.log1p(np.maximum(dense_counts, 0)) - self.dense_mean) / self.dense_std
        out += z @ self.dense_weight
        return out


def _draw_dense(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw dense counts int64 [n, 13] (some -1) and which fields are missing (bool)."""
    out = np.empty((n, DENSE_FEATURES), dtype=np.int64)
    missing = np.empty((n, DENSE_FEATURES), dtype=bool)
    for k in range(DENSE_FEATURES):
        counts = np.floor(rng.lognormal(_DENSE_MU[k], _DENSE_SIGMA[k], n)).astype(np.int64)
        counts[rng.random(n) < _DENSE_NEGATIVE[k]] = -1
        out[:, k] = counts
        missing[:, k] = rng.random(n) < _DENSE_MISSING[k]
    return out, missing


def _draw_categories(model: ClickModel, rng: np.random.Generator, n: int) -> np.ndarray:
    cats = np.empty((n, CATEGORICAL_FEATURES), dtype=np.int64)
    for t, p in enumerate(model.popularity):
        cats[:, t] = rng.choice(p.size, size=n, p=p)
    return cats


@dataclass(frozen=True)
class ClickLog:
    """One generated split, raw (as in the TSV) plus the true click probability."""

    labels: np.ndarray  # int64 [N]
    dense_raw: np.ndarray  # int64 [N, 13]; missing fields are flagged in ``dense_missing``
    dense_missing: np.ndarray  # bool [N, 13]
    sparse_raw: np.ndarray  # uint32 [N, 26]: the hex values
    probability: np.ndarray  # float64 [N]: the true P(click)

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])


_SPLITS = {"train": 1, "eval": 2, "test": 3}


def generate(
    n: int, *, split: str = "train", seed: int = DATA_SEED, model: ClickModel | None = None
) -> ClickLog:
    """``n`` rows of ``split`` (train / eval / test) of the data set of ``seed``."""
    if n <= 0:
        raise DatasetError(f"a generated Criteo split needs a positive size, got {n}")
    if split not in _SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(_SPLITS)}")
    model = model or ClickModel.from_seed(seed)
    rng = np.random.default_rng([seed, 10 + _SPLITS[split], n])
    cats = _draw_categories(model, rng, n)
    dense, missing = _draw_dense(rng, n)
    # A missing count is read as 0 by the loader: the click model sees what the model sees.
    p = 1.0 / (1.0 + np.exp(-model.logit(cats, np.where(missing, 0, dense))))
    labels = (rng.random(n) < p).astype(np.int64)
    sizes = np.asarray(TABLE_SIZES, dtype=np.int64)
    k = rng.integers(0, (2**32 - 1) // sizes, size=(n, CATEGORICAL_FEATURES))
    raw = (cats + sizes * k).astype(np.uint32)
    return ClickLog(labels, dense, missing, raw, p)


def preprocess(
    log: ClickLog, table_sizes: Sequence[int] = TABLE_SIZES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, dense float32 [N, 13], sparse int64 [N, 26]), as the TSV loader makes them."""
    dense = np.log1p(np.where(log.dense_missing, 0, np.maximum(log.dense_raw, 0)))
    sizes = np.asarray(table_sizes, dtype=np.int64)
    sparse = log.sparse_raw.astype(np.int64) % sizes
    return log.labels.copy(), dense.astype(np.float32), sparse


def tsv_lines(log: ClickLog) -> Iterator[str]:
    """The rows in Criteo's TSV layout: label, I1..I13, C1..C26 (8 lowercase hex digits)."""
    for i in range(log.size):
        dense = [
            "" if log.dense_missing[i, k] else str(int(log.dense_raw[i, k]))
            for k in range(DENSE_FEATURES)
        ]
        cats = [f"{int(v):08x}" for v in log.sparse_raw[i]]
        yield "\t".join([str(int(log.labels[i])), *dense, *cats])


def write_tsv(log: ClickLog, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as fh:
        for line in tsv_lines(log):
            fh.write(line + "\n")
    return p


def bayes_auc(log: ClickLog) -> float:
    """AUC of the true click probability: the best any model can score on this split."""
    from mlpace.workloads.accuracy.criteo import roc_auc

    return roc_auc(log.labels, log.probability)


class GeneratedCriteo:
    """A generated split held in memory, as a :class:`Dataset` with ground truth."""

    synthetic = False  # it has labels: accuracy mode is meaningful

    def __init__(
        self, size: int, *, split: str = "eval", seed: int = DATA_SEED, name: str | None = None
    ) -> None:
        self.log = generate(size, split=split, seed=seed)
        self.labels, self.dense, self.sparse = preprocess(self.log)
        self.name = name or f"criteo-generated-{split}"
        self.size = size

    def get_samples(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        idx = np.asarray(indices, dtype=np.intp)
        return {"dense": self.dense[idx], "sparse": self.sparse[idx]}

    def label(self, index: int) -> int:
        return int(self.labels[index])

    def load(self, indices: Sequence[int]) -> None:
        """Generated in memory at construction."""

    def unload(self, indices: Sequence[int]) -> None:
        """Nothing per sample to release."""
