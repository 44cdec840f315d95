"""Train the digits CNN with the harness's fixed seed and write the shared model file.

    python -m mlpace.training.export_digits [--out PATH] [--epochs N] [--seed S]

The file format is the one in docs/architecture.md ("The digits model file"): ``spec`` (a JSON
string in a 0-d array) plus one float32 array per parameter, PyTorch layouts. After writing,
the file is read back and run through an independent NumPy forward pass; its validation
accuracy must equal the torch model's, so a file that would mislead the inference side is
never left behind.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import TrainingError

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "workloads" / "models" / "digits_cnn.npz"
DEFAULT_EPOCHS = 30

# (spec layer, torch module index in proxies.digits.build_model, parameter name prefix)
_LAYERS: tuple[tuple[dict[str, Any], int | None, str | None], ...] = (
    ({"type": "conv2d", "weight": "conv1_weight", "bias": "conv1_bias", "padding": 1}, 0, "conv1"),
    ({"type": "relu"}, None, None),
    ({"type": "maxpool2d", "kernel": 2}, None, None),
    ({"type": "conv2d", "weight": "conv2_weight", "bias": "conv2_bias", "padding": 1}, 3, "conv2"),
    ({"type": "relu"}, None, None),
    ({"type": "maxpool2d", "kernel": 2}, None, None),
    ({"type": "flatten"}, None, None),
    ({"type": "linear", "weight": "fc_weight", "bias": "fc_bias"}, 7, "fc"),
)


def export(
    out: Path = DEFAULT_OUT, *, seed: int | None = None, epochs: int = DEFAULT_EPOCHS
) -> dict[str, Any]:
    """Train, write ``out``, verify it with NumPy; return the spec's metadata."""
    import torch

    from mlpace.training.distributed import SINGLE
    from mlpace.training.proxies import DEFAULT_SEED, DIGITS
    from mlpace.training.proxies.digits import (
        N_IMAGES,
        PIXEL_SCALE,
        SPLIT_DEFINITION,
        DigitsTrainer,
        load_digits_arrays,
        split_indices,
    )

    seed = DEFAULT_SEED if seed is None else seed
    torch.set_num_threads(1)
    hp = DIGITS.resolve()
    trainer = DigitsTrainer(hp, seed=seed, dist=SINGLE)
    trainer.build()
    trainer.load_data()
    history = []
    for epoch in range(1, epochs + 1):
        trainer.train_epoch(epoch)
        history.append(trainer.evaluate())
    accuracy = history[-1]
    if accuracy < DIGITS.quality_target:
        raise TrainingError(
            f"digits export: validation top-1 {accuracy:.4f} is below the target "
            f"{DIGITS.quality_target}; not writing {out}"
        )
    assert trainer.model is not None
    modules = list(trainer.model)
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    layers: list[dict[str, Any]] = []
    for layer, index, prefix in _LAYERS:
        layers.append(dict(layer))
        if index is not None and prefix is not None:
            module = modules[index]
            w_t, b_t = module.weight, module.bias
            assert isinstance(w_t, torch.Tensor) and isinstance(b_t, torch.Tensor)
            weight = w_t.detach().numpy().astype(np.float32)
            bias = b_t.detach().numpy().astype(np.float32)
            arrays[f"{prefix}_weight"] = weight
            arrays[f"{prefix}_bias"] = bias
    train_idx, val_idx = split_indices()
    metadata: dict[str, Any] = {
        "name": "digits_cnn",
        "created_by": "mlpace.training.export_digits",
        "dataset": "sklearn.datasets.load_digits (UCI optical recognition of handwritten digits)",
        "seed": seed,
        "epochs": epochs,
        "hyperparameters": hp,
        "torch_version": torch.__version__,
        "parameters": int(sum(a.size for a in arrays.values())),
        "split": {
            "definition": SPLIT_DEFINITION,
            "num_images": N_IMAGES,
            "num_train": len(train_idx),
            "num_validation": len(val_idx),
            "validation_indices": [int(i) for i in val_idx],
        },
        "validation_accuracy": round(accuracy, 6),
        "fp32_reference_accuracy": round(accuracy, 6),
        "accuracy_history": [round(a, 6) for a in history],
    }
    spec = {
        "input": {"shape": [1, 8, 8], "scale": PIXEL_SCALE},
        "layers": layers,
        "classes": 10,
        "metadata": metadata,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    payload: dict[str, Any] = {"spec": np.array(json.dumps(spec, sort_keys=True)), **arrays}
    np.savez_compressed(tmp, **payload)
    tmp.replace(out)

    # Verify the file as the inference side will read it.
    images, labels = load_digits_arrays()
    logits = numpy_forward(out, images[val_idx])
    np_accuracy = float((logits.argmax(1) == labels[val_idx]).mean())
    if abs(np_accuracy - accuracy) > 1e-9:
        raise TrainingError(
            f"digits export: NumPy forward of {out} gives top-1 {np_accuracy:.4f}, torch gave "
            f"{accuracy:.4f}"
        )
    return metadata


def numpy_forward(path: Path, images: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Logits for raw ``images`` (N, 8, 8) with pixels 0..16, from the file alone."""
    with np.load(path, allow_pickle=False) as npz:
        spec = json.loads(str(npz["spec"]))
        params = {k: np.asarray(npz[k], dtype=np.float64) for k in npz.files if k != "spec"}
    x = np.asarray(images, dtype=np.float64).reshape(-1, *spec["input"]["shape"])
    x = x / spec["input"]["scale"]
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv2d":
            w, b, p = params[layer["weight"]], params[layer["bias"]], int(layer["padding"])
            k = w.shape[2]
            xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
            h, wd = xp.shape[2] - k + 1, xp.shape[3] - k + 1
            cols = np.stack(
                [xp[:, :, i : i + h, j : j + wd] for i in range(k) for j in range(k)], axis=-1
            )  # (N, C, H, W, k*k)
            x = np.einsum("nchwk,ock->nohw", cols, w.reshape(w.shape[0], w.shape[1], k * k))
            x = x + b[None, :, None, None]
        elif kind == "relu":
            x = np.maximum(x, 0.0)
        elif kind == "maxpool2d":
            k = int(layer["kernel"])
            n, c, h, wd = x.shape
            x = (
                x[:, :, : h // k * k, : wd // k * k]
                .reshape(n, c, h // k, k, wd // k, k)
                .max(axis=(3, 5))
            )
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "linear":
            x = x @ params[layer["weight"]].T + params[layer["bias"]]
        else:
            raise TrainingError(f"{path}: unknown layer type {kind!r}")
    logits: np.ndarray[Any, Any] = np.asarray(x)
    return logits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlpace.training.export_digits", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--seed", type=int, default=None, help="default: the harness's fixed seed")
    args = parser.parse_args(argv)
    meta = export(args.out, seed=args.seed, epochs=args.epochs)
    size = args.out.stat().st_size
    print(
        f"wrote {args.out} ({size} bytes): seed {meta['seed']}, {meta['parameters']} parameters, "
        f"validation top-1 {meta['validation_accuracy']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
