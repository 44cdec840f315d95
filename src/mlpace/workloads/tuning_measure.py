"""Measuring one thread setting with the LoadGen, in this process.

:class:`LoadGenMeasurer` loads the task's model and data once, then for each point builds (and
keeps) a backend with the point's intra-op threads and inter-op pools, and runs one LoadGen pass
through a :class:`~mlpace.workloads.sut.BackendSUT` with the point's workers and batch size:

* **Offline**: a performance pass of ``pass_ms``; the figure is the LoadGen's samples per
  second.
* **Server**: a FindPeakPerformance search with probes of ``pass_ms``; the figure is the highest
  target QPS whose probe met the latency bound (0 when none did).

Process-wide knobs are set before every pass, so points never inherit each other's settings:
PyTorch's intra-op thread count (one per process) and the BLAS thread limit of the NumPy
backend. PyTorch's inter-op pool can be sized once per process only; eager modules do not use
it, and the grid treats their graph as narrow.

Every pass writes its LoadGen logs (trace off) under ``log_root/<point>/rep_<n>/``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mlpace.errors import BackendError, MlpaceError, TaskError
from mlpace.workloads.backends.base import Backend, ModelArtifact, make_backend
from mlpace.workloads.datasets.base import Dataset, DatasetQSL
from mlpace.workloads.registry import Runnable, Task, get_task
from mlpace.workloads.tuning_grid import INTER_OP_BACKENDS, ThreadPoint

__all__ = ["LoadGenMeasurer", "onnx_graph_width"]

Say = Callable[[str], None]
HEAVY_OPS = frozenset(
    {"MatMul", "Gemm", "Conv", "ConvTranspose", "MatMulInteger", "QLinearMatMul", "QLinearConv"}
    | {"Einsum", "FusedMatMul", "Attention", "MultiHeadAttention", "LSTM", "GRU", "RNN"}
)


def onnx_graph_width(path: Path) -> int:
    """The most compute-heavy operators (MatMul, Conv, ...) that could run at once: the largest
    count at one depth of the graph (depth = longest path from the inputs). 1 for a chain; 3
    for attention's Q, K, V projections. 1 when the onnx package is missing."""
    try:
        import onnx
    except ImportError:
        return 1
    graph = onnx.load(str(path), load_external_data=False).graph
    depth_of: dict[str, int] = {}  # tensor name -> depth of the node producing it
    heavy_at: dict[int, int] = {}
    for node in graph.node:  # ONNX stores nodes in topological order
        depth = 1 + max((depth_of.get(name, 0) for name in node.input if name), default=0)
        for name in node.output:
            depth_of[name] = depth
        if node.op_type in HEAVY_OPS:
            heavy_at[depth] = heavy_at.get(depth, 0) + 1
    return max(heavy_at.values(), default=1)


class LoadGenMeasurer:
    """``measurer(point)`` -> one throughput figure of ``task`` on ``backend``."""

    def __init__(
        self,
        task: str,
        backend: str,
        scenario: str,
        *,
        log_root: Path,
        pass_ms: int = 1500,
        dataset: str | None = None,
        model_path: str | None = None,
        cache_dir: Path | None = None,
        say: Say | None = None,
    ) -> None:
        from mlpace.workloads.models.resnet50 import default_cache_dir

        if scenario not in ("Offline", "Server"):
            raise TaskError(f"tune-threads measures Offline or Server, not {scenario!r}")
        self.task: Task = get_task(task)
        if self.task.runnable is None:
            raise TaskError(f"task {self.task.name!r} is reference data only (no model ships)")
        self.runnable: Runnable = self.task.runnable
        if backend not in self.runnable.backends:
            raise TaskError(
                f"task {self.task.name!r} runs on {', '.join(self.runnable.backends)}, "
                f"not {backend!r}"
            )
        self.task.check_scenario(scenario)
        self.backend_name = backend
        self.scenario = scenario
        self.pass_ms = pass_ms
        self.log_root = log_root
        self.say = say or (lambda _line: None)
        model = self.runnable.make_model(cache_dir or default_cache_dir(), model_path)
        if model.torch_module is not None:
            # One module for every torch backend of the sweep (building it is the slow part;
            # the thread settings are process-wide and set around each pass anyway).
            model = dataclasses.replace(model, torch_module=functools.cache(model.torch_module))
        self.model: ModelArtifact = model
        self.dataset: Dataset = self.runnable.make_dataset(dataset, self.model.metadata)
        self.qsl = DatasetQSL(self.dataset, self.dataset.size)
        self._backends: dict[tuple[int | None, int | None], Backend] = {}
        self._reps: dict[tuple[int | None, int | None, int, int], int] = {}
        self._torch_default_threads: int | None = None
        self._rates: dict[tuple[int | None, int | None, int, int], float] = {}

    # ------------------------------------------------------------------ facts for the grid
    @property
    def metric(self) -> str:
        return "samples/s" if self.scenario == "Offline" else "peak QPS"

    @property
    def largest_batch(self) -> int:
        return self.dataset.size

    def graph_width(self) -> int:
        """The graph's width on backends with inter-op pools (else 1: operators in order)."""
        if self.backend_name not in INTER_OP_BACKENDS or self.model.onnx_path is None:
            return 1
        return onnx_graph_width(self.model.onnx_path())

    # ------------------------------------------------------------------ measuring
    def prepare(self, point: ThreadPoint) -> None:
        """Build and load the point's backend (the sweep keeps this out of a pass's cost)."""
        self._backend(point)

    def _backend(self, point: ThreadPoint) -> Backend:
        key = (point.intra, point.pools)
        found = self._backends.get(key)
        if found is not None:
            return found
        threads = point.intra if self.backend_name != "numpy" else None
        backend = make_backend(
            self.backend_name, threads=threads, **point.backend_options(self.backend_name)
        )
        try:
            backend.load(self.model)
        except MlpaceError:
            raise
        except (OSError, RuntimeError, ValueError) as exc:
            raise BackendError(
                f"{self.backend_name} cannot load {self.model.name}: {exc}"
            ) from None
        self._backends[key] = backend
        return backend

    @contextlib.contextmanager
    def _process_knobs(self, point: ThreadPoint) -> Iterator[None]:
        """The point's process-wide thread settings, for the length of one pass."""
        if self.backend_name == "torch":
            import torch

            if self._torch_default_threads is None:
                self._torch_default_threads = int(torch.get_num_threads())
            torch.set_num_threads(point.intra or self._torch_default_threads)
            yield
        elif self.backend_name == "numpy" and point.intra is not None:
            try:
                from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
            except ImportError:  # no way to cap BLAS threads: the point runs uncapped
                yield
                return
            with threadpool_limits(limits=point.intra, user_api="blas"):
                yield
        else:
            yield

    def _run_pass(self, backend: Backend, point: ThreadPoint, settings: Any, out: Path) -> Any:
        from mlpace.loadgen.engine import run_test
        from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
        from mlpace.workloads.sut import BackendSUT, BatchingPolicy

        out.mkdir(parents=True, exist_ok=True)
        wait_ns = 0
        if self.scenario == "Server":  # as mlpace run: wait at most 5 % of the bound
            wait_ns = int(settings.server_target_latency_ns) // 20
        sut = BackendSUT(
            backend,
            self.qsl.get_samples,
            self.runnable.encode,
            workers=point.workers,
            policy=BatchingPolicy(point.batch, wait_ns),
            name=f"mlpace-tune-{self.task.name}-{self.backend_name}",
        )
        log = LogSettings(LogOutputSettings(outdir=str(out)), enable_trace=False)
        try:
            return run_test(sut, self.qsl, settings, log)
        finally:
            sut.close()

    def _time_batch(self, backend: Backend, size: int) -> float:
        """Seconds for one batch of ``size`` as a worker runs it (fetch, predict, encode), warm:
        the first call is thrown away."""
        idx = list(range(min(size, self.dataset.size)))
        self.dataset.load(idx)
        try:

            def once() -> None:
                self.runnable.encode(backend.predict(self.dataset.get_samples(idx)))

            once()
            t0 = time.perf_counter()
            once()
            return max(1e-6, time.perf_counter() - t0)
        finally:
            self.dataset.unload(idx)

    def __call__(self, point: ThreadPoint) -> float:
        from mlpace.loadgen.config import load_settings
        from mlpace.loadgen.enums import TestMode

        backend = self._backend(point)
        rep = self._reps.get(point.key, 0) + 1
        self._reps[point.key] = rep
        name = (
            f"intra{point.intra or 'D'}_pools{point.pools or 'D'}_w{point.workers}_b{point.batch}"
        )
        out = self.log_root / name / f"rep_{rep}"
        base, _warnings = load_settings(self.task.loadgen_model, self.scenario)
        short = dict(self.runnable.short_profile.get(self.scenario, {}))
        with self._process_knobs(point):
            # The rate sizes the pass (Offline: samples issued; Server: where the search
            # starts). The point's last figure is the best guess; before it, one timed batch.
            rate = self._rates.get(point.key, 0.0)
            if rate <= 0:
                # One timed batch overestimates a busy machine's rate, and an Offline pass
                # issued for too high a rate runs far past pass_ms: settings of one sweep differ
                # by a few times at most, so twice the best figure so far caps the guess.
                batch_s = self._time_batch(backend, point.batch)
                rate = point.batch / batch_s * (1 + 0.5 * (point.workers - 1))
                if self._rates:
                    rate = min(rate, 2 * max(self._rates.values()))
            if self.scenario == "Offline":
                settings = dataclasses.replace(
                    base,
                    mode=TestMode.PerformanceOnly,
                    min_duration_ms=self.pass_ms,
                    min_query_count=1,
                    offline_expected_qps=max(0.1, rate),
                    performance_sample_count_override=self.dataset.size,
                )
                outcome = self._run_pass(backend, point, settings, out)
                assert outcome.performance is not None
                value = float(outcome.performance.result.primary_metric_value or 0.0)
                # The highest figure so far, with a margin: the next pass must not run out of
                # samples before pass_ms on a lucky stretch (that pass would be INVALID).
                self._rates[point.key] = max(self._rates.get(point.key, 0.0), 1.5 * value)
                return value
            return self._server_peak(backend, point, base, short, rate, out)

    def _server_peak(
        self,
        backend: Backend,
        point: ThreadPoint,
        base: Any,
        short: dict[str, float],
        rate: float,
        out: Path,
    ) -> float:
        from mlpace.workloads import peak

        fields = {k: type(getattr(base, k))(v) for k, v in short.items()}
        settings = dataclasses.replace(
            base, performance_sample_count_override=self.dataset.size, **fields
        )
        queries = min(peak.PROBE_MIN_QUERIES, max(8, int(rate * self.pass_ms / 1000 / 4)))
        search = peak.search_peak(
            lambda s, d: self._run_pass(backend, point, s, d),
            settings,
            lower_qps=max(0.1, rate / point.batch / 4),
            log_dir=out,
            say=lambda _line: None,
            probe_ms=self.pass_ms,
            probe_queries=queries,
        )
        return float(search.peak_qps or 0.0)

    def close(self) -> None:
        for backend in self._backends.values():
            closer = getattr(backend, "close", None)
            if closer is not None:
                closer()
        self._backends.clear()
