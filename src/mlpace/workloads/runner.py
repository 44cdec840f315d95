"""Run a task: scenarios x modes through the LoadGen, results in the MLPerf layout, a table.

``run_task(RunOptions(...))`` is the whole of ``mlpace run [TASK]``:

1. build the model artifact, the backend and the data set (synthetic data and random weights
   are refused in accuracy mode);
2. calibrate: time the backend on a few batches, so the short profile can size every scenario
   (SingleStream/MultiStream latency hints, Server target QPS, Offline query size) for *this*
   machine;
3. for each scenario, a performance pass into
   ``<output>/results/<system>/<task>/<scenario>/performance/run_1/`` and an accuracy pass into
   ``.../<scenario>/accuracy/`` (``accuracy.txt`` = the accuracy-script output plus
   ``hash=<sha256 of mlperf_log_accuracy.json>``);
4. a final table: scenario, metric, VALID/INVALID, accuracy against the target.

Profiles: ``short`` (default; a few seconds per scenario, *not valid for submission*),
``official`` (mlperf.conf durations and query counts) and ``tiny`` (tests).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.errors import DatasetError, SutError, TaskError
from mlpace.loadgen.enums import TestMode, TestScenario
from mlpace.loadgen.settings import TestSettings
from mlpace.workloads.backends.base import Backend, ModelArtifact, make_backend
from mlpace.workloads.datasets.base import Dataset, DatasetQSL, refuse_synthetic
from mlpace.workloads.registry import ALL_SCENARIOS, AccuracyReport, Runnable, Task, get_task
from mlpace.workloads.sut import BackendSUT, BatchingPolicy

__all__ = [
    "PROFILES",
    "Calibration",
    "Profile",
    "RunOptions",
    "ScenarioRow",
    "TaskRun",
    "calibrate",
    "format_table",
    "run_task",
    "scenario_settings",
]

DEFAULT_OUTPUT = Path("mlpace-results")


@dataclass(frozen=True)
class Profile:
    """How long each scenario runs. ``official=True``: mlperf.conf durations and counts."""

    name: str
    label: str
    official: bool = False
    min_duration_ms: Mapping[str, int] = field(default_factory=dict)
    min_query_count: Mapping[str, int] = field(default_factory=dict)
    # Server target QPS as a fraction of the calibrated single-sample capacity. Low on purpose:
    # Python's issue thread and the workers share the cores, and the tail must stay in bound.
    server_load_fraction: float = 0.15
    # Measured on 2 shared cores: at 1000 QPS the p99 of the digits model sits right at its
    # 10 ms bound when other processes compete for the cores; 600 QPS leaves a margin.
    max_server_qps: float = 600.0


PROFILES: dict[str, Profile] = {
    "short": Profile(
        "short",
        "short-run profile (not valid for submission)",
        min_duration_ms={
            "SingleStream": 2000,
            "MultiStream": 2000,
            # Long enough (~2400 queries) for early stopping to prove the p99 bound.
            "Server": 4000,
            "Offline": 2000,
        },
        min_query_count={"SingleStream": 100, "MultiStream": 662, "Server": 100, "Offline": 1},
    ),
    "tiny": Profile(
        "tiny",
        "tiny test profile (not valid for submission)",
        min_duration_ms={"SingleStream": 200, "MultiStream": 200, "Server": 300, "Offline": 200},
        min_query_count={"SingleStream": 32, "MultiStream": 32, "Server": 32, "Offline": 1},
    ),
    "official": Profile("official", "official profile (mlperf.conf durations)", official=True),
}


@dataclass(frozen=True)
class RunOptions:
    task: str = "digits"
    backend: str | None = None
    scenarios: tuple[str, ...] | None = None
    # "PerformanceOnly", "AccuracyOnly" or "SubmissionRun" (both); None: both when the data and
    # weights are real, performance only otherwise.
    mode: str | None = None
    dataset: str | None = None
    model_path: str | None = None
    profile: str = "short"
    output_dir: Path = DEFAULT_OUTPUT
    system: str | None = None
    threads: int | None = None
    workers: int | None = None
    batch_size: int | None = None
    max_wait_ms: float | None = None
    device: str | None = None
    user_conf: str | None = None
    mlperf_conf: str | None = None
    audit_conf: str | None = None
    # TestSettings fields set last (from command-line flags), e.g. {"server_target_qps": 500}.
    overrides: Mapping[str, Any] = field(default_factory=dict)
    enable_trace: bool = True
    cache_dir: Path | None = None
    # mlpace.report.record.RunRecorder: per-sample timing, report.html, history (None: none)
    recorder: Any = None


@dataclass(frozen=True)
class Calibration:
    """Median backend latencies (s) for one sample, one MultiStream query and one batch."""

    single_s: float
    multi_s: float
    batch_s: float
    batch_size: int
    samples_per_query: int
    workers: int

    @property
    def single_capacity_qps(self) -> float:
        return self.workers / self.single_s

    @property
    def batch_throughput(self) -> float:
        """Expected Offline samples/s: one worker's rate, plus a quarter per extra worker
        (measured: workers share the GIL and the cores, so they add far less than 1x each)."""
        return (1.0 + 0.25 * (self.workers - 1)) * self.batch_size / self.batch_s


@dataclass(frozen=True)
class ScenarioRow:
    scenario: str
    metric_name: str = ""
    metric_value: float | None = None
    metric_unit: str = ""
    valid: bool | None = None  # None: no performance pass
    accuracy: AccuracyReport | None = None
    accuracy_met: bool | None = None
    performance_dir: Path | None = None
    accuracy_dir: Path | None = None
    error: str = ""
    sut: Mapping[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and self.valid is not False and self.accuracy_met is not False


@dataclass(frozen=True)
class TaskRun:
    task: Task
    backend: str
    system: str
    profile: Profile
    rows: tuple[ScenarioRow, ...]
    results_dir: Path
    flags: tuple[str, ...]
    calibration: Calibration
    quality_target: float | None
    wall_s: float
    table: str

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)


# ------------------------------------------------------------------------------ calibration
def _median_time(fn: Callable[[], object], budget_s: float, min_reps: int = 3) -> float:
    """Median wall time of ``fn``: at least ``min_reps`` calls unless they would take more
    than twice the budget (a big model on a CPU: one call is already a good estimate)."""
    times: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        spent = t1 - start
        if len(times) >= 50 or spent >= 2 * budget_s:
            break
        if spent >= budget_s and len(times) >= min_reps:
            break
    return statistics.median(times)


def calibrate(
    backend: Backend,
    dataset: Dataset,
    *,
    batch_size: int,
    samples_per_query: int,
    workers: int,
    budget_s: float = 0.6,
    multistream: bool = True,
) -> Calibration:
    """Time the backend (warm) on one sample, one MultiStream query and one full batch."""
    n = min(dataset.size, max(batch_size, samples_per_query))
    idx = list(range(n))
    dataset.load(idx)
    try:

        def run(k: int) -> Callable[[], object]:
            x = dataset.get_samples([idx[i % n] for i in range(k)])
            return lambda: backend.predict(x)

        run(1)()  # warm-up: first calls allocate, JIT, build kernels
        single = _median_time(run(1), budget_s / 3)
        multi = _median_time(run(samples_per_query), budget_s / 3) if multistream else 0.0
        batch = _median_time(run(batch_size), budget_s / 3)
    finally:
        dataset.unload(idx)
    return Calibration(single, multi, batch, batch_size, samples_per_query, workers)


# ------------------------------------------------------------------------------ settings
def scenario_settings(
    task: Task,
    scenario: str,
    profile: Profile,
    cal: Calibration,
    *,
    qsl_size: int,
    opts: RunOptions,
) -> tuple[TestSettings, list[str]]:
    """The performance-mode TestSettings of one scenario: mlperf.conf, user.conf, profile, flags.

    The calibrated hints err on the side of a longer run: an underestimated latency and an
    overestimated Offline throughput make LoadGen generate more queries than the minimum
    duration needs, never fewer (running out early would make the run INVALID).
    """
    from mlpace.loadgen.config import load_settings

    base, warnings = load_settings(
        task.loadgen_model, scenario, user_conf=opts.user_conf, mlperf_conf=opts.mlperf_conf
    )
    ch: dict[str, Any] = {"mode": TestMode.PerformanceOnly}
    sc = TestScenario(scenario)
    user_set = opts.user_conf is not None
    if not user_set:
        if sc is TestScenario.SingleStream:
            ch["single_stream_expected_latency_ns"] = max(1_000, int(cal.single_s * 0.5e9))
        elif sc is TestScenario.MultiStream:
            ch["multi_stream_expected_latency_ns"] = max(1_000, int(cal.multi_s * 0.5e9))
        elif sc is TestScenario.Server:
            qps = min(
                profile.max_server_qps, profile.server_load_fraction * cal.single_capacity_qps
            )
            ch["server_target_qps"] = max(0.1, round(qps, 1))
        else:
            ch["offline_expected_qps"] = max(0.1, 1.3 * cal.batch_throughput)
    if not profile.official:
        ch["min_duration_ms"] = profile.min_duration_ms.get(scenario, 2000)
        ch["min_query_count"] = profile.min_query_count.get(scenario, 100)
        if profile.name == "short" and task.runnable is not None:
            # Per-task short-profile knobs (a slow model gets a longer Offline run).
            for key, value in task.runnable.short_profile.get(scenario, {}).items():
                ch[key] = type(getattr(base, key))(value)
        # Our QSL holds the whole data set; a conf override larger than it is capped anyway.
        ch["performance_sample_count_override"] = qsl_size
    ch.update(opts.overrides)
    return dataclasses.replace(base, **ch), warnings


# ------------------------------------------------------------------------------ metrics
def _metric(result: Any) -> tuple[str, float | None, str]:
    """(name, value, unit) of a RunResult's primary metric; latencies shown in ms."""
    name = str(getattr(result, "primary_metric_name", "") or "")
    value = getattr(result, "primary_metric_value", None)
    unit = str(getattr(result, "primary_metric_unit", "") or "")
    if value is None:
        return name, None, unit
    v = float(value)
    if unit == "ns":  # the official keys carry integer ns; people read ms
        return name, v / 1e6, "ms"
    return name, v, unit


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _system_name(opts: RunOptions, backend: str) -> str:
    if opts.system:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", opts.system)
    return f"mlpace-{backend}-{opts.device or 'cpu'}"


def _modes(opts: RunOptions, flags_block_accuracy: bool) -> tuple[bool, bool]:
    """(performance, accuracy) passes to run."""
    if opts.mode is None:
        return True, not flags_block_accuracy
    mode = opts.mode
    perf = mode in ("PerformanceOnly", "SubmissionRun", "FindPeakPerformance")
    acc = mode in ("AccuracyOnly", "SubmissionRun")
    return perf, acc


# ------------------------------------------------------------------------------ the run
Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_task(opts: RunOptions, progress: Progress | None = _stderr) -> TaskRun:
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings

    t_start = time.perf_counter()
    say = progress or (lambda _line: None)
    task = get_task(opts.task)
    runnable: Runnable | None = task.runnable
    if runnable is None:
        raise TaskError(
            f"task {task.name!r} is reference data only (no model ships with mlpace); runnable "
            "tasks are listed by mlpace run --help"
        )
    if opts.profile not in PROFILES:
        raise TaskError(f"unknown profile {opts.profile!r}; choose {', '.join(PROFILES)}")
    profile = PROFILES[opts.profile]
    backend_name = opts.backend or runnable.default_backend
    if backend_name in ("onnx", "ort"):
        backend_name = "onnxruntime"
    if backend_name == "pytorch":
        backend_name = "torch"
    if backend_name not in runnable.backends:
        raise TaskError(
            f"task {task.name!r} runs on {', '.join(runnable.backends)}, not {backend_name!r}"
        )
    scenarios = tuple(dict.fromkeys(opts.scenarios or task.scenarios))
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            raise TaskError(f"unknown scenario {s!r}")
        task.check_scenario(s)

    from mlpace.workloads.models.resnet50 import default_cache_dir

    cache_dir = opts.cache_dir or default_cache_dir()
    model: ModelArtifact = runnable.make_model(cache_dir, opts.model_path)
    dataset = runnable.make_dataset(opts.dataset, model.metadata)
    flags: list[str] = []
    if model.random_weights:
        flags.append(f"RANDOM WEIGHTS ({model.source}): accuracy is meaningless")
    if dataset.synthetic:
        flags.append(f"SYNTHETIC DATA ({dataset.name}): performance only")
    do_perf, do_acc = _modes(opts, model.random_weights or dataset.synthetic)
    audit = None
    if opts.audit_conf is not None:  # an audit run: one performance pass, never accuracy
        from mlpace.audit import plan_audit_run

        audit = plan_audit_run(opts.audit_conf, opts.mode)
        do_perf, do_acc = True, False
        flags.append(audit.flag)
    if do_acc:
        refuse_synthetic(dataset, "accuracy")
        if model.random_weights:
            raise TaskError(
                f"{model.name} has random weights; accuracy mode is refused (performance only)"
            )

    # Reference quality: the model file's own FP32 number when it carries one (digits).
    quality_target: float | None = None
    if task.quality is not None:
        ref = model.metadata.get("fp32_reference_accuracy")
        quality = task.quality
        if ref is not None:
            quality = dataclasses.replace(quality, reference=float(ref) * 100.0)
        quality_target = quality.target
    cores = os.cpu_count() or 1
    threads = opts.threads if opts.threads is not None else runnable.default_threads
    workers = (
        opts.workers or runnable.default_workers or (max(1, cores // threads) if threads else cores)
    )
    batch_size = opts.batch_size or runnable.default_batch_size
    backend = make_backend(backend_name, threads=threads, device=opts.device)
    say(f"mlpace: loading {model.name} on {backend_name} ({profile.label})")
    backend.load(model)
    spq = int(opts.overrides.get("multi_stream_samples_per_query", 8))
    cal = calibrate(
        backend,
        dataset,
        batch_size=batch_size,
        samples_per_query=spq,
        workers=workers,
        multistream="MultiStream" in scenarios,
    )
    say(
        f"mlpace: calibrated: 1 sample {cal.single_s * 1e3:.3f} ms, MultiStream query "
        f"{cal.multi_s * 1e3:.3f} ms, batch of {batch_size} {cal.batch_s * 1e3:.3f} ms; "
        f"{workers} worker(s)"
    )

    system = _system_name(opts, backend_name)
    results_dir = Path(opts.output_dir) / "results" / system / task.results_name
    psc = dataset.size
    qsl = DatasetQSL(dataset, psc)
    rows: list[ScenarioRow] = []
    for scenario in scenarios:
        settings, warnings = scenario_settings(
            task, scenario, profile, cal, qsl_size=psc, opts=opts
        )
        for w in warnings:
            say(f"mlpace: warning: {w}")
        bound_ns = int(settings.server_target_latency_ns)
        if opts.max_wait_ms is not None:
            max_wait_ns = int(opts.max_wait_ms * 1e6)
        elif scenario == "Server":
            # Wait for a fuller batch at most 5 % of the latency bound.
            max_wait_ns = bound_ns // 20
        else:
            max_wait_ns = 0
        policy = BatchingPolicy(batch_size, max_wait_ns)
        row = ScenarioRow(scenario=scenario)
        sut_info: dict[str, object] = {}

        def one_pass(
            mode: TestMode,
            out_dir: Path,
            scenario: str = scenario,
            settings: TestSettings = settings,
            policy: BatchingPolicy = policy,
            sut_info: dict[str, object] = sut_info,
        ) -> Any:
            out_dir.mkdir(parents=True, exist_ok=True)
            sut = BackendSUT(
                backend,
                qsl.get_samples,
                runnable.encode,
                workers=workers,
                policy=policy,
                name=f"mlpace-{task.name}-{backend_name}",
            )
            log = LogSettings(
                LogOutputSettings(outdir=str(out_dir)), enable_trace=opts.enable_trace
            )
            s = dataclasses.replace(settings, mode=mode)
            t0 = time.perf_counter()
            try:
                outcome = run_test(sut, qsl, s, log, audit_config=opts.audit_conf)
            finally:
                sut.close()
            if opts.recorder is not None:
                opts.recorder.pass_done(outcome, out_dir)
            info = sut.describe()
            info["profile"] = profile.label
            info["flags"] = flags
            (out_dir / "mlpace_sut.json").write_text(json.dumps(info, indent=2, default=str))
            sut_info.update(info)
            return outcome, time.perf_counter() - t0

        try:
            if do_perf:
                perf_dir = results_dir / scenario / "performance" / "run_1"
                if audit is not None:
                    perf_dir = audit.run_dir(opts.output_dir, system, task.results_name, scenario)
                say(f"mlpace: {scenario} performance ...")
                outcome, dt = one_pass(TestMode.PerformanceOnly, perf_dir)
                assert outcome.performance is not None
                result = outcome.performance.result
                name, value, unit = _metric(result)
                valid = bool(result.valid)
                row = dataclasses.replace(
                    row,
                    metric_name=name,
                    metric_value=value,
                    metric_unit=unit,
                    valid=valid,
                    performance_dir=perf_dir,
                )
                shown = "n/a" if value is None else f"{value:,.3f} {unit}"
                say(
                    f"mlpace: {scenario} performance: {shown} {'VALID' if valid else 'INVALID'} "
                    f"({dt:.1f} s)"
                )
            if do_acc:
                acc_dir = results_dir / scenario / "accuracy"
                say(f"mlpace: {scenario} accuracy ...")
                _, dt = one_pass(TestMode.AccuracyOnly, acc_dir)
                acc_json = acc_dir / "mlperf_log_accuracy.json"
                report = runnable.accuracy(acc_json, dataset)
                (acc_dir / "accuracy.txt").write_text(f"{report.text}\nhash={_sha256(acc_json)}\n")
                met = None if quality_target is None else report.value >= quality_target
                row = dataclasses.replace(
                    row, accuracy=report, accuracy_met=met, accuracy_dir=acc_dir
                )
                say(f"mlpace: {scenario} accuracy: {report.text} ({dt:.1f} s)")
        except (SutError, DatasetError) as exc:
            row = dataclasses.replace(row, error=str(exc))
            say(f"mlpace: {scenario}: failed: {exc}")
        rows.append(dataclasses.replace(row, sut=dict(sut_info)))

    wall = time.perf_counter() - t_start
    if opts.recorder is not None:
        ctx = {"task": task.name, "system": system, "backend": backend_name}
        opts.recorder.finish(results_dir, context=ctx, say=say)
    run = TaskRun(
        task=task,
        backend=backend_name,
        system=system,
        profile=profile,
        rows=tuple(rows),
        results_dir=results_dir,
        flags=tuple(flags),
        calibration=cal,
        quality_target=quality_target,
        wall_s=wall,
        table="",
    )
    return dataclasses.replace(run, table=format_table(run))


def _short(metric_name: str) -> str:
    """'90.0th percentile latency (early stopping estimate)' -> 'p90 latency, early stopping'."""
    m = re.match(r"(\d+(?:\.\d+)?)th percentile (.*?)\s*\(early stopping estimate\)", metric_name)
    if m:
        return f"p{float(m.group(1)):g} {m.group(2)}, early stopping"
    return metric_name.lower()


def format_table(run: TaskRun) -> str:
    """The final table: scenario, metric, VALID/INVALID, accuracy against the target."""
    head = f"{run.task.name} on {run.backend} ({run.system}): {run.profile.label}"
    lines = [head]
    lines.extend(f"  ! {f}" for f in run.flags)
    if run.rows and run.rows[0].sut:
        s = run.rows[0].sut
        lines.append(
            f"  workers {s.get('workers')}, intra-op threads {s.get('intra_op_threads')}, "
            f"max batch {s.get('max_batch_size')}"
        )
    target = "" if run.quality_target is None else f" (target >= {run.quality_target:.3f}%)"
    cols = ("scenario", "metric", "result", f"accuracy{target}")
    body: list[tuple[str, str, str, str]] = []
    for r in run.rows:
        metric = (
            "n/a"
            if r.metric_value is None
            else f"{r.metric_value:,.3f} {r.metric_unit} ({_short(r.metric_name)})"
        )
        if r.valid is None:
            metric = "-"
        verdict = (
            "ERROR" if r.error else ("-" if r.valid is None else "VALID" if r.valid else "INVALID")
        )
        if r.accuracy is None:
            acc = "-"
        else:
            mark = "" if r.accuracy_met is None else " met" if r.accuracy_met else " NOT MET"
            acc = f"{r.accuracy.value:.3f}%{mark}"
        body.append((r.scenario, metric, verdict, acc))
    widths = [
        max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(cols)
    ]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    lines.append(fmt.format(*cols))
    lines.append("  " + "  ".join("-" * w for w in widths))
    lines.extend(fmt.format(*b) for b in body)
    for r in run.rows:
        if r.error:
            lines.append(f"  {r.scenario}: {r.error}")
    has_acc = any(r.accuracy is not None for r in run.rows)
    if run.ok:
        verdict = "all VALID, accuracy met" if has_acc else "all VALID (no accuracy pass)"
    else:
        verdict = "NOT all VALID / accuracy met"
    lines.append(f"  {verdict}; {run.wall_s:.1f} s; results in {run.results_dir}")
    return "\n".join(lines)
