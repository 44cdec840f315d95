"""Backends: the NumPy forward of the digits spec equals torch and ONNX Runtime; clear errors."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlpace.errors import BackendError, MissingDependencyError, TaskError
from mlpace.workloads.backends import ModelArtifact, make_backend
from mlpace.workloads.models import digits as dm


@pytest.fixture(scope="module")
def random_model(tmp_path_factory: pytest.TempPathFactory) -> dm.DigitsSpec:
    path = dm.random_spec(tmp_path_factory.mktemp("spec") / "random.npz", seed=3)
    return dm.load_spec(path)


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 17, size=(37, 1, 8, 8)).astype(np.float32) / 16.0


def _artifact(model: dm.DigitsSpec, tmp: Path) -> ModelArtifact:
    return ModelArtifact(
        name="digits",
        numpy_forward=lambda: dm.numpy_forward(model),
        onnx_path=lambda: dm.build_onnx(model, tmp / "digits.onnx"),
        torch_module=lambda: dm.build_torch(model),
    )


def test_numpy_forward_shape_and_reference(random_model: dm.DigitsSpec, batch: np.ndarray) -> None:
    out = dm.numpy_forward(random_model)(batch)
    assert out.shape == (37, 10) and out.dtype == np.float32
    # Independent naive reference for the first conv + relu + pool at one position.
    w, b = random_model.arrays["conv1_weight"], random_model.arrays["conv1_bias"]
    x = np.pad(batch[0, 0], 1)
    conv = np.array(
        [[np.sum(x[i : i + 3, j : j + 3] * w[0, 0]) + b[0] for j in range(8)] for i in range(8)]
    )
    pooled = np.maximum(conv, 0)[:2, :2].max()
    y = dm._maxpool2d(np.maximum(dm._conv2d(batch[:1], w, b, 1), 0), 2)
    assert y[0, 0, 0, 0] == pytest.approx(pooled, abs=1e-5)


@pytest.mark.parametrize("backend_name", ["onnxruntime", "torch"])
def test_backends_match_numpy(
    random_model: dm.DigitsSpec, batch: np.ndarray, tmp_path: Path, backend_name: str
) -> None:
    pytest.importorskip("onnxruntime" if backend_name == "onnxruntime" else "torch")
    if backend_name == "onnxruntime":
        pytest.importorskip("onnx")
    art = _artifact(random_model, tmp_path)
    ref = make_backend("numpy", threads=1)
    ref.load(art)
    other = make_backend(backend_name, threads=1)
    other.load(art)
    diff = np.abs(ref.predict(batch) - other.predict(batch)).max()
    assert diff < 1e-4
    info = other.describe()
    assert info["backend"] == backend_name and "intra_op_threads" in info


def test_shipped_model_accuracy_on_validation_split() -> None:
    from mlpace.workloads.datasets.digits import DigitsDataset

    model = dm.load_spec()
    ds = DigitsDataset.from_metadata(model.metadata, scale=model.scale)
    assert ds.size == len(model.metadata["split"]["validation_indices"])
    pred = dm.numpy_forward(model)(ds.get_samples(range(ds.size))).argmax(axis=1)
    acc = float((pred == ds.labels).mean())
    assert acc == pytest.approx(float(model.metadata["fp32_reference_accuracy"]), abs=1e-4)


def test_unknown_backend_and_missing_forms(random_model: dm.DigitsSpec) -> None:
    with pytest.raises(TaskError, match="unknown backend"):
        make_backend("tensorflow")
    with pytest.raises(BackendError, match="no NumPy implementation"):
        make_backend("numpy").load(ModelArtifact(name="onnx-only"))
    with pytest.raises(BackendError, match="only supported by the torch backend"):
        make_backend("numpy", device="cuda")


def test_missing_optional_dependency_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, random_model: dm.DigitsSpec, tmp_path: Path
) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.delitem(__import__("sys").modules, "onnxruntime", raising=False)
    with pytest.raises(MissingDependencyError) as info:
        make_backend("onnxruntime").load(_artifact(random_model, tmp_path))
    assert info.value.extra == "onnx"
    assert "pip install 'mlpace[onnx]'" in str(info.value)


def test_bad_model_file(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="is missing"):
        dm.load_spec(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(BackendError, match="not a digits model file"):
        dm.load_spec(bad)
