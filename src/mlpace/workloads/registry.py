"""The task registry: what each benchmark task is, as data.

A task is a model plus a data set plus a quality target plus per-scenario latency bounds (the
dissertation's Figs 4.3, 4.5 and 4.8; today's values from ``mlperf.conf``). Registering one is a
small module in :mod:`mlpace.workloads.tasks` that calls :func:`register`. Task modules are
imported on the first query of the registry, never at import time of this module, so
``import mlpace.workloads.registry`` stays cheap.

Tasks mlpace can *run* carry a :class:`Runnable` (how to build the data set, the model and the
accuracy script); the others are reference data (targets and bounds) for the report and config
tooling.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpace.errors import TaskError

if TYPE_CHECKING:
    from mlpace.workloads.backends.base import ModelArtifact
    from mlpace.workloads.datasets.base import Dataset

__all__ = [
    "ALL_SCENARIOS",
    "AccuracyReport",
    "QualityTarget",
    "Runnable",
    "ScenarioBounds",
    "Task",
    "all_tasks",
    "describe_tasks",
    "get_task",
    "register",
]

ALL_SCENARIOS: tuple[str, ...] = ("SingleStream", "MultiStream", "Server", "Offline")


@dataclass(frozen=True)
class QualityTarget:
    """``fraction`` of the FP32 reference ``reference`` on ``metric`` (e.g. 99 % of 76.456 %)."""

    metric: str  # accuracy-script metric name as the checker calls it: acc, mAP, F1, BLEU, ...
    reference: float  # FP32 reference quality, in ``unit``
    fraction: float  # 0.99 = "99 % of FP32"
    unit: str = "%"
    higher_is_better: bool = True

    @property
    def target(self) -> float:
        """The quality an implementation must reach, in ``unit``."""
        return self.reference * self.fraction

    def met(self, value: float) -> bool:
        return value >= self.target if self.higher_is_better else value <= self.target

    def describe(self) -> str:
        return (
            f"{self.fraction * 100:g}% of FP32 ({self.reference:g}{self.unit}) {self.metric} "
            f"= {self.target:.3f}{self.unit}"
        )


@dataclass(frozen=True)
class ScenarioBounds:
    """Latency bounds and query counts of one task.

    ``*_v05`` values are MLPerf Inference v0.5 (Figs 4.5/4.8); ``server_target_latency_ms`` is
    today's ``<model>.Server.target_latency`` from mlperf.conf (None: the scenario default or not
    given; 0 with ttft/tpot: token latencies instead).
    """

    multistream_arrival_ms_v05: float | None = None
    server_qos_ms_v05: float | None = None
    server_latency_percentile_v05: float | None = None
    # Fig 4.8: queries / samples per query per scenario (v0.5).
    min_queries_v05: Mapping[str, int] = field(default_factory=dict)
    samples_per_query_v05: Mapping[str, int | str] = field(default_factory=dict)
    server_target_latency_ms: float | None = None
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    offline_min_query_count: int | None = None
    performance_sample_count: int | None = None


@dataclass(frozen=True)
class AccuracyReport:
    """What an accuracy script produced: its printed lines and the headline number."""

    text: str  # the accuracy-script output, official line format (e.g. accuracy=..%, good=..)
    value: float  # the metric, in the task's quality unit
    good: int = 0
    total: int = 0


@dataclass(frozen=True)
class Runnable:
    """How mlpace runs a task: data set, model artifact, output encoding and accuracy script.

    * ``make_dataset(dataset_arg, model_metadata)``: ``dataset_arg`` is None (the task's default),
      ``"synthetic"`` or a path.
    * ``make_model(cache_dir, model_path)``: the artifact every backend loads from.
    * ``encode(outputs)``: one payload per row of the backend's output (what the accuracy script
      decodes).
    * ``accuracy(accuracy_json, dataset)``: runs the accuracy script on a LoadGen accuracy log.
    """

    make_dataset: Callable[[str | None, Mapping[str, Any]], Dataset]
    make_model: Callable[[Path, str | None], ModelArtifact]
    encode: Callable[[Any], list[bytes]]
    accuracy: Callable[[Path, Dataset], AccuracyReport]
    backends: tuple[str, ...] = ("numpy", "onnxruntime", "torch")
    default_backend: str = "numpy"
    default_batch_size: int = 32
    # Worker threads of the SUT (None: one per core) and framework threads per worker (None:
    # the framework's default). Small models: many workers, one thread each; big ones: one
    # worker with every core.
    default_workers: int | None = None
    default_threads: int | None = 1
    # Short-profile knobs (per scenario): how much work a short run asks for.
    short_profile: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    name: str  # what the user types: ``mlpace run resnet50``
    area: str  # e.g. "vision: image classification (heavy)"
    model: str  # reference model, e.g. "ResNet-50 v1.5"
    dataset: str  # e.g. "ImageNet (224x224)"
    loadgen_model: str  # model key for mlperf.conf lookups (``resnet50``)
    quality: QualityTarget | None
    bounds: ScenarioBounds = field(default_factory=ScenarioBounds)
    scenarios: tuple[str, ...] = ALL_SCENARIOS
    checker_name: str | None = None  # submission-checker benchmark name (``resnet``)
    preprocessing: str = ""
    parameters: str = ""  # e.g. "25.6M parameters, 8.2 GOPS/input"
    era: str = "current"  # "v0.5", "current" or "mlpace" (our own tasks)
    runnable: Runnable | None = None

    @property
    def results_name(self) -> str:
        """Folder name in the results layout (checker benchmark name when there is one)."""
        return self.checker_name or self.name

    def check_scenario(self, scenario: str) -> None:
        if scenario not in self.scenarios:
            raise TaskError(
                f"task {self.name!r} does not define the {scenario} scenario "
                f"(it has {', '.join(self.scenarios)})"
            )


_TASKS: dict[str, Task] = {}
_lock = threading.Lock()
_loaded = False


def register(task: Task, *, replace: bool = False) -> Task:
    """Add ``task`` to the registry (a task module calls this at its import)."""
    with _lock:
        if task.name in _TASKS and not replace and _TASKS[task.name] != task:
            raise TaskError(f"task {task.name!r} is registered twice")
        _TASKS[task.name] = task
    return task


def _load_task_modules() -> None:
    """Import every module of :mod:`mlpace.workloads.tasks` once (each registers its tasks)."""
    global _loaded
    if _loaded:
        return
    import mlpace.workloads.tasks as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    _loaded = True


def all_tasks() -> tuple[Task, ...]:
    """Every registered task: runnable ones first, then by name."""
    _load_task_modules()
    with _lock:
        tasks = list(_TASKS.values())
    return tuple(sorted(tasks, key=lambda t: (t.runnable is None, t.name)))


def get_task(name: str) -> Task:
    _load_task_modules()
    with _lock:
        task = _TASKS.get(name)
        if task is None:
            # Accept the mlperf.conf model key and the checker name as aliases.
            for t in _TASKS.values():
                if name in (t.loadgen_model, t.checker_name):
                    task = t
                    break
    if task is None:
        known = ", ".join(t.name for t in all_tasks())
        raise TaskError(f"unknown task {name!r}; known tasks: {known}")
    return task


def describe_tasks() -> str:
    """The task/backends listing shown by ``mlpace run --help``."""
    lines = ["runnable tasks (mlpace run TASK):"]
    for t in all_tasks():
        if t.runnable is None:
            continue
        target = t.quality.describe() if t.quality else "no quality target"
        lines.append(f"  {t.name:<14} {t.model} on {t.dataset}; {target}")
        lines.append(
            f"  {'':<14} backends: {', '.join(t.runnable.backends)} "
            f"(default {t.runnable.default_backend}); scenarios: {', '.join(t.scenarios)}"
        )
    others = [t.name for t in all_tasks() if t.runnable is None]
    if others:
        lines.append("reference tasks (targets and bounds only): " + ", ".join(others))
    lines.append(
        "backends: numpy (core), onnxruntime (pip install 'mlpace[onnx]'), "
        "torch (pip install 'mlpace[torch]'; --device cuda when available)"
    )
    lines.append(
        "with no TASK: the embedded default (digits, numpy, all scenarios + accuracy, "
        "short-run profile)"
    )
    return "\n".join(lines)
