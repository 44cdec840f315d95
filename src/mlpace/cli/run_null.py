"""``mlpace run --sut null``: measure the load generator itself against a SUT that answers at once.

Each requested scenario (default: all four) runs into its own folder, ``DIR/<Scenario>/`` when
more than one runs, and prints its summary plus a one-line verdict. Exit status 0 when every run
is VALID, 1 otherwise.

The defaults are chosen so the null SUT produces VALID runs quickly:

* 1 s minimum duration (``--min-duration`` changes it);
* SingleStream/MultiStream latency hints below what the null SUT reaches (1.5 µs per
  SingleStream query, 250 ns per MultiStream sample), so the pre-generated query list (twice
  the hint's rate times the duration) does not run out;
* Server at 10,000 QPS with a 100 ms latency bound;
* Offline: the null SUT answers as fast as the engine hands out ids (10M+ samples/s), and an
  Offline run is VALID only if its one query lasts the minimum duration, so the query must hold
  more samples than that rate times the duration; memory grows with it (~100-200 bytes per
  sample). The defaults are therefore a 0.1 s minimum duration and 30M samples/s expected
  (3.3M samples); an explicit duration keeps the query at most 20M samples.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from mlpace.errors import MlpaceError, SutError

DEFAULT_OUTPUT = Path("mlpace-results") / "null"
DEFAULT_MIN_DURATION_S = 1.0
DEFAULT_SS_EXPECTED_LATENCY_NS = 1_500
DEFAULT_MS_EXPECTED_LATENCY_NS_PER_SAMPLE = 250
DEFAULT_SERVER_QPS = 10_000.0
DEFAULT_OFFLINE_QPS = 30_000_000.0
DEFAULT_OFFLINE_MIN_DURATION_S = 0.1
MAX_OFFLINE_NULL_SAMPLES = 20_000_000
DEFAULT_SAMPLE_COUNT = 1024
ALL_SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")


def null_settings(args: argparse.Namespace, scenario_name: str) -> Any:
    """The TestSettings for one null-SUT scenario: config files first, then the flags."""
    from mlpace.loadgen.enums import TestMode, TestScenario
    from mlpace.loadgen.settings import TestSettings

    scenario = TestScenario(scenario_name)
    changes: dict[str, Any] = {}
    if args.user_conf or args.mlperf_conf:
        from mlpace.loadgen.config import load_settings

        base, warnings = load_settings(
            "null",
            scenario_name,
            user_conf=args.user_conf,
            mlperf_conf=args.mlperf_conf,
        )
        for warning in warnings:
            print(f"mlpace: warning: {warning}", file=sys.stderr)
    else:
        base = TestSettings()
        spq = args.samples_per_query or 8
        offline = scenario == TestScenario.Offline
        duration_s = args.min_duration
        if duration_s is None:
            duration_s = DEFAULT_OFFLINE_MIN_DURATION_S if offline else DEFAULT_MIN_DURATION_S
        offline_qps = min(DEFAULT_OFFLINE_QPS, MAX_OFFLINE_NULL_SAMPLES / (1.1 * duration_s))
        changes.update(
            min_duration_ms=int(round(duration_s * 1000)),
            single_stream_expected_latency_ns=DEFAULT_SS_EXPECTED_LATENCY_NS,
            multi_stream_expected_latency_ns=DEFAULT_MS_EXPECTED_LATENCY_NS_PER_SAMPLE * spq,
            server_target_qps=DEFAULT_SERVER_QPS,
            offline_expected_qps=offline_qps,
        )
    changes["scenario"] = scenario
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
        changes["server_target_latency_ns"] = int(round(args.target_latency_ms * 1e6))
    if args.expected_latency_ms is not None:
        ns = int(round(args.expected_latency_ms * 1e6))
        changes["single_stream_expected_latency_ns"] = ns
        changes["multi_stream_expected_latency_ns"] = ns
    return dataclasses.replace(base, **changes)


def _verdict(outcome: Any) -> str:
    perf = outcome.performance
    if perf is None:
        return "accuracy pass complete" if outcome.valid else "accuracy pass INVALID"
    return "VALID" if perf.result.valid else "INVALID"


def run_null(args: argparse.Namespace) -> int:
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
    from mlpace.loadgen.null_sut import NullQSL, NullSUT
    from mlpace.report.record import recorder_from_args

    recorder = recorder_from_args(args, task="null", system="null", completion=args.completion)

    scenarios = list(dict.fromkeys(args.scenario or ALL_SCENARIOS))
    base_dir = Path(args.output) if args.output else DEFAULT_OUTPUT
    total = args.sample_count or DEFAULT_SAMPLE_COUNT
    all_ok = True
    for name in scenarios:
        out_dir = base_dir / name if len(scenarios) > 1 else base_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        settings = null_settings(args, name)
        log_settings = LogSettings(
            log_output=LogOutputSettings(outdir=str(out_dir)), enable_trace=not args.no_trace
        )
        sut = NullSUT(completion=args.completion, delay_ns=round(args.delay_us * 1000))
        qsl = NullQSL(total, total)
        if not args.quiet:
            print(
                f"mlpace: running {name} on the null SUT ({args.completion} completion) "
                f"-> {out_dir}",
                file=sys.stderr,
                flush=True,
            )
        try:
            outcome = run_test(sut, qsl, settings, log_settings, audit_config=args.audit_conf)
        except SutError as exc:
            print(f"mlpace: {name}: the run failed: {exc}", file=sys.stderr)
            print(f"mlpace: {name}: INVALID (logs in {out_dir})")
            all_ok = False
            continue
        except MlpaceError:
            raise
        finally:
            sut.close()
        recorder.pass_done(outcome, out_dir)
        print(outcome.summary, end="" if outcome.summary.endswith("\n") else "\n")
        verdict = _verdict(outcome)
        ok = verdict in ("VALID", "accuracy pass complete")
        all_ok = all_ok and ok
        print(f"mlpace: {name}: {verdict} (logs in {out_dir})", flush=True)
        perf = outcome.performance
        if name == "Offline" and perf is not None and not perf.result.passed("min_duration"):
            print(
                "mlpace: Offline: the null SUT finished its one query before the minimum "
                "duration; raise --target-qps (a bigger query, ~150 bytes per sample) or "
                "lower --min-duration",
                file=sys.stderr,
            )
    recorder.finish(base_dir, say=lambda line: print(line, file=sys.stderr))
    return 0 if all_ok else 1
