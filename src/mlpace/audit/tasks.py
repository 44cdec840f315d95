"""mlpace's own tasks (``mlpace audit TEST01 digits``) as the system under audit.

:class:`TaskTarget` sets a task up once (model, backend, data set, calibration) and then runs
each pass an audit needs in-process, into its own working directory, with the same settings
``mlpace run`` would use: the reference accuracy and performance runs, and the audit runs with
their audit.config applied. Every pass keeps its raw per-sample latencies
(``mlpace_raw_samples.npz``), so the strict verdict gets confidence intervals.

With a :class:`~mlpace.clock.VirtualClock` the backend still computes every answer (so the
accuracy checks see real outputs), but completions are timers on the virtual clock after a
modelled service time (``virtual_service_ns`` per sample): performance is then exact and the
tests that use it are deterministic.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mlpace.audit.logs import write_raw_samples
from mlpace.clock import Clock, VirtualClock
from mlpace.errors import TaskError
from mlpace.loadgen.sut import QuerySample, QuerySampleResponse

__all__ = ["TaskTarget", "VirtualTaskSUT"]

Progress = Callable[[str], None]
# The short profile's counts are what early stopping needs to judge a run; virtual time makes
# the durations free, so a virtual run uses them with a service time of 1 ms per sample.
VIRTUAL_SERVICE_NS = 1_000_000
VIRTUAL_MIN_QUERIES = {"SingleStream": 100, "MultiStream": 662, "Server": 500}


class VirtualTaskSUT:
    """Runs the real backend for every sample; completes on a virtual clock.

    One server, first come first served, ``service_ns`` per sample (a batch of ``k`` samples
    takes ``k * service_ns`` and completes together).
    """

    def __init__(
        self,
        clock: VirtualClock,
        backend: Any,
        get_samples: Callable[[Sequence[int]], Any],
        encode: Callable[[Any], list[bytes]],
        *,
        service_ns: int = VIRTUAL_SERVICE_NS,
        batch_size: int = 32,
        name: str = "mlpace-virtual-task",
    ) -> None:
        self.name = name
        self.clock = clock
        self.backend = backend
        self.get_samples = get_samples
        self.encode = encode
        self.service_ns = service_ns
        self.batch_size = max(1, batch_size)
        self._busy_until = 0
        self._sink: Any = None

    def bind(self, sink: Any) -> None:
        self._sink = sink

    def issue_query_ids(self, ids: Sequence[int], indices: Sequence[int]) -> None:
        for start in range(0, len(ids), self.batch_size):
            chunk_ids = list(ids[start : start + self.batch_size])
            chunk_idx = list(indices[start : start + self.batch_size])
            payloads = self.encode(self.backend.predict(self.get_samples(chunk_idx)))
            begin = max(self.clock.now_ns(), self._busy_until)
            self._busy_until = begin + self.service_ns * len(chunk_ids)
            responses = [QuerySampleResponse(i, p) for i, p in zip(chunk_ids, payloads)]
            self.clock.call_at(self._busy_until, lambda r=responses: self._sink.complete(r))  # type: ignore[misc]

    def issue_queries(self, samples: Sequence[QuerySample]) -> None:
        self.issue_query_ids([s.id for s in samples], [s.index for s in samples])

    def flush_queries(self) -> None:
        return None

    def close(self) -> None:
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class TaskTarget:
    """A registered mlpace task, set up once, run pass by pass."""

    def __init__(
        self,
        task: str,
        *,
        profile: str = "short",
        backend: str | None = None,
        system: str | None = None,
        clock: Clock | None = None,
        overrides: dict[str, Any] | None = None,
        user_conf: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        from mlpace.workloads.datasets.base import DatasetQSL, refuse_synthetic
        from mlpace.workloads.registry import get_task
        from mlpace.workloads.runner import PROFILES, Calibration, RunOptions, calibrate

        say = progress or (lambda _line: None)
        self.task = get_task(task)
        runnable = self.task.runnable
        if runnable is None:
            raise TaskError(f"task {task!r} is reference data only: mlpace cannot run it")
        if profile not in PROFILES:
            raise TaskError(f"unknown profile {profile!r}; choose {', '.join(PROFILES)}")
        self.runnable = runnable
        self.profile = PROFILES[profile]
        name = backend or runnable.default_backend
        name = {"onnx": "onnxruntime", "ort": "onnxruntime", "pytorch": "torch"}.get(name, name)
        if name not in runnable.backends:
            raise TaskError(f"task {task!r} runs on {', '.join(runnable.backends)}, not {name!r}")
        self.clock = clock
        from mlpace.workloads.backends.base import make_backend
        from mlpace.workloads.models.resnet50 import default_cache_dir

        model = runnable.make_model(default_cache_dir(), None)
        self.dataset = runnable.make_dataset(None, model.metadata)
        if model.random_weights or self.dataset.synthetic:
            raise TaskError(
                f"task {task!r} has no real weights or data here; an audit compares real "
                "answers, so it needs both"
            )
        refuse_synthetic(self.dataset, "accuracy")
        self.backend_name = name
        self.backend = make_backend(name, threads=runnable.default_threads)
        self.backend.load(model)
        self.batch_size = runnable.default_batch_size
        self.workers = runnable.default_workers or 1
        self.qsl = DatasetQSL(self.dataset, self.dataset.size)
        self.options = RunOptions(
            task=task,
            backend=name,
            profile=profile,
            overrides=dict(overrides or {}),
            user_conf=user_conf,
        )
        if isinstance(clock, VirtualClock):
            s = VIRTUAL_SERVICE_NS / 1e9
            self.calibration = Calibration(s, 8 * s, self.batch_size * s, self.batch_size, 8, 1)
        else:
            say(f"mlpace audit: calibrating {task} on {name} ...")
            self.calibration = calibrate(
                self.backend,
                self.dataset,
                batch_size=self.batch_size,
                samples_per_query=8,
                workers=self.workers,
            )
        self.system = system or f"mlpace-{name}-cpu"

    @property
    def results_name(self) -> str:
        return self.task.results_name

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(self.task.scenarios)

    def settings(self, scenario: str) -> Any:
        from mlpace.workloads.runner import scenario_settings

        self.task.check_scenario(scenario)
        settings, _warnings = scenario_settings(
            self.task,
            scenario,
            self.profile,
            self.calibration,
            qsl_size=self.dataset.size,
            opts=self.options,
        )
        if isinstance(self.clock, VirtualClock):
            # Virtual time makes durations free but not queries: ask for what early stopping
            # needs to judge a run (64 queries at p90, 662 at p99 MultiStream, 459 Server).
            need = VIRTUAL_MIN_QUERIES.get(scenario, 1)
            settings = dataclasses.replace(
                settings, min_query_count=max(settings.min_query_count, need)
            )
        return settings

    def _sut(self, scenario: str) -> Any:
        from mlpace.workloads.sut import BackendSUT, BatchingPolicy

        if isinstance(self.clock, VirtualClock):
            return VirtualTaskSUT(
                self.clock,
                self.backend,
                self.qsl.get_samples,
                self.runnable.encode,
                batch_size=self.batch_size if scenario == "Offline" else 8,
            )
        wait = 0
        if scenario == "Server":
            wait = int(self.settings(scenario).server_target_latency_ns) // 20
        return BackendSUT(
            self.backend,
            self.qsl.get_samples,
            self.runnable.encode,
            workers=self.workers,
            policy=BatchingPolicy(self.batch_size, wait),
            name=f"mlpace-{self.task.name}-{self.backend_name}",
        )

    def run(self, scenario: str, mode: str, workdir: Path, audit_config: Path | None) -> None:
        """One pass (``mode`` "accuracy" or "performance") into ``workdir``."""
        from mlpace.loadgen.engine import run_test
        from mlpace.loadgen.enums import TestMode
        from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings

        settings = dataclasses.replace(
            self.settings(scenario),
            mode=TestMode.AccuracyOnly if mode == "accuracy" else TestMode.PerformanceOnly,
        )
        log = LogSettings(LogOutputSettings(outdir=str(workdir)), enable_trace=False)
        sut = self._sut(scenario)
        try:
            outcome = run_test(
                sut, self.qsl, settings, log, clock=self.clock, audit_config=audit_config
            )
        finally:
            sut.close()
        final = outcome.performance or outcome.accuracy
        if final is not None:
            write_raw_samples(workdir, final.raw)
        if mode == "accuracy":
            acc_json = workdir / "mlperf_log_accuracy.json"
            report = self.runnable.accuracy(acc_json, self.dataset)
            (workdir / "accuracy.txt").write_text(f"{report.text}\nhash={_sha256(acc_json)}\n")
