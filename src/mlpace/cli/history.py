"""``mlpace history [--task X] [--last N]``: the runs recorded in the local history database."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "history",
        help="list the recorded runs (inference and training)",
        description=(
            "List the runs recorded in the local SQLite history (every mlpace run and mlpace "
            "train records there unless --no-history). Location: --history, else "
            "$MLPACE_HISTORY, else $XDG_DATA_HOME/mlpace/history.sqlite "
            "(~/.local/share/mlpace/history.sqlite)."
        ),
    )
    p.add_argument("--task", default=None, help="only runs of this task or benchmark")
    p.add_argument("--kind", choices=("inference", "training"), default=None)
    p.add_argument("--last", type=_positive, default=20, metavar="N", help="newest N (default 20)")
    p.add_argument("--history", default=None, metavar="FILE", help="the history database")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.set_defaults(handler=handle)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _metric(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ns":
        return f"{value / 1e6:.3f} ms"
    return f"{value:,.2f} {unit}".strip()


def handle(args: argparse.Namespace) -> int:
    from mlpace.report.history import open_history

    path = Path(args.history).expanduser() if args.history else None
    if path is not None and not path.exists():
        from mlpace.report.history import HistoryError

        raise HistoryError(f"{path}: no such history database")
    with open_history(path) as db:
        rows = db.rows(task=args.task, kind=args.kind, last=args.last)
        where = db.path
    if args.json:
        for r in rows:
            print(json.dumps(r.__dict__, default=str, sort_keys=True))
        return 0
    if not rows:
        print(f"no runs recorded in {where}" + (f" for task {args.task!r}" if args.task else ""))
        return 0
    table = [("id", "recorded", "kind", "task", "scenario", "result", "metric", "logs")]
    for r in rows:
        result = "–" if r.valid is None else ("VALID" if r.valid else "INVALID")
        if r.kind == "training":
            result = "success" if r.valid else "aborted"
        table.append(
            (
                str(r.id),
                r.recorded_at.replace("T", " "),
                r.kind,
                r.task,
                r.scenario or r.mode,
                result,
                f"{r.metric_name} {_metric(r.metric_value, r.metric_unit)}".strip(),
                r.log_dir,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    print(f"({len(rows)} run(s) from {where})")
    return 0
