"""One scenario of a task run: its settings, performance pass (with the Server peak search),
accuracy pass, and what the console learns about each (errors, failing checks, warnings)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpace.errors import DatasetError, RunInterrupted, SutError
from mlpace.explain import failed_checks, read_detail_log, summary_warnings
from mlpace.loadgen.enums import TestMode, TestScenario
from mlpace.loadgen.settings import TestSettings
from mlpace.signals import critical
from mlpace.workloads import peak as peak_mod
from mlpace.workloads.backends.base import Backend
from mlpace.workloads.datasets.base import Dataset, DatasetQSL
from mlpace.workloads.registry import Runnable, Task
from mlpace.workloads.run_types import Calibration, Profile, RunOptions, ScenarioRow
from mlpace.workloads.sut import BackendSUT, BatchingPolicy
from mlpace.workloads.table import metric_of

__all__ = ["Context", "Plan", "run_scenario", "scenario_settings"]

Progress = Callable[[str], None]


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
    from mlpace.loadgen.config import ConfType, load_settings, read_config
    from mlpace.workloads.config_report import keys_set

    base, warnings = load_settings(
        task.loadgen_model, scenario, user_conf=opts.user_conf, mlperf_conf=opts.mlperf_conf
    )
    user = read_config(opts.user_conf, ConfType.USER) if opts.user_conf else None
    # The calibrated hints and the profile's lengths apply unless user.conf sets the same key.
    user_keys = keys_set(user, task.loadgen_model, scenario)
    ch: dict[str, Any] = {"mode": TestMode.PerformanceOnly}
    sc = TestScenario(scenario)
    if sc is TestScenario.SingleStream and "target_latency" not in user_keys:
        ch["single_stream_expected_latency_ns"] = max(1_000, int(cal.single_s * 0.5e9))
    elif sc is TestScenario.MultiStream and "target_latency" not in user_keys:
        ch["multi_stream_expected_latency_ns"] = max(1_000, int(cal.multi_s * 0.5e9))
    elif sc is TestScenario.Server and "target_qps" not in user_keys:
        qps = min(profile.max_server_qps, profile.server_load_fraction * cal.single_capacity_qps)
        ch["server_target_qps"] = max(0.1, round(qps, 1))
    elif sc is TestScenario.Offline and "target_qps" not in user_keys:
        ch["offline_expected_qps"] = max(0.1, 1.3 * cal.batch_throughput)
    if not profile.official:
        if "min_duration" not in user_keys:
            ch["min_duration_ms"] = profile.min_duration_ms.get(scenario, 2000)
        if "min_query_count" not in user_keys:
            ch["min_query_count"] = profile.min_query_count.get(scenario, 100)
        if profile.name == "short" and task.runnable is not None:
            # Per-task short-profile knobs (a slow model gets a longer Offline run).
            for key, value in task.runnable.short_profile.get(scenario, {}).items():
                ch[key] = type(getattr(base, key))(value)
        # Our QSL holds the whole data set; a conf override larger than it is capped anyway.
        ch["performance_sample_count_override"] = qsl_size
    ch.update(opts.overrides)
    return dataclasses.replace(base, **ch), warnings


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_text(path: Path, text: str) -> None:
    """Write a small side file whole or not at all (a stop signal never leaves half of it)."""
    tmp = path.with_name(path.name + ".tmp")
    with critical():
        tmp.write_text(text)
        os.replace(tmp, path)


def _pass_notes(outcome: Any, label: str, *, checks: bool = True) -> tuple[int, list[str]]:
    """(LoadGen error count, console notes) of one finished pass; ``checks=False`` leaves out
    the failing validity checks (a FindPeakPerformance probe is judged by its latency only)."""
    problems = read_detail_log(outcome.log_paths["detail"])
    lead = f"{label} " if label else ""
    notes: list[str] = []
    perf = outcome.performance
    if checks and perf is not None and not perf.result.valid:
        notes += [f"{lead}INVALID because {line}" for line in failed_checks(perf.result)]
    notes += problems.error_lines(label)
    notes += [f"{label}: {w}" if label else w for w in summary_warnings(outcome.summary)]
    return problems.error_count, notes


@dataclass(frozen=True)
class Plan:
    """Everything decided before the expensive work starts."""

    task: Task
    runnable: Runnable
    profile: Profile
    backend_name: str
    scenarios: tuple[str, ...]
    system: str
    results_dir: Path
    peak_dir: Path


@dataclass(frozen=True)
class Context:
    plan: Plan
    opts: RunOptions
    backend: Backend
    dataset: Dataset
    qsl: DatasetQSL
    cal: Calibration
    workers: int
    batch_size: int
    flags: tuple[str, ...]
    quality_target: float | None
    do_perf: bool
    do_acc: bool
    say: Progress
    # mlpace.audit's plan for an --audit-conf run (None: a normal run)
    audit: Any = None


def _one_pass(
    ctx: Context,
    settings: TestSettings,
    out_dir: Path,
    policy: BatchingPolicy,
    info: dict[str, object],
) -> Any:
    """One run_test call into ``out_dir``; the SUT's description goes to mlpace_sut.json."""
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings

    plan = ctx.plan
    out_dir.mkdir(parents=True, exist_ok=True)
    sut = BackendSUT(
        ctx.backend,
        ctx.qsl.get_samples,
        plan.runnable.encode,
        workers=ctx.workers,
        policy=policy,
        name=f"mlpace-{plan.task.name}-{plan.backend_name}",
    )
    log = LogSettings(LogOutputSettings(outdir=str(out_dir)), enable_trace=ctx.opts.enable_trace)
    recorder = ctx.opts.recorder
    observer = recorder.observer() if recorder is not None else None
    try:
        outcome = run_test(
            sut, ctx.qsl, settings, log, audit_config=ctx.opts.audit_conf, observer=observer
        )
    except RunInterrupted as exc:
        raise RunInterrupted(f"{exc} (in {out_dir})", exit_code=exc.exit_code) from None
    finally:
        sut.close()
    if recorder is not None and plan.peak_dir not in (out_dir, *out_dir.parents):
        recorder.pass_done(outcome, out_dir)  # peak-search probes stay out of report/history
    described = sut.describe()
    described["profile"] = plan.profile.label
    described["flags"] = list(ctx.flags)
    if ctx.opts.threads_from:  # thread settings applied from a tune-threads sweep
        described["threads_from"] = ctx.opts.threads_from
    _write_text(out_dir / "mlpace_sut.json", json.dumps(described, indent=2, default=str))
    info.update(described)
    return outcome


def _server_lower_bound(ctx: Context) -> float:
    override = ctx.opts.overrides.get("server_target_qps")
    if override is not None:
        return float(override)
    return max(0.1, ctx.plan.profile.server_load_fraction / 3 * ctx.cal.single_capacity_qps)


def _wants_search(ctx: Context, scenario: str, settings: TestSettings) -> bool:
    """Short profile, Server, no target given (flag or user.conf): search the peak."""
    if scenario != "Server" or ctx.opts.mode == "FindPeakPerformance":
        return False
    if not ctx.plan.profile.peak_search or "server_target_qps" in ctx.opts.overrides:
        return False
    from mlpace.loadgen.config import ConfType, read_config
    from mlpace.workloads.config_report import keys_set

    if ctx.opts.user_conf:
        user = read_config(ctx.opts.user_conf, ConfType.USER)
        if "target_qps" in keys_set(user, ctx.plan.task.loadgen_model, "Server"):
            return False
    return True


def _performance(
    ctx: Context,
    scenario: str,
    settings: TestSettings,
    policy: BatchingPolicy,
    info: dict[str, object],
) -> tuple[ScenarioRow, TestSettings]:
    """The performance pass (after a peak search for the short profile's Server)."""
    plan, say = ctx.plan, ctx.say
    perf_dir = plan.results_dir / scenario / "performance" / "run_1"
    if ctx.audit is not None:
        perf_dir = ctx.audit.run_dir(
            ctx.opts.output_dir, plan.system, plan.task.results_name, scenario
        )

    def run_pass(s: TestSettings, out: Path) -> Any:
        return _one_pass(ctx, s, out, policy, info)

    row = ScenarioRow(scenario=scenario, performance_dir=perf_dir)
    notes: list[str] = []
    t0 = time.perf_counter()
    if ctx.opts.mode == "FindPeakPerformance":
        probe_ms = int(ctx.opts.overrides.get("min_duration_ms", 0)) or (
            settings.min_duration_ms if plan.profile.official else peak_mod.PROBE_MS
        )
        search = peak_mod.search_peak(
            run_pass,
            settings,
            lower_qps=_server_lower_bound(ctx),
            log_dir=perf_dir,
            say=say,
            probe_ms=probe_ms,
            probe_queries=int(
                ctx.opts.overrides.get("min_query_count", peak_mod.PROBE_MIN_QUERIES)
            ),
        )
        errors, more = (
            (0, []) if search.outcome is None else _pass_notes(search.outcome, "", checks=False)
        )
        row = dataclasses.replace(
            row,
            peak_qps=search.peak_qps,
            find_peak_only=True,
            loadgen_errors=errors,
            notes=(_search_note(search), *more),
        )
        return row, settings
    if _wants_search(ctx, scenario, settings):
        outcome, settings, row, more_notes = _default_server(ctx, settings, perf_dir, run_pass, row)
        notes += more_notes
    else:
        say(f"mlpace: {scenario} performance ...")
        outcome = run_pass(settings, perf_dir)
    assert outcome.performance is not None
    result = outcome.performance.result
    name, value, unit = metric_of(result)
    errors, more = _pass_notes(outcome, "performance")
    target = float(settings.server_target_qps) if scenario == "Server" else None
    row = dataclasses.replace(
        row,
        metric_name=name,
        metric_value=value,
        metric_unit=unit,
        valid=bool(result.valid),
        loadgen_errors=errors,
        notes=tuple(notes + more),
        target_qps=target,
    )
    shown = "n/a" if value is None else f"{value:,.3f} {unit}"
    say(
        f"mlpace: {scenario} performance: {shown} {'VALID' if result.valid else 'INVALID'} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    return row, settings


def _peak_estimate(ctx: Context) -> float:
    """The calibration's guess at the Server peak: the workers' single-sample capacity. A
    batching SUT does better, so a search peak below half of it means the probes met other
    work (the calibrated batch throughput overestimates a latency-bound Server run, and would
    repeat the search on every run)."""
    return ctx.cal.single_capacity_qps


def _default_server(
    ctx: Context,
    settings: TestSettings,
    perf_dir: Path,
    run_pass: Callable[[TestSettings, Path], Any],
    row: ScenarioRow,
) -> tuple[Any, TestSettings, ScenarioRow, list[str]]:
    """The short profile's Server figure: a peak search, then full runs from the peak down
    (:mod:`mlpace.workloads.peak`). Returns the reported outcome, its settings, the row with
    the peak and the attempt, and the notes for the console."""
    from mlpace.workloads._cpu_gate import CpuGate, LoadMeter

    plan, say = ctx.plan, ctx.say
    gate = CpuGate(say)
    # The first probe must hold its queries within PROBE_MS; a model too slow for that
    # misses at once, and its run falls back to the calibrated target (said below).
    fastest = peak_mod.PROBE_MIN_QUERIES * 1000 / peak_mod.PROBE_MS
    found = peak_mod.find_peak(
        run_pass,
        settings,
        lower_qps=max(_server_lower_bound(ctx), fastest),
        estimate_qps=_peak_estimate(ctx),
        peak_dir=plan.peak_dir,
        say=say,
        gate=gate,
    )
    notes = [*found.notes, _search_note(found.search)]
    if found.peak_qps is None:
        fallback = (
            f"no peak: running at the calibrated target {settings.server_target_qps:,.1f} "
            "QPS instead"
        )
        notes.append(fallback)
        say(f"mlpace: Server: {found.search.note}; {fallback}")
        return run_pass(settings, perf_dir), settings, row, notes
    figure = peak_mod.measure_at_peak(
        run_pass,
        settings,
        found.peak_qps,
        out_dir=perf_dir,
        attempts_dir=plan.peak_dir,
        say=say,
        gate=gate,
        meter=LoadMeter(),
    )
    notes += figure.notes
    say(f"mlpace: Server: {figure.notes[-1]}")
    row = dataclasses.replace(row, peak_qps=found.peak_qps, attempt=figure.attempt)
    settings = dataclasses.replace(
        settings, server_target_qps=figure.qps, min_query_count=figure.min_query_count
    )
    return figure.outcome, settings, row, notes


def _search_note(search: peak_mod.PeakSearch) -> str:
    probes = len(search.probes)
    if search.peak_qps is None:
        return f"peak search: {search.note} ({probes} probes, {search.seconds:.1f} s)"
    return (
        f"peak {search.peak_qps:,.1f} QPS within the latency bound (FindPeakPerformance, "
        f"{probes} probes, {search.seconds:.1f} s; logs in {search.log_dir})"
    )


def _accuracy(
    ctx: Context,
    scenario: str,
    settings: TestSettings,
    policy: BatchingPolicy,
    info: dict[str, object],
    row: ScenarioRow,
) -> ScenarioRow:
    acc_dir = ctx.plan.results_dir / scenario / "accuracy"
    ctx.say(f"mlpace: {scenario} accuracy ...")
    t0 = time.perf_counter()
    s = dataclasses.replace(settings, mode=TestMode.AccuracyOnly)
    outcome = _one_pass(ctx, s, acc_dir, policy, info)
    errors, notes = _pass_notes(outcome, "accuracy")
    acc_json = acc_dir / "mlperf_log_accuracy.json"
    report = ctx.plan.runnable.accuracy(acc_json, ctx.dataset)
    _write_text(acc_dir / "accuracy.txt", f"{report.text}\nhash={_sha256(acc_json)}\n")
    met = None if ctx.quality_target is None else report.value >= ctx.quality_target
    ctx.say(f"mlpace: {scenario} accuracy: {report.text} ({time.perf_counter() - t0:.1f} s)")
    return dataclasses.replace(
        row,
        accuracy=report,
        accuracy_met=met,
        accuracy_dir=acc_dir,
        loadgen_errors=row.loadgen_errors + errors,
        notes=row.notes + tuple(notes),
    )


def run_scenario(ctx: Context, scenario: str) -> ScenarioRow:
    plan, opts = ctx.plan, ctx.opts
    settings, warnings = scenario_settings(
        plan.task, scenario, plan.profile, ctx.cal, qsl_size=ctx.dataset.size, opts=opts
    )
    for w in warnings:
        ctx.say(f"mlpace: warning: {w}")
    if ctx.do_perf:
        from mlpace.workloads.preflight import check_memory

        size = ctx.dataset.size
        check_memory(settings, total=size, performance=size, label=scenario)
    if opts.max_wait_ms is not None:
        max_wait_ns = int(opts.max_wait_ms * 1e6)
    elif scenario == "Server":
        # Wait for a fuller batch at most 5 % of the latency bound.
        max_wait_ns = int(settings.server_target_latency_ns) // 20
    else:
        max_wait_ns = 0
    policy = BatchingPolicy(ctx.batch_size, max_wait_ns)
    row = ScenarioRow(scenario=scenario)
    info: dict[str, object] = {}
    try:
        if ctx.do_perf:
            row, settings = _performance(ctx, scenario, settings, policy, info)
        if ctx.do_acc:
            row = _accuracy(ctx, scenario, settings, policy, info, row)
    except (SutError, DatasetError) as exc:
        row = dataclasses.replace(row, error=str(exc))
        ctx.say(f"mlpace: {scenario}: failed: {exc}")
    return dataclasses.replace(row, sut=dict(info))
