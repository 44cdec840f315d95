"""The digits CNN in three forms, all read from one spec file (docs/architecture.md).

* :func:`numpy_forward` — pure NumPy (im2col convolutions), the core backend;
* :func:`build_onnx` — an ONNX graph written with ``onnx.helper`` from the same arrays;
* :func:`build_torch` — a ``torch.nn.Sequential`` with the same weights.

Inputs are already preprocessed: float32 ``[N, 1, 8, 8]`` pixels divided by ``spec.input.scale``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import BackendError
from mlpace.workloads.datasets.base import Batch

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "digits_cnn.npz"
_LAYER_TYPES = ("conv2d", "relu", "maxpool2d", "flatten", "linear")


@dataclass(frozen=True)
class DigitsSpec:
    """A parsed digits model file."""

    path: Path
    spec: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray]

    @property
    def layers(self) -> list[Mapping[str, Any]]:
        return list(self.spec["layers"])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.spec["input"]["shape"])

    @property
    def scale(self) -> float:
        return float(self.spec["input"].get("scale", 1.0))

    @property
    def metadata(self) -> Mapping[str, Any]:
        return dict(self.spec.get("metadata", {}))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def load_spec(path: str | Path | None = None) -> DigitsSpec:
    """Read and check a digits model file (default: the one shipped in the package)."""
    p = DEFAULT_MODEL_PATH if path is None else Path(path)
    if not p.is_file():
        raise BackendError(
            f"digits model file {p} is missing; write it with "
            "python -m mlpace.training.export_digits"
        )
    try:
        with np.load(p, allow_pickle=False) as z:
            spec = json.loads(str(z["spec"]))
            arrays = {k: np.asarray(z[k], dtype=np.float32) for k in z.files if k != "spec"}
    except (OSError, KeyError, ValueError) as exc:
        raise BackendError(f"{p}: not a digits model file ({exc})") from exc
    for i, layer in enumerate(spec.get("layers", [])):
        kind = layer.get("type")
        if kind not in _LAYER_TYPES:
            raise BackendError(f"{p}: layer {i} has unknown type {kind!r}")
        for key in ("weight", "bias"):
            if key in layer and layer[key] not in arrays:
                raise BackendError(f"{p}: layer {i} names missing array {layer[key]!r}")
    return DigitsSpec(path=p, spec=spec, arrays=arrays)


# ---------------------------------------------------------------------------------- NumPy
def _conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int) -> np.ndarray:
    """Stride-1 convolution, NCHW, as one matrix product over im2col windows."""
    out_c, in_c, k, _ = w.shape
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # N,C,H,W,k,k
    n, _, h, wd = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * wd, in_c * k * k)
    y = cols @ w.reshape(out_c, in_c * k * k).T + b
    return np.ascontiguousarray(y.reshape(n, h, wd, out_c).transpose(0, 3, 1, 2))


def _maxpool2d(x: np.ndarray, k: int) -> np.ndarray:
    n, c, h, w = x.shape
    h2, w2 = h // k, w // k  # floor, as torch's default ceil_mode=False
    x = x[:, :, : h2 * k, : w2 * k]
    return np.asarray(x.reshape(n, c, h2, k, w2, k).max(axis=(3, 5)))


def numpy_forward(model: DigitsSpec) -> Any:
    """A function ``x [N,1,8,8] float32 -> logits [N, classes] float32``."""
    layers = model.layers
    arrays = model.arrays

    def forward(x: Batch) -> np.ndarray:
        if isinstance(x, dict):
            raise BackendError("the digits model takes one input array, not named inputs")
        y = np.asarray(x, dtype=np.float32)
        for layer in layers:
            kind = layer["type"]
            if kind == "conv2d":
                y = _conv2d(
                    y, arrays[layer["weight"]], arrays[layer["bias"]], int(layer.get("padding", 0))
                )
            elif kind == "relu":
                y = np.maximum(y, 0.0)
            elif kind == "maxpool2d":
                y = _maxpool2d(y, int(layer["kernel"]))
            elif kind == "flatten":
                y = y.reshape(y.shape[0], -1)
            else:  # linear
                y = y @ arrays[layer["weight"]].T + arrays[layer["bias"]]
        return y

    return forward


# ---------------------------------------------------------------------------------- ONNX
ONNX_OPSET = 13
ONNX_IR_VERSION = 8  # readable by every onnxruntime >= 1.10


def build_onnx(model: DigitsSpec, out: str | Path) -> Path:
    """Write the spec as an ONNX graph (dynamic batch) to ``out``; returns the path."""
    from mlpace.workloads.backends.base import require

    onnx = require("onnx", "onnx")
    helper, numpy_helper, tp = onnx.helper, onnx.numpy_helper, onnx.TensorProto
    nodes: list[Any] = []
    inits: list[Any] = []
    cur = "input"
    for i, layer in enumerate(model.layers):
        kind = layer["type"]
        out_name = f"t{i}"
        if kind in ("conv2d", "linear"):
            w, b = layer["weight"], layer["bias"]
            inits.append(numpy_helper.from_array(model.arrays[w], name=w))
            inits.append(numpy_helper.from_array(model.arrays[b], name=b))
            if kind == "conv2d":
                k = int(model.arrays[w].shape[2])
                p = int(layer.get("padding", 0))
                nodes.append(
                    helper.make_node(
                        "Conv",
                        [cur, w, b],
                        [out_name],
                        kernel_shape=[k, k],
                        pads=[p, p, p, p],
                        strides=[1, 1],
                    )
                )
            else:
                nodes.append(helper.make_node("Gemm", [cur, w, b], [out_name], transB=1))
        elif kind == "relu":
            nodes.append(helper.make_node("Relu", [cur], [out_name]))
        elif kind == "maxpool2d":
            k = int(layer["kernel"])
            nodes.append(
                helper.make_node("MaxPool", [cur], [out_name], kernel_shape=[k, k], strides=[k, k])
            )
        else:  # flatten
            nodes.append(helper.make_node("Flatten", [cur], [out_name], axis=1))
        cur = out_name
    nodes[-1].output[0] = "logits"
    shape = ["N", *model.input_shape]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("input", tp.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", tp.FLOAT, ["N", int(model.spec["classes"])])],
        initializer=inits,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], producer_name="mlpace"
    )
    proto.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(proto)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    tmp.write_bytes(proto.SerializeToString())
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    return path


# ---------------------------------------------------------------------------------- torch
def build_torch(model: DigitsSpec) -> Any:
    """A ``torch.nn.Sequential`` with the spec's layers and weights (eval mode)."""
    from mlpace.workloads.backends.base import require

    torch = require("torch", "torch")
    nn = torch.nn
    mods: list[Any] = []
    for layer in model.layers:
        kind = layer["type"]
        if kind == "conv2d":
            w = model.arrays[layer["weight"]]
            conv = nn.Conv2d(
                w.shape[1], w.shape[0], w.shape[2], padding=int(layer.get("padding", 0))
            )
            conv.weight.data = torch.from_numpy(w.copy())
            conv.bias.data = torch.from_numpy(model.arrays[layer["bias"]].copy())
            mods.append(conv)
        elif kind == "relu":
            mods.append(nn.ReLU())
        elif kind == "maxpool2d":
            mods.append(nn.MaxPool2d(int(layer["kernel"])))
        elif kind == "flatten":
            mods.append(nn.Flatten())
        else:
            w = model.arrays[layer["weight"]]
            lin = nn.Linear(w.shape[1], w.shape[0])
            lin.weight.data = torch.from_numpy(w.copy())
            lin.bias.data = torch.from_numpy(model.arrays[layer["bias"]].copy())
            mods.append(lin)
    return nn.Sequential(*mods).eval()


def random_spec(path: str | Path, *, seed: int = 0, channels: tuple[int, int] = (8, 16)) -> Path:
    """Write a randomly initialised digits spec (tests, and before training has run)."""
    rng = np.random.default_rng(seed)
    c1, c2 = channels
    arrays = {
        "conv1_weight": rng.normal(0, 0.3, (c1, 1, 3, 3)),
        "conv1_bias": rng.normal(0, 0.1, (c1,)),
        "conv2_weight": rng.normal(0, 0.2, (c2, c1, 3, 3)),
        "conv2_bias": rng.normal(0, 0.1, (c2,)),
        "fc_weight": rng.normal(0, 0.2, (10, c2 * 2 * 2)),
        "fc_bias": rng.normal(0, 0.1, (10,)),
    }
    spec = {
        "input": {"shape": [1, 8, 8], "scale": 16.0},
        "layers": [
            {"type": "conv2d", "weight": "conv1_weight", "bias": "conv1_bias", "padding": 1},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel": 2},
            {"type": "conv2d", "weight": "conv2_weight", "bias": "conv2_bias", "padding": 1},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel": 2},
            {"type": "flatten"},
            {"type": "linear", "weight": "fc_weight", "bias": "fc_bias"},
        ],
        "classes": 10,
        "metadata": {"name": "digits_cnn_random", "seed": seed},
    }
    p = Path(path)
    contents: dict[str, Any] = {k: v.astype(np.float32) for k, v in arrays.items()}
    contents["spec"] = np.array(json.dumps(spec))
    np.savez(str(p), **contents)
    return p
