"""``mlpace compare A B``: the change of every metric from run A to run B, with confidence
intervals from the raw per-query times; exit status 1 when B regressed beyond the threshold.

A and B are log folders (or trees of them: runs are paired by scenario) or run ids from
``mlpace history``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EXIT_REGRESSION = 1


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "compare",
        help="compare two runs; exit 1 on a regression beyond the threshold",
        description=(
            "Compare run B against run A: per metric (latency percentiles and mean from the raw "
            "per-query latencies, throughput) the change B/A - 1 with a confidence interval "
            "(block bootstrap for latencies, Welch's t-test on window rates for throughput). A "
            "metric regressed when the whole interval lies beyond the threshold on the bad "
            "side. Exit status: 0 no regression, 1 regression, 2 bad input."
        ),
    )
    p.add_argument("a", metavar="A", help="baseline: a log folder or a history run id")
    p.add_argument("b", metavar="B", help="candidate: a log folder or a history run id")
    p.add_argument(
        "--threshold",
        type=_percent,
        default=5.0,
        metavar="PCT",
        help="regression threshold in percent of A (default 5)",
    )
    p.add_argument(
        "--confidence",
        type=_percent,
        default=99.0,
        metavar="PCT",
        help="confidence level of the intervals in percent (default 99)",
    )
    p.add_argument(
        "--min-change-us",
        type=float,
        default=5.0,
        metavar="US",
        help="latency changes smaller than this per query never count as regressions "
        "(default 5: below that a shared machine's jitter dominates)",
    )
    p.add_argument("--html", default=None, metavar="FILE", help="also write an HTML report")
    p.add_argument("--history", default=None, metavar="FILE", help="history database for ids")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap replicates")
    p.set_defaults(handler=handle)


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got {text!r}") from None
    if not 0.0 <= value < 1000.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1000, got {value:g}")
    return value


def _resolve(ref: str, history: str | None) -> Path:
    from mlpace.report.history import HistoryError, open_history

    path = Path(ref)
    if path.exists() or not ref.isdigit():
        if not path.exists():
            raise HistoryError(f"{ref}: no such log folder (and not a run id)")
        return path
    db_path = Path(history).expanduser() if history else None
    with open_history(db_path) as db:
        row = db.get(int(ref))
    folder = Path(row.log_dir)
    if not folder.exists():
        raise HistoryError(f"run {ref}: its logs are gone ({folder})")
    return folder


def handle(args: argparse.Namespace) -> int:
    from mlpace.report.compare import compare_runs, comparison_html, format_comparison
    from mlpace.report.run import read_runs

    a_path, b_path = _resolve(args.a, args.history), _resolve(args.b, args.history)
    a_runs, b_runs = read_runs([a_path]), read_runs([b_path])
    cmp = compare_runs(
        a_runs,
        b_runs,
        threshold=args.threshold / 100.0,
        confidence=args.confidence / 100.0,
        min_change_ns=args.min_change_us * 1000.0,
        seed=args.seed,
        resamples=args.resamples,
    )
    print(format_comparison(cmp), end="")
    if args.html:
        from mlpace.report.html import write_report

        runs = [s.a for s in cmp.scenarios] + [s.b for s in cmp.scenarios]
        out = write_report(runs, Path(args.html), "mlpace compare", comparison_html(cmp))
        print(f"mlpace: comparison report written to {out}")
    return EXIT_REGRESSION if cmp.regressed else 0
