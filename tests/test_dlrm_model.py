"""The DLRM model: interaction by hand, shapes, NumPy = torch, the model file and its checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlpace.errors import BackendError
from mlpace.workloads.datasets.criteo_synthetic import TABLE_SIZES, GeneratedCriteo
from mlpace.workloads.models.dlrm import (
    BOTTOM_MLP,
    EMBEDDING_DIM,
    TOP_MLP,
    DlrmSpec,
    interaction_pairs,
    load_spec,
    numpy_forward,
    numpy_interact,
    random_arrays,
    save_spec,
)


def _spec(tables: tuple[int, ...] = TABLE_SIZES, seed: int = 0) -> DlrmSpec:
    return DlrmSpec(
        table_sizes=tables,
        embedding_dim=EMBEDDING_DIM,
        dense_features=13,
        bottom_mlp=BOTTOM_MLP,
        top_mlp=TOP_MLP,
        arrays=random_arrays(tables, seed=seed),
    )


def test_interaction_against_a_hand_computation() -> None:
    # One sample, D = 2: bottom output x = (1, 2), embeddings e1 = (3, 0), e2 = (-1, 1).
    x = np.array([[1.0, 2.0]])
    e = np.array([[[3.0, 0.0], [-1.0, 1.0]]])
    # Vectors (x, e1, e2); lower triangle row-major: <e1,x> = 3, <e2,x> = 1, <e2,e1> = -3.
    np.testing.assert_array_equal(numpy_interact(x, e), [[1.0, 2.0, 3.0, 1.0, -3.0]])
    rows, cols = interaction_pairs(27)
    assert len(rows) == 351 and (rows > cols).all()
    assert list(zip(rows[:3], cols[:3])) == [(1, 0), (2, 0), (2, 1)]


def test_shapes_and_width() -> None:
    spec = _spec()
    assert spec.interaction_width == 16 + 351
    bottom, top = spec.layer_sizes()
    assert bottom == [13, 64, 32, 16] and top == [367, 128, 64, 1]
    ds = GeneratedCriteo(40, split="test")
    y = numpy_forward(spec)(ds.get_samples(range(40)))
    assert y.shape == (40,) and y.dtype == np.float32
    assert ((y > 0) & (y < 1)).all()


def test_numpy_and_torch_agree() -> None:
    torch = pytest.importorskip("torch")
    from mlpace.workloads.models.dlrm import build_torch

    spec = _spec(seed=3)
    ds = GeneratedCriteo(64, split="test")
    batch = ds.get_samples(range(64))
    expected = numpy_forward(spec)(batch)
    module = build_torch(spec)
    with torch.inference_mode():
        got = module(
            dense=torch.from_numpy(batch["dense"]), sparse=torch.from_numpy(batch["sparse"])
        ).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_interaction_torch_matches_numpy() -> None:
    torch = pytest.importorskip("torch")
    from mlpace.workloads.models.dlrm_torch import interact

    rng = np.random.default_rng(1)
    x, e = rng.normal(size=(5, 4)), rng.normal(size=(5, 3, 4))
    got = interact(torch.from_numpy(x), torch.from_numpy(e)).numpy()
    np.testing.assert_allclose(got, numpy_interact(x, e), atol=1e-12)


def test_model_file_round_trip_and_checks(tmp_path: Path) -> None:
    spec = _spec(tables=(5, 7) + TABLE_SIZES[2:])
    path = save_spec(spec, tmp_path / "m.npz")
    back = load_spec(path)
    assert back.table_sizes == spec.table_sizes and back.parameter_count() == spec.parameter_count()
    broken = dict(spec.arrays)
    broken["top_w1"] = broken["top_w1"][:, :5]
    save_spec(DlrmSpec(**{**spec.__dict__, "arrays": broken}), tmp_path / "bad.npz")
    with pytest.raises(BackendError, match=r"'top_w1' has shape \(64, 5\), expected \(64, 128\)"):
        load_spec(tmp_path / "bad.npz")
    del broken["emb_3"]
    save_spec(DlrmSpec(**{**spec.__dict__, "arrays": broken}), tmp_path / "bad2.npz")
    with pytest.raises(BackendError, match="'emb_3' is missing"):
        load_spec(tmp_path / "bad2.npz")
    with pytest.raises(BackendError, match="missing; write it with"):
        load_spec(tmp_path / "nope.npz")


def test_bad_inputs_are_refused() -> None:
    forward = numpy_forward(_spec())
    ds = GeneratedCriteo(4, split="test")
    batch = ds.get_samples(range(4))
    with pytest.raises(BackendError, match="expected"):
        forward({"dense": batch["dense"][:, :5], "sparse": batch["sparse"]})
    bad = batch["sparse"].copy()
    bad[0, 2] = TABLE_SIZES[2]
    with pytest.raises(BackendError, match="outside its embedding table"):
        forward({"dense": batch["dense"], "sparse": bad})
    with pytest.raises(BackendError, match="takes a batch"):
        forward(batch["dense"])


def test_shipped_model_reaches_its_recorded_auc() -> None:
    from mlpace.workloads.accuracy.criteo import roc_auc

    spec = load_spec()
    meta = spec.metadata
    ds = GeneratedCriteo(int(meta["inference_samples"]), split=str(meta["inference_split"]))
    scores = numpy_forward(spec)(ds.get_samples(range(ds.size)))
    auc = roc_auc(ds.labels, scores)
    assert auc == pytest.approx(float(meta["fp32_reference_accuracy"]), abs=1e-5)
    assert auc > 0.75
