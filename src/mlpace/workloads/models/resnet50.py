"""ResNet-50 v1.5 with seeded random weights, as an ONNX graph and as a torch module.

v1.5 differs from v1 in where a bottleneck downsamples: the stride sits on the 3x3 convolution,
not the first 1x1. Batch norm is folded into the convolution biases (inference form). The weights
are random (seeded, He-initialised): good for performance runs only, and every run that uses them
is flagged. Both forms are built from the same arrays, so they compute the same function.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.workloads.backends.base import ModelArtifact, require

STAGES: tuple[tuple[int, int, int], ...] = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))
EXPANSION = 4
NUM_CLASSES = 1000
INPUT_SHAPE = (3, 224, 224)
ONNX_OPSET = 13
ONNX_IR_VERSION = 8


def default_cache_dir() -> Path:
    """``$MLPACE_CACHE`` or ``~/.cache/mlpace`` (models built once, reused)."""
    env = os.environ.get("MLPACE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mlpace"


def _conv(
    rng: np.random.Generator, out_c: int, in_c: int, k: int, gain: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    std = gain * np.sqrt(2.0 / (in_c * k * k))  # He init keeps activations O(1) through ReLUs
    w = rng.standard_normal((out_c, in_c, k, k), dtype=np.float32) * np.float32(std)
    return w, np.zeros(out_c, dtype=np.float32)


def random_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Every parameter by name (conv ``<name>.w/.b``, fc ``fc.w/.b``)."""
    rng = np.random.default_rng(seed)
    p: dict[str, np.ndarray] = {}
    p["conv1.w"], p["conv1.b"] = _conv(rng, 64, 3, 7)
    in_c = 64
    for si, (width, blocks, _stride) in enumerate(STAGES):
        for bi in range(blocks):
            pre = f"layer{si + 1}.{bi}"
            p[f"{pre}.c1.w"], p[f"{pre}.c1.b"] = _conv(rng, width, in_c, 1)
            p[f"{pre}.c2.w"], p[f"{pre}.c2.b"] = _conv(rng, width, width, 3)
            # Small last conv (like zero-init residual gamma): the residual sum stays bounded.
            p[f"{pre}.c3.w"], p[f"{pre}.c3.b"] = _conv(rng, width * EXPANSION, width, 1, 0.2)
            if bi == 0:
                p[f"{pre}.down.w"], p[f"{pre}.down.b"] = _conv(rng, width * EXPANSION, in_c, 1)
            in_c = width * EXPANSION
    p["fc.w"] = rng.standard_normal((NUM_CLASSES, in_c), dtype=np.float32) * np.float32(
        1 / np.sqrt(in_c)
    )
    p["fc.b"] = np.zeros(NUM_CLASSES, dtype=np.float32)
    return p


def _blocks() -> list[tuple[str, int, bool]]:
    """(prefix, stride, has_downsample) of each bottleneck in order."""
    out = []
    for si, (_w, blocks, stride) in enumerate(STAGES):
        for bi in range(blocks):
            out.append((f"layer{si + 1}.{bi}", stride if bi == 0 else 1, bi == 0))
    return out


def build_onnx(weights: dict[str, np.ndarray], out: str | Path) -> Path:
    onnx = require("onnx", "onnx")
    helper, numpy_helper, tp = onnx.helper, onnx.numpy_helper, onnx.TensorProto
    nodes: list[Any] = []
    counter = [0]

    def fresh() -> str:
        counter[0] += 1
        return f"t{counter[0]}"

    def conv(x: str, name: str, stride: int, relu: bool) -> str:
        w = weights[f"{name}.w"]
        k = int(w.shape[2])
        y = fresh()
        nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}.w", f"{name}.b"],
                [y],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[k // 2] * 4,
            )
        )
        if not relu:
            return y
        z = fresh()
        nodes.append(helper.make_node("Relu", [y], [z]))
        return z

    x = conv("input", "conv1", 2, True)
    y = fresh()
    nodes.append(
        helper.make_node(
            "MaxPool", [x], [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
        )
    )
    x = y
    for pre, stride, down in _blocks():
        h = conv(x, f"{pre}.c1", 1, True)
        h = conv(h, f"{pre}.c2", stride, True)  # v1.5: stride on the 3x3
        h = conv(h, f"{pre}.c3", 1, False)
        sc = conv(x, f"{pre}.down", stride, False) if down else x
        s, r = fresh(), fresh()
        nodes.append(helper.make_node("Add", [h, sc], [s]))
        nodes.append(helper.make_node("Relu", [s], [r]))
        x = r
    g, f = fresh(), fresh()
    nodes.append(helper.make_node("GlobalAveragePool", [x], [g]))
    nodes.append(helper.make_node("Flatten", [g], [f], axis=1))
    nodes.append(helper.make_node("Gemm", [f, "fc.w", "fc.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes,
        "resnet50_v1_5",
        [helper.make_tensor_value_info("input", tp.FLOAT, ["N", *INPUT_SHAPE])],
        [helper.make_tensor_value_info("logits", tp.FLOAT, ["N", NUM_CLASSES])],
        initializer=[numpy_helper.from_array(v, name=k) for k, v in weights.items()],
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], producer_name="mlpace"
    )
    proto.ir_version = ONNX_IR_VERSION
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(proto.SerializeToString())
    tmp.replace(path)  # atomic: a concurrent run never reads half a file
    return path


def build_torch(weights: dict[str, np.ndarray]) -> Any:
    torch = require("torch", "torch")
    nn = torch.nn

    def conv(name: str, stride: int) -> Any:
        w = weights[f"{name}.w"]
        m = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], stride=stride, padding=w.shape[2] // 2)
        m.weight.data = torch.from_numpy(w)
        m.bias.data = torch.from_numpy(weights[f"{name}.b"])
        return m

    class Bottleneck(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, pre: str, stride: int, down: bool) -> None:
            super().__init__()
            self.c1, self.c2, self.c3 = (
                conv(f"{pre}.c1", 1),
                conv(f"{pre}.c2", stride),
                conv(f"{pre}.c3", 1),
            )
            self.down = conv(f"{pre}.down", stride) if down else None

        def forward(self, x: Any) -> Any:
            h = torch.relu(self.c1(x))
            h = torch.relu(self.c2(h))
            h = self.c3(h)
            return torch.relu(h + (self.down(x) if self.down is not None else x))

    fc = nn.Linear(weights["fc.w"].shape[1], NUM_CLASSES)
    fc.weight.data = torch.from_numpy(weights["fc.w"])
    fc.bias.data = torch.from_numpy(weights["fc.b"])
    return nn.Sequential(
        conv("conv1", 2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
        *[Bottleneck(pre, s, d) for pre, s, d in _blocks()],
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        fc,
    ).eval()


def artifact(cache_dir: Path | None = None, *, seed: int = 0) -> ModelArtifact:
    """The random-weight ResNet-50 v1.5; the ONNX file is cached under ``cache_dir``."""
    cache = default_cache_dir() if cache_dir is None else cache_dir
    onnx_file = cache / "models" / f"resnet50_v1.5_random_seed{seed}_opset{ONNX_OPSET}.onnx"

    def onnx_path() -> Path:
        if not onnx_file.is_file():
            build_onnx(random_weights(seed), onnx_file)
        return onnx_file

    return ModelArtifact(
        name="resnet50_v1.5",
        onnx_path=onnx_path,
        torch_module=lambda: build_torch(random_weights(seed)),
        random_weights=True,
        source=f"random weights (seed {seed}); performance only",
    )
