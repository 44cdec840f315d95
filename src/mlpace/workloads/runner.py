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
   ``hash=<sha256 of mlperf_log_accuracy.json>``). In the short profile the Server figure is
   the measured peak VALID rate: a FindPeakPerformance search, then full runs from its peak
   down as the attempt policy decides (:mod:`mlpace.workloads.peak`; every search's and
   attempt's logs in ``<output>/peak_search/...``);
4. a final table: scenario, metric, VALID/INVALID, accuracy against the target, and below it
   why each INVALID run is INVALID, the LoadGen errors and the summaries' warnings.

Before any model is loaded, the output folder is checked and an earlier run in the folders this
run writes is refused, replaced or moved aside (:mod:`mlpace.workloads.outdir`), and user.conf
lines that apply to no scenario of the run are reported (:mod:`mlpace.workloads.config_report`).

Profiles: ``short`` (default; a few seconds per scenario, *not valid for submission*),
``official`` (mlperf.conf durations and query counts) and ``tiny`` (tests).
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mlpace.errors import BackendError, DatasetError, MlpaceError, TaskError
from mlpace.workloads._scenario_run import Context, Plan, run_scenario, scenario_settings
from mlpace.workloads.backends.base import Backend, ModelArtifact, make_backend
from mlpace.workloads.datasets.base import Dataset, DatasetQSL, refuse_synthetic
from mlpace.workloads.registry import ALL_SCENARIOS, get_task
from mlpace.workloads.run_types import (
    DEFAULT_OUTPUT,
    PROFILES,
    Calibration,
    Profile,
    RunOptions,
    ScenarioRow,
    TaskRun,
)
from mlpace.workloads.table import format_table
from mlpace.workloads.topology import detect_topology

__all__ = [
    "DEFAULT_OUTPUT",
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


def _modes(opts: RunOptions, flags_block_accuracy: bool) -> tuple[bool, bool]:
    """(performance, accuracy) passes to run."""
    if opts.mode is None:
        return True, not flags_block_accuracy
    mode = opts.mode
    perf = mode in ("PerformanceOnly", "SubmissionRun", "FindPeakPerformance")
    acc = mode in ("AccuracyOnly", "SubmissionRun")
    return perf, acc


def _system_name(opts: RunOptions, backend: str) -> str:
    if opts.system:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", opts.system)
    return f"mlpace-{backend}-{opts.device or 'cpu'}"


# ------------------------------------------------------------------------------ the run
Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _quiet(_line: str) -> None:
    return None


def _plan(opts: RunOptions) -> Plan:
    task = get_task(opts.task)
    runnable = task.runnable
    if runnable is None:
        raise TaskError(
            f"task {task.name!r} is reference data only (no model ships with mlpace); runnable "
            "tasks are listed by mlpace run --help"
        )
    if opts.profile not in PROFILES:
        raise TaskError(f"unknown profile {opts.profile!r}; choose {', '.join(PROFILES)}")
    backend_name = opts.backend or runnable.default_backend
    backend_name = {"onnx": "onnxruntime", "ort": "onnxruntime", "pytorch": "torch"}.get(
        backend_name, backend_name
    )
    if backend_name not in runnable.backends:
        raise TaskError(
            f"task {task.name!r} runs on {', '.join(runnable.backends)}, not {backend_name!r}"
        )
    scenarios = tuple(dict.fromkeys(opts.scenarios or task.scenarios))
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            raise TaskError(f"unknown scenario {s!r}")
        task.check_scenario(s)
    if opts.mode == "FindPeakPerformance" and scenarios != ("Server",):
        raise TaskError(
            "FindPeakPerformance searches the Server scenario's peak QPS and is defined for "
            f"Server only; this run has {', '.join(scenarios)}"
        )
    system = _system_name(opts, backend_name)
    out = Path(opts.output_dir)
    return Plan(
        task=task,
        runnable=runnable,
        profile=PROFILES[opts.profile],
        backend_name=backend_name,
        scenarios=scenarios,
        system=system,
        results_dir=out / "results" / system / task.results_name,
        peak_dir=out / "peak_search" / system / task.results_name / "Server",
    )


def _prepare(plan: Plan, opts: RunOptions, warn: Progress) -> None:
    """Output folder and user.conf checks: cheap, before any model is loaded."""
    from mlpace.loadgen.config import ConfType, read_config
    from mlpace.workloads.config_report import unused_lines
    from mlpace.workloads.outdir import prepare_output

    if opts.user_conf:
        config = read_config(opts.user_conf, ConfType.USER)
        for unused in unused_lines(
            config,
            plan.task.loadgen_model,
            plan.scenarios,
            model_label=f"the mlperf.conf model of task {plan.task.name}",
        ):
            warn(f"mlpace: warning: {unused.format()}")
    targets = [plan.results_dir / s for s in plan.scenarios]
    if "Server" in plan.scenarios:
        targets.append(plan.peak_dir)
    for line in prepare_output(opts.output_dir, targets, policy=opts.output_policy):
        warn(line)


def _capture_system(
    plan: Plan, threads: int | None, workers: int | None, threads_from: str | None = None
) -> None:
    """``<task folder>/system_description.json``: the machine this run ran on, for the
    package and the report (:mod:`mlpace.system`)."""
    from mlpace.system import describe_system, write_description

    desc = describe_system(
        backend=plan.backend_name,
        threads=threads,
        workers=workers,
        storage_path=plan.results_dir.parent if plan.results_dir.parent.exists() else ".",
        system_name=plan.system,
    )
    if threads_from:  # settings found by a sweep: say so where submitters read them
        desc["sw_notes"] += f"; thread settings tuned by mlpace tune-threads ({threads_from})"
    write_description(desc, plan.results_dir / "system_description.json")


def _load_inputs(plan: Plan, opts: RunOptions) -> tuple[ModelArtifact, Dataset]:
    """The model artifact and the data set; a file the user named that cannot be read is an
    error naming the flag, never a traceback."""
    from mlpace.workloads.models.resnet50 import default_cache_dir

    cache_dir = opts.cache_dir or default_cache_dir()
    try:
        model = plan.runnable.make_model(cache_dir, opts.model_path)
    except MlpaceError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        what = f"--model-path {opts.model_path}" if opts.model_path else "the model"
        raise BackendError(f"{what}: cannot load it: {type(exc).__name__}: {exc}") from None
    try:
        dataset = plan.runnable.make_dataset(opts.dataset, model.metadata)
    except MlpaceError:
        raise
    except (OSError, ValueError, KeyError, IndexError) as exc:
        what = f"--dataset {opts.dataset}" if opts.dataset else "the data set"
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DatasetError(
            f"{what}: cannot read it as {plan.task.dataset}: {type(exc).__name__}: {detail}"
        ) from None
    return model, dataset


def run_task(
    opts: RunOptions, progress: Progress | None = _stderr, warn: Progress | None = _stderr
) -> TaskRun:
    """Run every scenario of ``opts``; ``progress`` gets live lines, ``warn`` the problems
    found before the run (None: silent)."""
    t_start = time.perf_counter()
    say = progress or _quiet
    plan = _plan(opts)
    _prepare(plan, opts, warn or _quiet)
    runnable, task, profile = plan.runnable, plan.task, plan.profile
    threads = opts.threads if opts.threads is not None else runnable.default_threads
    if threads == 0:  # the framework's own default (a tuned setting may say so)
        threads = None
    # Built before the model loads: a wrong --device is refused at once.
    backend = make_backend(
        plan.backend_name, threads=threads, device=opts.device, **dict(opts.backend_options)
    )
    _capture_system(plan, threads, opts.workers, opts.threads_from)
    model, dataset = _load_inputs(plan, opts)
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
    # Physical cores: hyper-threads share a core's units, so a worker per hyper-thread
    # oversubscribes compute-bound kernels.
    cores = detect_topology().physical_cores
    workers = (
        opts.workers or runnable.default_workers or (max(1, cores // threads) if threads else cores)
    )
    batch_size = opts.batch_size or runnable.default_batch_size
    say(f"mlpace: loading {model.name} on {plan.backend_name} ({profile.label})")
    try:
        backend.load(model)
    except MlpaceError:
        raise
    except (OSError, RuntimeError, ValueError) as exc:
        raise BackendError(
            f"{plan.backend_name} cannot load {model.name}: {type(exc).__name__}: {exc}"
        ) from None
    spq = int(opts.overrides.get("multi_stream_samples_per_query", 8))
    cal = calibrate(
        backend,
        dataset,
        batch_size=batch_size,
        samples_per_query=spq,
        workers=workers,
        multistream="MultiStream" in plan.scenarios,
    )
    say(
        f"mlpace: calibrated: 1 sample {cal.single_s * 1e3:.3f} ms, MultiStream query "
        f"{cal.multi_s * 1e3:.3f} ms, batch of {batch_size} {cal.batch_s * 1e3:.3f} ms; "
        f"{workers} worker(s)"
    )
    ctx = Context(
        plan=plan,
        opts=opts,
        backend=backend,
        dataset=dataset,
        qsl=DatasetQSL(dataset, dataset.size),
        cal=cal,
        workers=workers,
        batch_size=batch_size,
        flags=tuple(flags),
        quality_target=quality_target,
        do_perf=do_perf,
        do_acc=do_acc,
        say=say,
        audit=audit,
    )
    rows: list[ScenarioRow] = []
    for scenario in plan.scenarios:
        rows.append(run_scenario(ctx, scenario))

    wall = time.perf_counter() - t_start
    if opts.recorder is not None:
        context = {"task": task.name, "system": plan.system, "backend": plan.backend_name}
        opts.recorder.finish(plan.results_dir, context=context, say=say)
    run = TaskRun(
        task=task,
        backend=plan.backend_name,
        system=plan.system,
        profile=profile,
        rows=tuple(rows),
        results_dir=plan.results_dir,
        flags=tuple(flags),
        calibration=cal,
        quality_target=quality_target,
        wall_s=wall,
        table="",
    )
    return dataclasses.replace(run, table=format_table(run))
