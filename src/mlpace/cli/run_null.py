"""``mlpace run --sut null``: measure the load generator itself against a SUT that answers at once.

Each requested scenario (default: all four) runs into its own folder, ``DIR/<Scenario>/`` when
more than one runs, and prints its summary plus a one-line verdict. Exit status 0 when every run
is VALID and logged no error, 1 otherwise.

The null SUT has its own defaults, chosen so it produces VALID runs quickly; they replace
mlperf.conf's (600 s, 1 QPS) but a user.conf line or a flag that sets the same thing wins:

* 1 s minimum duration (``--min-duration`` changes it; 0 is allowed);
* SingleStream/MultiStream latency hints below what the null SUT reaches (1.5 µs per
  SingleStream query, 250 ns per MultiStream sample), so the pre-generated query list (twice
  the hint's rate times the duration) does not run out;
* Server at 10,000 QPS with a 100 ms latency bound;
* Offline: the null SUT answers as fast as the engine hands out ids (10M+ samples/s), and an
  Offline run is VALID only if its one query lasts the minimum duration, so the query must hold
  more samples than that rate times the duration; memory grows with it (~100-200 bytes per
  sample). The defaults are therefore a 0.1 s minimum duration and 30M samples/s expected
  (3.3M samples); an explicit duration keeps the query at most 20M samples.

With ``--user-conf`` or ``--mlperf-conf`` the settings start from mlperf.conf (its seeds), then
the null defaults, then user.conf, then the flags; user.conf lines that name another model than
``null`` or a scenario this run does not have are reported with their file and line.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from mlpace.errors import RunInterrupted, SutError

DEFAULT_OUTPUT = Path("mlpace-results") / "null"
DEFAULT_MIN_DURATION_S = 1.0
DEFAULT_SS_EXPECTED_LATENCY_NS = 1_500
DEFAULT_MS_EXPECTED_LATENCY_NS_PER_SAMPLE = 250
DEFAULT_SERVER_QPS = 10_000.0
DEFAULT_SERVER_LATENCY_NS = 100_000_000
DEFAULT_OFFLINE_QPS = 30_000_000.0
DEFAULT_OFFLINE_MIN_DURATION_S = 0.1
MAX_OFFLINE_NULL_SAMPLES = 20_000_000
DEFAULT_SAMPLE_COUNT = 1024
ALL_SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
NULL_MODEL = "null"


def _null_defaults(
    scenario: str, duration_s: float, spq: int, user_keys: frozenset[str]
) -> dict[str, Any]:
    """The null SUT's own settings, except the keys the user.conf sets."""
    # Offline: a query big enough to last the duration at ~20M samples/s, at most 20M samples.
    offline_qps = DEFAULT_OFFLINE_QPS
    if duration_s > 0:
        offline_qps = min(DEFAULT_OFFLINE_QPS, MAX_OFFLINE_NULL_SAMPLES / (1.1 * duration_s))
    defaults: dict[str, tuple[str, Any]] = {
        "min_duration_ms": ("min_duration", int(round(duration_s * 1000))),
        "single_stream_expected_latency_ns": (
            "target_latency" if scenario == "SingleStream" else "",
            DEFAULT_SS_EXPECTED_LATENCY_NS,
        ),
        "multi_stream_expected_latency_ns": (
            "target_latency" if scenario == "MultiStream" else "",
            DEFAULT_MS_EXPECTED_LATENCY_NS_PER_SAMPLE * spq,
        ),
        "server_target_qps": ("target_qps", DEFAULT_SERVER_QPS),
        "server_target_latency_ns": (
            "target_latency" if scenario == "Server" else "",
            DEFAULT_SERVER_LATENCY_NS,
        ),
        "offline_expected_qps": ("target_qps", offline_qps),
    }
    return {name: value for name, (key, value) in defaults.items() if key not in user_keys}


def null_settings(args: argparse.Namespace, scenario_name: str) -> tuple[Any, list[str]]:
    """The TestSettings for one null-SUT scenario and the warnings to show: mlperf.conf (when a
    config file is given), the null defaults, user.conf, then the flags."""
    from mlpace.loadgen.config import ConfType, apply_config, load_settings, read_config
    from mlpace.loadgen.enums import TestMode, TestScenario
    from mlpace.loadgen.settings import TestSettings
    from mlpace.workloads.config_report import keys_set

    scenario = TestScenario(scenario_name)
    warnings: list[str] = []
    user = read_config(args.user_conf, ConfType.USER) if args.user_conf else None
    if args.user_conf or args.mlperf_conf:
        base, warnings = load_settings(NULL_MODEL, scenario_name, mlperf_conf=args.mlperf_conf)
    else:
        base = TestSettings(scenario=scenario)
    user_keys = keys_set(user, NULL_MODEL, scenario_name)
    duration_s = args.min_duration
    if duration_s is None:
        offline = scenario == TestScenario.Offline
        duration_s = DEFAULT_OFFLINE_MIN_DURATION_S if offline else DEFAULT_MIN_DURATION_S
        if "min_duration" in user_keys and user is not None:
            entry = user.lookup(NULL_MODEL, scenario_name, "min_duration")
            if entry is not None:
                duration_s = int(str(entry.value_for("min_duration_ms"))) / 1000.0
    spq = args.samples_per_query or base.multi_stream_samples_per_query
    settings = dataclasses.replace(
        base, **_null_defaults(scenario_name, duration_s, spq, user_keys)
    )
    if user is not None:
        settings, more = apply_config(settings, user, model=NULL_MODEL, scenario=scenario_name)
        warnings += more
    changes: dict[str, Any] = {"scenario": scenario}
    if args.mode:
        changes["mode"] = TestMode(args.mode)
    if args.min_duration is not None:
        changes["min_duration_ms"] = int(round(args.min_duration * 1000))
    if args.max_duration is not None:
        changes["max_duration_ms"] = int(round(args.max_duration * 1000))
    if args.min_query_count is not None:
        changes["min_query_count"] = args.min_query_count
    if args.samples_per_query is not None:
        changes["multi_stream_samples_per_query"] = args.samples_per_query
    if args.target_qps is not None:
        changes["server_target_qps"] = args.target_qps
        changes["offline_expected_qps"] = args.target_qps
    if args.target_latency_ms is not None:
        changes["server_target_latency_ns"] = max(1, int(round(args.target_latency_ms * 1e6)))
    if args.expected_latency_ms is not None:
        ns = max(1, int(round(args.expected_latency_ms * 1e6)))
        changes["single_stream_expected_latency_ns"] = ns
        changes["multi_stream_expected_latency_ns"] = ns
    return dataclasses.replace(settings, **changes), warnings


def _unused_user_lines(args: argparse.Namespace, scenarios: list[str]) -> list[str]:
    if not args.user_conf:
        return []
    from mlpace.loadgen.config import ConfType, read_config
    from mlpace.workloads.config_report import unused_lines

    config = read_config(args.user_conf, ConfType.USER)
    return [
        u.format() for u in unused_lines(config, NULL_MODEL, scenarios, model_label="--sut null")
    ]


def _verdict(outcome: Any, errors: int) -> tuple[str, bool]:
    perf = outcome.performance
    if perf is None:
        ok = bool(outcome.valid) and not errors
        text = "accuracy pass complete" if ok else "accuracy pass FAILED"
    else:
        ok = bool(perf.result.valid) and not errors
        text = "VALID" if perf.result.valid else "INVALID"
    if errors:
        text += f", {errors} LoadGen error{'s' if errors != 1 else ''}"
    return text, ok


def _warn(text: str) -> None:
    print(f"mlpace: warning: {text}", file=sys.stderr, flush=True)


def _report(name: str, outcome: Any, out_dir: Path) -> bool:
    """Print the summary, the verdict and every problem; True when all is well."""
    from mlpace.explain import failed_checks, read_detail_log, summary_warnings

    print(outcome.summary, end="" if outcome.summary.endswith("\n") else "\n")
    problems = read_detail_log(outcome.log_paths["detail"])
    verdict, ok = _verdict(outcome, problems.error_count)
    print(f"mlpace: {name}: {verdict} (logs in {out_dir})", flush=True)
    perf = outcome.performance
    for line in failed_checks(perf.result) if perf is not None else []:
        print(f"  INVALID because {line}", flush=True)
    for line in problems.error_lines():
        print(f"  {line}", file=sys.stderr, flush=True)
    for line in summary_warnings(outcome.summary):
        print(f"  {line}", file=sys.stderr, flush=True)
    if name == "Offline" and perf is not None and not perf.result.passed("min_duration"):
        print(
            "mlpace: Offline: the null SUT finished its one query before the minimum "
            "duration; raise --target-qps (a bigger query, ~150 bytes per sample) or "
            "lower --min-duration",
            file=sys.stderr,
        )
    return ok


def run_null(args: argparse.Namespace) -> int:
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
    from mlpace.loadgen.null_sut import NullQSL, NullSUT
    from mlpace.report.record import recorder_from_args
    from mlpace.workloads.outdir import prepare_output
    from mlpace.workloads.preflight import check_memory

    scenarios = list(dict.fromkeys(args.scenario or ALL_SCENARIOS))
    base_dir = Path(args.output) if args.output else DEFAULT_OUTPUT
    out_dirs = {s: base_dir / s if len(scenarios) > 1 else base_dir for s in scenarios}
    # Every setting is built (and refused if wrong, or too big for memory) before anything is
    # written.
    planned = {s: null_settings(args, s) for s in scenarios}
    total = args.sample_count or DEFAULT_SAMPLE_COUNT
    for name, (settings, _) in planned.items():
        check_memory(settings, total=total, performance=total, label=name)
    policy = "replace" if args.force else ("refuse" if args.output else "move-aside")
    for line in prepare_output(base_dir, list(out_dirs.values()), policy=policy, recursive=False):
        print(line, file=sys.stderr, flush=True)
    for line in _unused_user_lines(args, scenarios):
        _warn(line)
    completion = args.completion or "inline"
    recorder = recorder_from_args(args, task="null", system="null", completion=completion)
    all_ok = True
    for name in scenarios:
        out_dir = out_dirs[name]
        settings, warnings = planned[name]
        for warning in warnings:
            _warn(warning)
        log_settings = LogSettings(
            log_output=LogOutputSettings(outdir=str(out_dir)), enable_trace=not args.no_trace
        )
        sut = NullSUT(completion=completion, delay_ns=round(args.delay_us * 1000))
        qsl = NullQSL(total, total)
        if not args.quiet:
            print(
                f"mlpace: running {name} on the null SUT ({completion} completion) -> {out_dir}",
                file=sys.stderr,
                flush=True,
            )
        try:
            outcome = run_test(
                sut,
                qsl,
                settings,
                log_settings,
                audit_config=args.audit_conf,
                observer=recorder.observer(),
            )
        except RunInterrupted as exc:
            raise RunInterrupted(f"{name}: {exc} (in {out_dir})", exit_code=exc.exit_code) from None
        except SutError as exc:
            print(f"mlpace: {name}: the run failed: {exc}", file=sys.stderr)
            print(f"mlpace: {name}: INVALID (logs in {out_dir})")
            all_ok = False
            continue
        finally:
            sut.close()
        recorder.pass_done(outcome, out_dir)
        all_ok = _report(name, outcome, out_dir) and all_ok
    recorder.finish(base_dir, say=lambda line: print(line, file=sys.stderr))
    return 0 if all_ok else 1
