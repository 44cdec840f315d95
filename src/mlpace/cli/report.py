"""``mlpace report RUN_DIR... --output report.html``: one self-contained HTML page of the runs.

Reads the official log files (written by mlpace or by the official LoadGen) plus mlpace's
per-sample file when present; several folders (or a tree of runs) are overlaid per scenario.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="write an HTML report (plots, validity, settings) of one or more runs",
        description=(
            "Write one self-contained HTML file (no network needed to view it) with, per "
            "scenario: latency percentiles and CDF, latency, throughput and issue lag over the "
            "run, token metrics, the validity checks, accuracy, settings and the system. "
            "RUN_DIR is a folder holding mlperf_log_detail.txt (official LoadGen or mlpace), a "
            "tree of such folders, or a detail log itself. Several runs are overlaid."
        ),
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="log folder(s) or detail log(s)")
    p.add_argument(
        "--output", "-o", default="report.html", metavar="FILE", help="default: report.html"
    )
    p.add_argument("--title", default="mlpace report", help="page title")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from mlpace.report.html import write_report
    from mlpace.report.run import read_runs

    runs = read_runs([Path(r) for r in args.runs])
    out = write_report(runs, Path(args.output), args.title)
    scenarios = sorted({r.scenario for r in runs})
    print(f"mlpace: report of {len(runs)} run(s) ({', '.join(scenarios)}) written to {out}")
    for run in runs:
        for note in run.notes:
            print(f"mlpace: note: {run.label}: {note}")
        if run.samples is None and run.samples_note:
            print(f"mlpace: note: {run.label}: {run.samples_note}")
    return 0
