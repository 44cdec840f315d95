"""``mlpace run [TASK]``: a registered task on a backend (default: the embedded digits run).

Prints live progress on stderr (one line per pass; none with ``--quiet``), problems found before
the run (user.conf lines that apply to nothing, an earlier run moved aside) on stderr, and the
final table on stdout, with the reasons for every INVALID result, the LoadGen errors and the
summaries' warnings below it. Exit status 0 only when every scenario is VALID, logged no LoadGen
error and every accuracy pass met its target.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def options_from_args(args: argparse.Namespace) -> Any:
    """Translate parsed ``mlpace run`` flags into :class:`mlpace.workloads.runner.RunOptions`."""
    from mlpace.report.record import recorder_from_args
    from mlpace.workloads.runner import DEFAULT_OUTPUT, RunOptions

    overrides: dict[str, Any] = {}
    if args.target_qps is not None:
        overrides["server_target_qps"] = args.target_qps
        overrides["offline_expected_qps"] = args.target_qps
    if args.target_latency_ms is not None:
        overrides["server_target_latency_ns"] = max(1, int(round(args.target_latency_ms * 1e6)))
    if args.expected_latency_ms is not None:
        ns = max(1, int(round(args.expected_latency_ms * 1e6)))
        overrides["single_stream_expected_latency_ns"] = ns
        overrides["multi_stream_expected_latency_ns"] = ns
    if args.min_duration is not None:
        overrides["min_duration_ms"] = int(round(args.min_duration * 1000))
    if args.max_duration is not None:
        overrides["max_duration_ms"] = int(round(args.max_duration * 1000))
    if args.min_query_count is not None:
        overrides["min_query_count"] = args.min_query_count
    if args.samples_per_query is not None:
        overrides["multi_stream_samples_per_query"] = args.samples_per_query
    return RunOptions(
        task=args.task or "digits",
        backend=args.backend,
        scenarios=tuple(args.scenario) if args.scenario else None,
        mode=args.mode,
        dataset=args.dataset,
        model_path=args.model_path,
        profile=args.profile or "short",
        output_dir=Path(args.output) if args.output else DEFAULT_OUTPUT,
        system=args.system,
        threads=args.threads,
        workers=getattr(args, "workers", None),
        batch_size=args.batch_size,
        max_wait_ms=args.max_wait_ms,
        device=args.device,
        user_conf=args.user_conf,
        mlperf_conf=args.mlperf_conf,
        audit_conf=args.audit_conf,
        overrides=overrides,
        enable_trace=not args.no_trace,
        recorder=recorder_from_args(args),
        output_policy="replace" if args.force else ("refuse" if args.output else "move-aside"),
    )


def run_workload(args: argparse.Namespace) -> int:
    from mlpace.workloads.runner import run_task

    opts = options_from_args(args)
    if getattr(args, "threads_from", None):
        from mlpace.workloads.tuning_file import apply_thread_settings, read_thread_settings

        opts, warnings = apply_thread_settings(opts, read_thread_settings(args.threads_from))
        for line in warnings:
            _progress(line)
    if args.check_rules or opts.profile == "official":
        report = _rule_check(args, opts)
        if args.check_rules:
            print(report.format(), flush=True)
            return 1 if report.violations else 0
        _progress(f"mlpace: {report.format()}")
    progress = None if args.quiet else _progress
    run = run_task(opts, progress=progress, warn=_progress)
    print(run.table, flush=True)
    return 0 if run.ok else 1


def _rule_check(args: argparse.Namespace, opts: Any) -> Any:
    from mlpace.submission.prerun import check_run_rules, default_division

    division = args.division or default_division(opts.task)
    return check_run_rules(opts, division=division, system_type=args.system_type or "edge")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
