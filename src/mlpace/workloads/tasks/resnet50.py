"""resnet50: image classification (heavy), ResNet-50 v1.5 on ImageNet (Figs 4.3/4.5/4.8)."""

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
from mlpace.workloads.tasks._common import (
    V05_SAMPLES_PER_QUERY,
    V05_VISION_QUERIES,
    classification_accuracy,
    encode_top1,
)

IMAGENET_VAL_SIZE = 50_000


def _dataset(arg: str | None, metadata: Mapping[str, Any]) -> Dataset:
    if arg in (None, "synthetic"):
        from mlpace.workloads.datasets.synthetic import synthetic_imagenet

        # No ImageNet ships with mlpace; without a path the run is synthetic (performance only).
        return synthetic_imagenet(1024)
    from mlpace.workloads.datasets.imagenet import ImageNetDataset

    return ImageNetDataset(Path(arg))


def _model(cache_dir: Path, model_path: str | None) -> ModelArtifact:
    from mlpace.workloads.models import resnet50

    if model_path is not None:
        path = Path(model_path)
        if not path.is_file():
            raise DatasetError(f"--model-path {path} does not exist")
        return ModelArtifact(name=path.stem, onnx_path=lambda: path, source=str(path))
    return resnet50.artifact(cache_dir)


TASK = register(
    Task(
        name="resnet50",
        area="vision: image classification (heavy)",
        model="ResNet-50 v1.5",
        dataset="ImageNet (224x224)",
        loadgen_model="resnet50",
        checker_name="resnet",
        quality=QualityTarget("acc", 76.456, 0.99),
        bounds=ScenarioBounds(
            multistream_arrival_ms_v05=50.0,
            server_qos_ms_v05=15.0,
            server_latency_percentile_v05=0.99,
            min_queries_v05=V05_VISION_QUERIES,
            samples_per_query_v05=V05_SAMPLES_PER_QUERY,
            server_target_latency_ms=15.0,
            offline_min_query_count=24_576,
            performance_sample_count=1024,
        ),
        preprocessing="resize 256, center crop 224, mean/std normalise, NCHW float32",
        parameters="25.6M parameters, 8.2 GOPS/input",
        era="v0.5",
        runnable=Runnable(
            make_dataset=_dataset,
            make_model=_model,
            encode=encode_top1,
            accuracy=classification_accuracy,
            backends=("onnxruntime", "torch"),
            default_backend="onnxruntime",
            default_batch_size=8,
            default_workers=1,
            default_threads=None,
            # ~4-10 images/s on 2 cores: 10 s gives an Offline query of a few dozen images.
            short_profile={"Offline": {"min_duration_ms": 10_000}},
        ),
    )
)
