"""``mlpace run``: one inference benchmark (a task on a backend, or the built-in null SUT)."""

from __future__ import annotations

import argparse
from typing import Any

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
MODES = ("PerformanceOnly", "AccuracyOnly", "SubmissionRun", "FindPeakPerformance")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run an inference benchmark (default: the embedded digits classifier)",
        description=(
            "Run an MLPerf inference benchmark. With no arguments, runs the embedded default: a "
            "digits classifier on the real scikit-learn digits data, all four scenarios plus "
            "accuracy, with a short-run settings profile. With --sut null, measures the load "
            "generator itself against a system under test that answers at once."
        ),
        epilog=_task_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", nargs="?", default=None, help="task name (see the list below)")
    p.add_argument(
        "--sut",
        choices=("null",),
        default=None,
        help="built-in system under test instead of a task: 'null' completes every sample at once",
    )
    p.add_argument(
        "--completion",
        choices=("inline", "thread"),
        default="inline",
        help="null SUT: complete inside issue_queries (inline) or from a worker thread",
    )
    p.add_argument(
        "--delay-us",
        type=float,
        default=0.0,
        metavar="US",
        help="null SUT: busy-wait this many microseconds per query before completing it",
    )
    p.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        default=None,
        help="scenario to run (repeatable; default: all the task supports)",
    )
    p.add_argument("--mode", choices=MODES, default=None, help="test mode")
    p.add_argument("--target-qps", type=float, default=None, help="Server/Offline target QPS")
    p.add_argument("--target-latency-ms", type=float, default=None, help="Server latency bound")
    p.add_argument(
        "--expected-latency-ms", type=float, default=None, help="SingleStream/MultiStream hint"
    )
    p.add_argument("--min-duration", type=float, default=None, metavar="SECONDS")
    p.add_argument("--max-duration", type=float, default=None, metavar="SECONDS")
    p.add_argument("--min-query-count", type=int, default=None)
    p.add_argument("--samples-per-query", type=int, default=None, help="MultiStream")
    p.add_argument("--output", default=None, metavar="DIR", help="where the logs go")
    p.add_argument("--user-conf", default=None, metavar="FILE", help="user.conf to apply")
    p.add_argument(
        "--mlperf-conf", default=None, metavar="FILE", help="replace built-in mlperf.conf"
    )
    p.add_argument("--audit-conf", default=None, metavar="FILE", help="audit.config to apply")
    p.add_argument("--no-trace", action="store_true", help="do not write mlperf_log_trace.json")
    p.add_argument("--sample-count", type=int, default=None, help="null SUT: QSL size")
    # workload options
    p.add_argument("--backend", default=None, help="numpy, onnxruntime or torch")
    p.add_argument("--dataset", default=None, help="'synthetic' or a path to the real data set")
    p.add_argument("--model-path", default=None, help="model file (default: the task's own)")
    p.add_argument(
        "--profile",
        choices=("short", "official", "tiny"),
        default=None,
        help="short (default; seconds per scenario, not valid for submission), official "
        "(mlperf.conf durations) or tiny (smoke tests)",
    )
    p.add_argument("--system", default=None, help="system name for the results layout")
    p.add_argument(
        "--threads", type=int, default=None, help="framework (intra-op) threads per worker"
    )
    p.add_argument("--workers", type=int, default=None, help="SUT worker threads")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--max-wait-ms", type=float, default=None, help="Server dynamic batching wait")
    p.add_argument("--device", default=None, help="cpu or cuda (torch backend)")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    p.add_argument("--no-report", action="store_true", help="do not write report.html")
    p.add_argument("--no-history", action="store_true", help="do not record the run")
    p.add_argument(
        "--history", default=None, metavar="FILE", help="history database (default: see README)"
    )
    p.set_defaults(handler=handle)


def _task_epilog() -> str:
    try:
        from mlpace.workloads.registry import describe_tasks

        return describe_tasks()
    except ImportError:  # workloads not installed in a stripped build
        return ""


def handle(args: argparse.Namespace) -> int:
    if args.sut == "null":
        from mlpace.cli.run_null import run_null

        return run_null(args)
    from mlpace.cli.run_workload import run_workload

    return run_workload(args)
