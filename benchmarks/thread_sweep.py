"""Thread-settings sweeps for BENCHMARKS.md: ``mlpace tune-threads`` on several tasks.

    python benchmarks/thread_sweep.py --budget 300 minilm-encoder:onnxruntime digits:onnxruntime
    python benchmarks/thread_sweep.py --budget 60 --markdown out.md digits:numpy

Each TASK:BACKEND pair runs one sweep (Offline unless --scenario Server) and prints its Markdown
table and verdict, headed by the machine, the date and the load average before and after; the
sweeps' files go under --output (default mlpace-results/tuning). Run it under ``nice`` on a
shared machine: the point of the table is the *relative* order of the settings.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from mlpace.workloads.tuning import format_sweep_table
from mlpace.workloads.tuning_run import TuneOptions, tune_threads


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pairs", nargs="+", metavar="TASK:BACKEND")
    p.add_argument("--budget", type=float, default=300.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-repeats", type=int, default=9)
    p.add_argument("--scenario", choices=("Offline", "Server"), default="Offline")
    p.add_argument("--output", default="mlpace-results/tuning")
    p.add_argument("--markdown", default=None, metavar="FILE")
    args = p.parse_args(argv)
    parts = [
        f"{time.strftime('%Y-%m-%d', time.gmtime())}, Python {platform.python_version()}, "
        f"{platform.machine()}; budget {args.budget:g} s per sweep, {args.repeats} to "
        f"{args.max_repeats} repeats, {args.scenario}.",
    ]
    for pair in args.pairs:
        task, _, backend = pair.partition(":")
        outcome = tune_threads(
            TuneOptions(
                task,
                backend=backend or None,
                scenario=args.scenario,
                budget_s=args.budget,
                repeats=args.repeats,
                max_repeats=args.max_repeats,
                output_dir=Path(args.output) / task / f"{backend}-{args.scenario}",
            ),
            say=lambda line: print(line, file=sys.stderr, flush=True),
        )
        parts.append(f"### {task} on {outcome.sweep.backend}, {args.scenario}")
        parts.append(format_sweep_table(outcome.sweep, markdown=True))
    text = "\n\n".join(parts) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
