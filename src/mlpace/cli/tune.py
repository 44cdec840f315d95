"""``mlpace tune-threads TASK``: sweep intra-op threads, inter-op pools, workers and batch size.

The work is :func:`mlpace.workloads.tuning_run.tune_threads`; this module parses flags, prints
the progress (stderr), the table and the verdict (stdout) and the files written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlpace.cli import _flags as F


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "tune-threads",
        aliases=["tune"],
        help="find the best thread settings of a task on an in-process backend",
        description=(
            "Sweep intra-op threads, inter-op pools (ONNX Runtime's parallel executor), SUT "
            "workers and batch size over a grid pruned by the rules of arXiv:1908.04705 "
            "(threads x pools x workers <= physical cores, hyper-threads counted out, pools only "
            "for wide graphs), measuring every point with the LoadGen (Offline samples/s, or "
            "Server peak QPS within the latency bound) in alternating rounds. Prints the table, "
            "the best setting and its speedup over the framework default and the Intel-style "
            "rule; writes threads.json (for mlpace run --threads-from), sweep.json, sweep.md and "
            "a plot. --budget is respected; Ctrl-C keeps the points measured so far. Exit "
            "status: 0 a best setting was found, 1 none, 2 bad input, 130/143 stopped by a "
            "signal (files written)."
        ),
    )
    p.add_argument("task", help="task name (see mlpace run --help)")
    p.add_argument(
        "--backend", default=None, help="numpy, onnxruntime or torch (default: the task's)"
    )
    p.add_argument(
        "--scenario",
        choices=("Offline", "Server"),
        default="Offline",
        help="Offline (samples/s, the default) or Server (peak QPS within the latency bound)",
    )
    p.add_argument(
        "--budget",
        type=F.number("seconds", 1.0, F.MAX_SECONDS),
        default=300.0,
        metavar="SECONDS",
        help="wall-clock budget of the sweep in seconds (default 300; model loading excluded)",
    )
    p.add_argument(
        "--repeats",
        type=F.count("repeats", 1, 100),
        default=3,
        metavar="N",
        help="measurements per point, in alternating rounds (1 to 100; default 3)",
    )
    p.add_argument(
        "--max-repeats",
        type=F.count("repeats", 1, 1000),
        default=9,
        metavar="N",
        help="more whole rounds while the budget lasts, up to N repeats per point (default 9; "
        "below --repeats: --repeats)",
    )
    p.add_argument(
        "--pass-ms",
        type=F.count("milliseconds", 100, 600_000),
        default=1500,
        metavar="MS",
        help="length of one LoadGen pass (Server: of one probe) in ms (100 to 600,000; "
        "default 1500)",
    )
    p.add_argument(
        "--batch-size",
        type=F.count("samples", 1, 1_000_000),
        action="append",
        default=None,
        metavar="N",
        help="batch size to try (repeatable; default: a quarter of, equal to and 4x the task's)",
    )
    p.add_argument(
        "--max-points",
        type=F.count("points", 3, 10_000),
        default=24,
        metavar="N",
        help="most grid points to measure, reference points included (3 to 10,000; default 24)",
    )
    p.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="folder for the files (default: mlpace-results/tuning/TASK/BACKEND-SCENARIO)",
    )
    p.add_argument(
        "--write",
        default=None,
        metavar="FILE",
        help="also write the best settings to FILE (for mlpace run --threads-from FILE)",
    )
    p.add_argument(
        "--dataset", default=None, metavar="PATH", help="'synthetic' or a path to the real data"
    )
    p.add_argument("--model-path", default=None, metavar="FILE", help="model file")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from mlpace.workloads.tuning_run import TuneOptions, tune_threads

    opts = TuneOptions(
        task=args.task,
        backend=args.backend,
        scenario=args.scenario,
        budget_s=args.budget,
        repeats=args.repeats,
        max_repeats=args.max_repeats,
        pass_ms=args.pass_ms,
        batches=tuple(dict.fromkeys(args.batch_size)) if args.batch_size else None,
        max_points=args.max_points,
        output_dir=Path(args.output) if args.output else None,
        threads_file=Path(args.write) if args.write else None,
        dataset=args.dataset,
        model_path=args.model_path,
    )
    outcome = tune_threads(opts, say=None if args.quiet else _progress)
    print(outcome.table, flush=True)
    for what, path in outcome.files.items():
        print(f"{what}: {path}", flush=True)
    if "threads" in outcome.files:
        path = outcome.files.get("threads_copy", outcome.files["threads"])
        print(f"apply with: mlpace run {outcome.sweep.task} --threads-from {path}", flush=True)
    return outcome.exit_code


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
