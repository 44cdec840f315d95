"""digits: the embedded default task (a small CNN on the real scikit-learn digits)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlpace.errors import DatasetError
from mlpace.workloads.backends.base import ModelArtifact
from mlpace.workloads.datasets.base import Dataset
from mlpace.workloads.registry import (
    QualityTarget,
    Runnable,
    ScenarioBounds,
    Task,
    register,
)
from mlpace.workloads.tasks._common import classification_accuracy, encode_top1

# The FP32 reference top-1 of the shipped model file (metadata.fp32_reference_accuracy); the
# runner re-reads it from the model file actually used.
DIGITS_FP32_TOP1_PERCENT = 98.6111


def _dataset(arg: str | None, metadata: Mapping[str, Any]) -> Dataset:
    from mlpace.workloads.datasets.digits import DigitsDataset

    scale = float(metadata.get("input_scale", 16.0))
    if arg is None or arg in ("digits", "real"):
        return DigitsDataset.from_metadata(metadata, scale=scale)
    if arg == "synthetic":
        from mlpace.workloads.datasets.synthetic import SyntheticDataset, TensorSpec

        spec = TensorSpec((1, 8, 8), "float32", 0.0, 1.0)
        return SyntheticDataset("digits-synthetic", 1024, {"": spec})
    raise DatasetError(
        f"the digits task reads its data from scikit-learn; --dataset {arg!r} is not a choice "
        "(use no --dataset, or 'synthetic')"
    )


def _model(cache_dir: Path, model_path: str | None) -> ModelArtifact:
    from mlpace.workloads.models import digits as m

    spec = m.load_spec(model_path)
    onnx_file = cache_dir / "models" / f"digits_cnn_{spec.sha256[:16]}.onnx"

    def onnx_path() -> Path:
        if not onnx_file.is_file():
            m.build_onnx(spec, onnx_file)
        return onnx_file

    meta = dict(spec.metadata)
    meta["input_scale"] = spec.scale
    return ModelArtifact(
        name="digits_cnn",
        numpy_forward=lambda: m.numpy_forward(spec),
        onnx_path=onnx_path,
        torch_module=lambda: m.build_torch(spec),
        source=str(spec.path),
        metadata=meta,
    )


TASK = register(
    Task(
        name="digits",
        area="vision: handwritten digit classification (embedded default)",
        model="digits CNN (1.9k parameters, trained by mlpace)",
        dataset="scikit-learn digits, 8x8 (validation split of 360)",
        loadgen_model="digits",
        quality=QualityTarget("acc", DIGITS_FP32_TOP1_PERCENT, 0.99),
        bounds=ScenarioBounds(
            multistream_arrival_ms_v05=50.0,
            server_qos_ms_v05=10.0,
            server_target_latency_ms=10.0,
        ),
        preprocessing="pixels / 16 (0..16 -> 0..1), float32 NCHW [N, 1, 8, 8]",
        parameters="1,898 parameters",
        era="mlpace",
        runnable=Runnable(
            make_dataset=_dataset,
            make_model=_model,
            encode=encode_top1,
            accuracy=classification_accuracy,
            default_batch_size=32,
        ),
    )
)
