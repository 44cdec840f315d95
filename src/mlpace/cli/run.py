"""``mlpace run``: one inference benchmark (a task on a backend, or the built-in null SUT).

Every numeric flag is range-checked as it is parsed (see :mod:`mlpace.cli._flags`); flags that
cannot apply to this run (a task flag with ``--sut null``, ``--target-latency-ms`` without the
Server scenario, FindPeakPerformance on anything but Server) are refused before any work starts.
"""

from __future__ import annotations

import argparse
from typing import Any

from mlpace.cli import _flags as F
from mlpace.cli import run_http
from mlpace.errors import MlpaceError

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
MODES = ("PerformanceOnly", "AccuracyOnly", "SubmissionRun", "FindPeakPerformance")

# Flags of a task run that mean nothing to the null SUT, and the reverse (dest -> flag).
TASK_ONLY = {
    "backend": "--backend",
    "dataset": "--dataset",
    "model_path": "--model-path",
    "profile": "--profile",
    "system": "--system",
    "threads": "--threads",
    "workers": "--workers",
    "threads_from": "--threads-from",
    "batch_size": "--batch-size",
    "max_wait_ms": "--max-wait-ms",
    "device": "--device",
    "check_rules": "--check-rules",
    "division": "--division",
    "system_type": "--system-type",
}
NULL_ONLY = {"sample_count": "--sample-count", "completion": "--completion"}
# Flags that only some scenarios read (dest -> (flag, scenarios)).
SCENARIO_ONLY = {
    "target_qps": ("--target-qps", ("Server", "Offline")),
    "target_latency_ms": ("--target-latency-ms", ("Server",)),
    "expected_latency_ms": ("--expected-latency-ms", ("SingleStream", "MultiStream")),
    "samples_per_query": ("--samples-per-query", ("MultiStream",)),
}


class UsageError(MlpaceError):
    """A flag that cannot apply to this run (exit status 2)."""


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run an inference benchmark (default: the embedded digits classifier)",
        description=(
            "Run an MLPerf inference benchmark. With no arguments, runs the embedded default: a "
            "digits classifier on the real scikit-learn digits data, all four scenarios plus "
            "accuracy, with a short-run settings profile; its Server figure is the measured peak "
            "VALID rate: a short FindPeakPerformance search, then full runs from that peak down "
            "until one is VALID (at most 6 within 60 s, each step's reason printed). "
            "With --sut null, measures the load generator itself against a system under test "
            "that answers at once. Exit status: 0 all VALID, 1 a run was INVALID or logged "
            "errors, 2 bad input, 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (logs complete)."
        ),
        epilog=_task_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "task", nargs="?", default=None, help="task name (default: digits; the list is below)"
    )
    p.add_argument(
        "--sut",
        type=run_http.sut_value,
        default=None,
        metavar="null|URL",
        help="system under test instead of a task: 'null' completes every sample at once; "
        "http://HOST:PORT/v1 drives an OpenAI-compatible streaming endpoint (needs --model; "
        "default scenario Server; see 'mlpace serve' for a local one)",
    )
    p.add_argument(
        "--completion",
        choices=("inline", "thread"),
        default=None,
        help="null SUT only: complete inside issue_queries (inline, the default) or from a "
        "worker thread",
    )
    p.add_argument(
        "--delay-us",
        type=F.number("microseconds", 0.0, 1_000_000.0),
        default=0.0,
        metavar="US",
        help="null SUT only: busy-wait this many microseconds per query before completing it "
        "(0 to 1,000,000)",
    )
    p.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        default=None,
        help="scenario to run (repeatable; default: all the task supports)",
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help="LoadGen test mode (default: performance, plus accuracy when data and weights are "
        "real); FindPeakPerformance searches the highest Server QPS meeting the latency bound "
        "and needs --scenario Server",
    )
    p.add_argument(
        "--target-qps",
        type=F.rate(),
        default=None,
        metavar="QPS",
        help="Server: target queries per second (FindPeakPerformance: the search's lower "
        "bound); Offline: expected samples per second. A number > 0",
    )
    p.add_argument(
        "--target-latency-ms",
        type=F.milliseconds(allow_zero=False),
        default=None,
        metavar="MS",
        help="Server: latency bound in milliseconds at the target percentile (p99 unless a "
        "config changes it); > 0. Default: the task's bound from mlperf.conf",
    )
    p.add_argument(
        "--expected-latency-ms",
        type=F.milliseconds(allow_zero=False),
        default=None,
        metavar="MS",
        help="SingleStream/MultiStream: expected latency of one query in milliseconds, the "
        "hint that sizes the run; > 0",
    )
    p.add_argument(
        "--min-duration",
        type=F.seconds(),
        default=None,
        metavar="SECONDS",
        help=f"minimum duration of a performance pass in seconds, 0 to {F.MAX_SECONDS:,.0f} "
        "(0: no minimum, as compliance TEST06 uses)",
    )
    p.add_argument(
        "--max-duration",
        type=F.seconds(),
        default=None,
        metavar="SECONDS",
        help="maximum duration of a performance pass in seconds (0: no limit); not below "
        "--min-duration",
    )
    p.add_argument(
        "--min-query-count",
        type=F.count("queries", 0),
        default=None,
        metavar="N",
        help="minimum number of queries in a performance pass (>= 0)",
    )
    p.add_argument(
        "--samples-per-query",
        type=F.count("samples", 1),
        default=None,
        metavar="N",
        help="MultiStream: samples per query (>= 1; default 8)",
    )
    p.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="folder for the logs (default: mlpace-results, where an earlier run is moved "
        "aside to previous/); a folder given here that holds a run is refused unless --force",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the earlier run's log files in --output",
    )
    p.add_argument("--user-conf", default=None, metavar="FILE", help="user.conf to apply")
    p.add_argument(
        "--mlperf-conf", default=None, metavar="FILE", help="replace the built-in mlperf.conf"
    )
    p.add_argument(
        "--audit-conf", default=None, metavar="FILE", help="audit.config to apply (compliance)"
    )
    p.add_argument("--no-trace", action="store_true", help="do not write mlperf_log_trace.json")
    p.add_argument(
        "--sample-count",
        type=F.count("samples", 1, 1_000_000_000),
        default=None,
        metavar="N",
        help="null SUT only: samples in the sample library (1 to 1,000,000,000; default 1024)",
    )
    # workload options
    p.add_argument("--backend", default=None, help="numpy, onnxruntime or torch")
    p.add_argument(
        "--dataset", default=None, metavar="PATH", help="'synthetic' or a path to the real data"
    )
    p.add_argument(
        "--model-path", default=None, metavar="FILE", help="model file (default: the task's own)"
    )
    p.add_argument(
        "--profile",
        choices=("short", "official", "tiny"),
        default=None,
        help="short (default; seconds per scenario, not valid for submission), official "
        "(mlperf.conf durations) or tiny (smoke tests)",
    )
    p.add_argument("--system", default=None, help="system name for the results layout")
    p.add_argument(
        "--threads",
        type=F.count("threads", 1, 4096),
        default=None,
        metavar="N",
        help="framework (intra-op) threads per worker (1 to 4096)",
    )
    p.add_argument(
        "--workers",
        type=F.count("workers", 1, 4096),
        default=None,
        metavar="N",
        help="SUT worker threads (1 to 4096; default: one per core for small models)",
    )
    p.add_argument(
        "--threads-from",
        default=None,
        metavar="FILE",
        help="apply the best thread settings a sweep wrote (threads.json of mlpace "
        "tune-threads): threads, workers, batch size, inter-op options; flags given here win",
    )
    p.add_argument(
        "--batch-size",
        type=F.count("samples", 1, 1_000_000),
        default=None,
        metavar="N",
        help="largest batch a worker runs, in samples (1 to 1,000,000; default: the task's)",
    )
    p.add_argument(
        "--max-wait-ms",
        type=F.milliseconds(allow_zero=True, high=60_000.0),
        default=None,
        metavar="MS",
        help="longest wait for a fuller batch, in milliseconds (0 to 60,000; default: 5%% of "
        "the Server latency bound, 0 elsewhere)",
    )
    p.add_argument("--device", default=None, help="cpu or cuda (torch backend)")
    p.add_argument(
        "--check-rules",
        action="store_true",
        default=None,
        help="only check the settings against the submission checker's rules (in well under a "
        "second, nothing runs); exit 1 when a setting would fail. --profile official runs do "
        "this check first anyway",
    )
    p.add_argument(
        "--division",
        choices=("closed", "open", "network"),
        default=None,
        help="division the rule check applies (default: closed for MLPerf benchmarks, open "
        "for mlpace's own tasks)",
    )
    p.add_argument(
        "--system-type",
        choices=("edge", "datacenter", "datacenter,edge"),
        default=None,
        help="system type whose required scenarios the rule check applies (default edge)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines on stderr; the results (summaries, verdicts, the final table) "
        "and every problem still print",
    )
    p.add_argument("--no-report", action="store_true", help="do not write report.html")
    p.add_argument("--no-history", action="store_true", help="do not record the run")
    p.add_argument(
        "--history", default=None, metavar="FILE", help="history database (default: see README)"
    )
    run_http.add_flags(p)
    p.set_defaults(handler=handle)


def _task_epilog() -> str:
    try:
        from mlpace.workloads.registry import describe_tasks

        return describe_tasks()
    except ImportError:  # workloads not installed in a stripped build
        return ""


def run_scenarios(args: argparse.Namespace) -> tuple[str, ...]:
    """The scenarios this run will execute, in order."""
    if args.scenario:
        return tuple(dict.fromkeys(args.scenario))
    if args.sut == "null":
        return SCENARIOS
    if run_http.is_url(args.sut):
        return run_http.DEFAULT_SCENARIOS
    from mlpace.workloads.registry import get_task

    return tuple(get_task(args.task or "digits").scenarios)


def check_flags(args: argparse.Namespace) -> None:
    """Refuse flags that cannot apply to this run, naming the flag and the reason."""
    null = args.sut == "null"
    if null and args.task:
        raise UsageError(f"--sut null runs the null SUT; drop the task name {args.task!r}")
    problem = run_http.check_flags(args)
    if problem:
        raise UsageError(problem)
    url = run_http.is_url(args.sut)
    wrong_side = NULL_ONLY if not null else TASK_ONLY
    if url:  # an HTTP run takes --dataset (its prompts) and nothing else of a task's
        wrong_side = {**NULL_ONLY, **{k: v for k, v in TASK_ONLY.items() if k != "dataset"}}
    for dest, flag in wrong_side.items():
        if getattr(args, dest, None) is not None:
            where = "--sut null only" if not null else "task runs, not --sut null"
            if url:
                where = "--sut null only" if dest in NULL_ONLY else "task runs, not --sut URL"
            raise UsageError(f"{flag} applies to {where}")
    scenarios = run_scenarios(args)
    for dest, (flag, used_by) in SCENARIO_ONLY.items():
        if getattr(args, dest) is not None and not set(used_by) & set(scenarios):
            raise UsageError(
                f"{flag} applies to {' and '.join(used_by)} only; this run has "
                f"{', '.join(scenarios)}"
            )
    if args.mode == "FindPeakPerformance" and scenarios != ("Server",):
        raise UsageError(
            "--mode FindPeakPerformance searches the Server scenario's peak QPS and is defined "
            f"for Server only; add --scenario Server (this run has {', '.join(scenarios)})"
        )
    if (
        args.min_duration is not None
        and args.max_duration
        and args.max_duration < args.min_duration
    ):
        raise UsageError(
            f"--max-duration {args.max_duration:g} s is below --min-duration "
            f"{args.min_duration:g} s; raise it, or give 0 for no limit"
        )
    for dest, flag in (
        ("user_conf", "--user-conf"),
        ("mlperf_conf", "--mlperf-conf"),
        ("audit_conf", "--audit-conf"),
        ("threads_from", "--threads-from"),
    ):
        _check_readable_file(getattr(args, dest), flag)


def _check_readable_file(path: str | None, flag: str) -> None:
    import os

    if path is None:
        return
    if not os.path.exists(path):
        raise UsageError(f"{flag} {path}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path}: is a folder, not a file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{flag} {path}: no permission to read it")


def handle(args: argparse.Namespace) -> int:
    check_flags(args)
    if args.sut == "null":
        from mlpace.cli.run_null import run_null

        return run_null(args)
    if run_http.is_url(args.sut):
        return run_http.run_http_cli(args)
    from mlpace.cli.run_workload import run_workload

    return run_workload(args)
