"""The generated Criteo-like click logs: the real TSV format, the statistics, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlpace.errors import DatasetError
from mlpace.workloads.datasets.criteo import CriteoDataset, read_criteo
from mlpace.workloads.datasets.criteo_synthetic import (
    TABLE_SIZES,
    ClickModel,
    GeneratedCriteo,
    bayes_auc,
    generate,
    preprocess,
    tsv_lines,
    write_tsv,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "dlrm" / "criteo_day_23_tiny.tsv"


def test_tsv_round_trip_equals_the_arrays(tmp_path: Path) -> None:
    log = generate(300, split="eval")
    path = write_tsv(log, tmp_path / "day_0")
    ds = CriteoDataset(path, table_sizes=TABLE_SIZES)
    labels, dense, sparse = preprocess(log)
    assert ds.size == 300
    np.testing.assert_array_equal(ds.labels, labels)
    np.testing.assert_array_equal(ds.sparse, sparse)
    np.testing.assert_allclose(ds.dense, dense, rtol=1e-6)
    # Missing dense fields are empty, categorical values are 8 hex digits, 40 fields a line.
    line = next(tsv_lines(log))
    fields = line.split("\t")
    assert len(fields) == 40 and all(len(f) == 8 for f in fields[14:])
    assert any(f == "" for row in tsv_lines(log) for f in row.split("\t")[1:14])


def test_fixture_is_the_generator_output_in_criteo_format() -> None:
    labels, dense, sparse = read_criteo(FIXTURE, table_sizes=TABLE_SIZES)
    exp_labels, exp_dense, exp_sparse = preprocess(generate(64, split="test"))
    np.testing.assert_array_equal(labels, exp_labels)
    np.testing.assert_array_equal(sparse, exp_sparse)
    np.testing.assert_allclose(dense, exp_dense, rtol=1e-6)
    assert (sparse < np.asarray(TABLE_SIZES)).all() and (sparse >= 0).all()


def test_criteo_like_statistics() -> None:
    model = ClickModel.from_seed()
    log = generate(20_000, split="train", model=model)
    ctr = log.labels.mean()
    assert 0.22 < ctr < 0.28  # Criteo's click rate is ~25 %
    labels, dense, sparse = preprocess(log)
    # Power law: in the biggest table the 1 % most frequent categories hold most samples.
    big = int(np.argmax(TABLE_SIZES))
    counts = np.sort(np.bincount(sparse[:, big], minlength=TABLE_SIZES[big]))[::-1]
    assert counts[: TABLE_SIZES[big] // 100].sum() > 0.4 * len(labels)
    assert (counts == 0).sum() > 0.2 * TABLE_SIZES[big]  # a long tail never seen at all
    # Dense: heavy tails, clipped negatives and missing fields become 0 after log1p.
    assert (dense >= 0).all() and dense.max() > 8.0
    assert (log.dense_missing.mean(axis=0) > 0.3).sum() >= 2
    # Learnable but not trivial: the true model's AUC is high, far from 1.
    assert 0.8 < bayes_auc(log) < 0.87


def test_deterministic_and_splits_differ() -> None:
    a, b = generate(500, split="eval"), generate(500, split="eval")
    np.testing.assert_array_equal(a.sparse_raw, b.sparse_raw)
    np.testing.assert_array_equal(a.labels, b.labels)
    c = generate(500, split="test")
    assert not np.array_equal(a.sparse_raw, c.sparse_raw)
    d = generate(500, split="eval", seed=5)
    assert not np.array_equal(a.labels, d.labels)


def test_generated_dataset_contract() -> None:
    ds = GeneratedCriteo(100, split="test")
    assert ds.synthetic is False and ds.size == 100
    batch = ds.get_samples([3, 1])
    assert batch["dense"].shape == (2, 13) and batch["dense"].dtype == np.float32
    assert batch["sparse"].shape == (2, 26) and batch["sparse"].dtype == np.int64
    assert ds.label(3) in (0, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n": 0}, "positive size"), ({"n": 5, "split": "day_24"}, "unknown split 'day_24'")],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        generate(**kwargs)  # type: ignore[arg-type]
