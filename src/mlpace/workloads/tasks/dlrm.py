"""dlrm: click-through prediction with a miniature DLRM (mlpace's recommendation task).

Model: the shipped ``dlrm_small.npz`` (trained by ``python -m mlpace.training.export_dlrm``;
embedding bags, dot interaction, bottom and top MLPs) on NumPy (core) or PyTorch. Data: the
generated Criteo-like ``test`` split (16,384 rows with their labels), or a Criteo TSV file
(``--dataset day_23``; categorical values are hashed into the model's tables). Quality: ROC AUC
>= 99 % of the model file's FP32 reference AUC, printed by the DLRM accuracy script's line
(``AUC=..%``). Bounds: mlperf.conf's ``dlrm`` entries (Server 60 ms at p99). Server batches
dynamically (:class:`mlpace.workloads.sut.BatchingPolicy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import DatasetError
from mlpace.workloads.backends.base import ModelArtifact
from mlpace.workloads.datasets.base import Dataset
from mlpace.workloads.registry import (
    AccuracyReport,
    QualityTarget,
    Runnable,
    ScenarioBounds,
    Task,
    register,
)

SERVER_TARGET_LATENCY_MS = 60  # mlperf.conf: dlrm.Server.target_latency
#: The shipped model's AUC on the generated test split (its metadata holds the exact value).
DLRM_FP32_AUC_PERCENT = 75.7087


def _dataset(arg: str | None, metadata: Mapping[str, Any]) -> Dataset:
    from mlpace.workloads.datasets.criteo_synthetic import GeneratedCriteo

    if arg in (None, "generated", "synthetic"):
        n = int(metadata.get("inference_samples", 16_384))
        return GeneratedCriteo(n, split=str(metadata.get("inference_split", "test")))
    from mlpace.workloads.datasets.criteo import CriteoDataset

    sizes = metadata.get("table_sizes")
    return CriteoDataset(Path(arg), table_sizes=None if sizes is None else list(sizes))


def _model(cache_dir: Path, model_path: str | None) -> ModelArtifact:
    from mlpace.workloads.models import dlrm

    spec = dlrm.load_spec(model_path)
    meta = dict(spec.metadata)
    meta["table_sizes"] = list(spec.table_sizes)
    return ModelArtifact(
        name=str(meta.get("name", "dlrm")),
        numpy_forward=lambda: dlrm.numpy_forward(spec),
        torch_module=lambda: dlrm.build_torch(spec),
        source=str(spec.path),
        metadata=meta,
    )


def encode_scores(outputs: Any) -> list[bytes]:
    """One payload per sample: its click probability as little-endian float32."""
    arr = np.asarray(outputs, dtype="<f4").reshape(-1)
    return [v.tobytes() for v in arr]


def _accuracy(path: Path, dataset: Dataset) -> AccuracyReport:
    from mlpace.workloads.accuracy.common import read_accuracy_log, warnings_for
    from mlpace.workloads.accuracy.criteo import criteo_auc

    labels = getattr(dataset, "labels", None)
    if labels is None:
        raise DatasetError(f"dlrm accuracy needs a data set with labels, not {dataset.name!r}")
    log = read_accuracy_log(path)
    result = criteo_auc(log, np.asarray(labels))
    text = "\n".join([*warnings_for(log, dataset.size), result.line])
    return AccuracyReport(text=text, value=100.0 * result.auc, good=result.good, total=result.total)


TASK = register(
    Task(
        name="dlrm",
        area="recommendation: click-through rate (mlpace miniature of DLRM)",
        model="DLRM, dot interaction (26 tables x 16, MLPs 13-64-32-16 / 367-128-64-1)",
        dataset="generated Criteo-like click log, test split (16,384) or a Criteo TSV",
        loadgen_model="dlrm",
        quality=QualityTarget("AUC", DLRM_FP32_AUC_PERCENT, 0.99),
        bounds=ScenarioBounds(
            multistream_arrival_ms_v05=50.0,
            server_target_latency_ms=SERVER_TARGET_LATENCY_MS,
            performance_sample_count=16_384,
        ),
        preprocessing="dense: log(1 + max(x, 0)); categorical: hex value mod table rows",
        parameters="~290k parameters (233k in embedding tables)",
        era="mlpace",
        runnable=Runnable(
            make_dataset=_dataset,
            make_model=_model,
            encode=encode_scores,
            accuracy=_accuracy,
            backends=("numpy", "torch"),
            default_backend="numpy",
            default_batch_size=128,
        ),
    )
)
