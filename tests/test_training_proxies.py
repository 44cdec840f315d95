"""Proxy benchmarks: definitions, convergence within budget, the exported digits model file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlpace.errors import TrainingError
from mlpace.training.proxies import BENCHMARKS, DIGITS, NCF, TRANSLATION, get_benchmark

torch = pytest.importorskip("torch")

MODEL_FILE = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "mlpace"
    / "workloads"
    / "models"
    / "digits_cnn.npz"
)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


# ---- definitions ---------------------------------------------------------------------------


def test_registry_names_and_log_names() -> None:
    assert set(BENCHMARKS) == {"digits", "ncf", "translation", "dlrm"}
    for bench in BENCHMARKS.values():
        assert bench.log_name == f"mlpace_{bench.name}"
        assert get_benchmark(bench.log_name) is bench
        assert bench.closed_modifiable <= set(bench.defaults)
        assert "global_batch_size" in bench.closed_modifiable
        assert bench.defaults["global_batch_size"] == bench.reference_batch_size
    assert DIGITS.runs_required == 5 and NCF.runs_required == 10 == TRANSLATION.runs_required
    with pytest.raises(TrainingError, match="unknown training benchmark"):
        get_benchmark("resnet")


def test_linear_lr_scaling_and_world_size_default() -> None:
    hp = DIGITS.resolve(world_size=2)
    assert hp["global_batch_size"] == 64
    assert hp["opt_base_learning_rate"] == pytest.approx(0.1)
    hp = NCF.resolve({"global_batch_size": 4096})
    assert hp["opt_base_learning_rate"] == pytest.approx(0.008)
    # An explicit learning rate wins over the rule.
    hp = DIGITS.resolve({"global_batch_size": 64, "opt_base_learning_rate": 0.07})
    assert hp["opt_base_learning_rate"] == 0.07


def test_closed_division_rejects_fixed_hyperparameters() -> None:
    with pytest.raises(TrainingError, match="closed division does not allow changing"):
        DIGITS.resolve({"opt_sgd_momentum": 0.5})
    assert DIGITS.resolve({"opt_sgd_momentum": 0.5}, division="open")["opt_sgd_momentum"] == 0.5
    # Restating a fixed value is fine (what a borrowed log does).
    DIGITS.resolve({"opt_sgd_momentum": 0.9})
    with pytest.raises(TrainingError, match="unknown hyperparameter"):
        DIGITS.resolve({"dropout": 0.1})
    with pytest.raises(TrainingError, match="must be one of"):
        NCF.resolve({"opt_name": "sgd"})
    with pytest.raises(TrainingError, match="gradient_accumulation_steps must be 1"):
        DIGITS.resolve({"gradient_accumulation_steps": 2}, division="open")
    with pytest.raises(TrainingError, match="does not split evenly"):
        DIGITS.resolve({"global_batch_size": 33}, world_size=2)


# ---- convergence ---------------------------------------------------------------------------


def _train_to_target(
    name: str, seed: int, overrides: dict[str, Any] | None = None
) -> tuple[int, float, float]:
    from mlpace.training.distributed import SINGLE

    bench = get_benchmark(name)
    hp = bench.resolve(overrides)
    trainer = bench.load_trainer_class()(hp, seed=seed, dist=SINGLE)
    trainer.build()
    t0 = time.perf_counter()
    trainer.load_data()
    value = float("nan")
    for epoch in range(1, bench.max_epochs + 1):
        trainer.train_epoch(epoch)
        value = trainer.evaluate()
        if bench.target_reached(value):
            return epoch, value, time.perf_counter() - t0
    pytest.fail(f"{name} seed {seed} missed its target: last {value}")


def test_digits_reaches_target_fast() -> None:
    epochs, value, seconds = _train_to_target("digits", seed=0)
    assert value >= DIGITS.quality_target
    assert seconds < DIGITS.max_time_s
    assert epochs <= 20


def test_ncf_reaches_target_within_budget() -> None:
    _, value, seconds = _train_to_target("ncf", seed=0)
    assert value >= NCF.quality_target and seconds < NCF.max_time_s


def test_ncf_lazy_adam_reaches_target() -> None:
    _, value, seconds = _train_to_target("ncf", 1, {"opt_name": "lazy_adam"})
    assert value >= NCF.quality_target and seconds < NCF.max_time_s


def test_translation_reaches_target_within_budget() -> None:
    _, value, seconds = _train_to_target("translation", seed=0)
    assert value >= TRANSLATION.quality_target and seconds < TRANSLATION.max_time_s


# ---- synthetic data sets -------------------------------------------------------------------


def test_ncf_data_is_fixed_and_movielens_like() -> None:
    from mlpace.training.proxies.ncf import N_ITEMS, N_USERS, generate_data

    a, b = generate_data(), generate_data()
    assert np.array_equal(a.train_items, b.train_items)
    assert np.array_equal(a.eval_negatives, b.eval_negatives)
    assert len(a.train_users) == NCF.train_samples
    per_user = np.bincount(a.train_users, minlength=N_USERS) + 1
    assert per_user.min() >= 20  # MovieLens-20M guarantees 20 ratings per user
    assert per_user.max() > 4 * np.median(per_user)  # activity skew
    per_item = np.sort(np.bincount(a.train_items, minlength=N_ITEMS))[::-1]
    top_decile = per_item[: N_ITEMS // 10].sum() / per_item.sum()
    assert top_decile > 0.3  # popularity long tail
    for u in range(0, N_USERS, 97):  # eval negatives never include a user's own items
        seen = set(a.train_items[a.train_users == u]) | {int(a.test_items[u])}
        assert not seen & set(a.eval_negatives[u].tolist())


def test_translation_language_reorders() -> None:
    from mlpace.training.proxies.translation import generate_pairs

    sources, targets = generate_pairs(50)
    assert generate_pairs(50) == (sources, targets)
    for s, t in zip(sources, targets):
        assert len(s) == len(t)
        verb_pos = next(i for i, w in enumerate(s) if w.startswith("v"))
        assert 0 < verb_pos < len(s) - 2  # SVO source; the target puts the verb last


# ---- the exported digits model -------------------------------------------------------------


def _reference_forward(npz: Any, images: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A deliberately naive NumPy reading of the docs/architecture.md format."""
    spec = json.loads(str(npz["spec"]))
    x = images.reshape(-1, *spec["input"]["shape"]).astype(np.float64) / spec["input"]["scale"]
    for layer in spec["layers"]:
        if layer["type"] == "conv2d":
            w = npz[layer["weight"]].astype(np.float64)
            b = npz[layer["bias"]].astype(np.float64)
            p = layer["padding"]
            xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
            k = w.shape[2]
            h, wd = xp.shape[2] - k + 1, xp.shape[3] - k + 1
            out = np.zeros((x.shape[0], w.shape[0], h, wd))
            for i in range(h):
                for j in range(wd):
                    patch = xp[:, :, i : i + k, j : j + k]
                    out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
            x = out
        elif layer["type"] == "relu":
            x = np.maximum(x, 0)
        elif layer["type"] == "maxpool2d":
            k = layer["kernel"]
            n, c, h, wd = x.shape
            x = x.reshape(n, c, h // k, k, wd // k, k).max(axis=(3, 5))
        elif layer["type"] == "flatten":
            x = x.reshape(len(x), -1)
        elif layer["type"] == "linear":
            x = x @ npz[layer["weight"]].astype(np.float64).T + npz[layer["bias"]]
        else:
            raise AssertionError(layer)
    logits: np.ndarray[Any, Any] = np.asarray(x)
    return logits


def test_committed_digits_model_matches_its_spec_and_torch() -> None:
    from mlpace.training.proxies.digits import build_model, load_digits_arrays, split_indices

    assert MODEL_FILE.stat().st_size < 20_000
    with np.load(MODEL_FILE, allow_pickle=False) as npz:
        spec = json.loads(str(npz["spec"]))
        assert spec["input"] == {"shape": [1, 8, 8], "scale": 16.0}
        assert spec["classes"] == 10
        meta = spec["metadata"]
        assert meta["seed"] == 0
        assert meta["fp32_reference_accuracy"] >= 0.97
        _, val = split_indices()
        assert meta["split"]["validation_indices"] == val.tolist()
        images, labels = load_digits_arrays()
        logits_np = _reference_forward(npz, images[val])
        # Load the same weights into the torch model and compare outputs.
        model = build_model()
        names = ["conv1", "conv2", "fc"]
        layers = [model[0], model[3], model[7]]
        with torch.no_grad():
            for prefix, layer in zip(names, layers):
                weight, bias = layer.weight, layer.bias
                assert isinstance(weight, torch.Tensor) and isinstance(bias, torch.Tensor)
                weight.copy_(torch.from_numpy(npz[f"{prefix}_weight"]))
                bias.copy_(torch.from_numpy(npz[f"{prefix}_bias"]))
            x = torch.from_numpy(images[val] / 16.0).unsqueeze(1).float()
            logits_torch = model(x).numpy()
    assert np.abs(logits_np - logits_torch).max() < 1e-4
    accuracy = float((logits_np.argmax(1) == labels[val]).mean())
    assert accuracy == pytest.approx(meta["fp32_reference_accuracy"], abs=1e-6)


def test_export_round_trip(tmp_path: Path) -> None:
    from mlpace.training.export_digits import export, numpy_forward
    from mlpace.training.proxies.digits import load_digits_arrays, split_indices

    out = tmp_path / "digits.npz"
    meta = export(out, epochs=11)
    assert meta["validation_accuracy"] >= 0.97
    images, labels = load_digits_arrays()
    _, val = split_indices()
    with np.load(out, allow_pickle=False) as npz:
        ref = _reference_forward(npz, images[val])
    assert np.abs(numpy_forward(out, images[val]) - ref).max() < 1e-9
    assert float((ref.argmax(1) == labels[val]).mean()) == pytest.approx(
        meta["validation_accuracy"], abs=1e-6
    )


def test_export_refuses_an_undertrained_model(tmp_path: Path) -> None:
    from mlpace.training.export_digits import export

    with pytest.raises(TrainingError, match="below the target"):
        export(tmp_path / "bad.npz", epochs=1)
    assert not (tmp_path / "bad.npz").exists()
