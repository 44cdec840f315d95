"""``mlpace results``: the results table of submission trees (CSV, Markdown or HTML).

Exit status: 0 written, 2 bad input (no such folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["handle", "register"]

FORMATS = ("md", "csv", "html")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "results",
        help="the results table of submission trees (CSV, Markdown, HTML)",
        description=(
            "One row per system x benchmark x scenario with its metric and unit, availability "
            "and division, as the official summarizer makes it (no single summary score). The "
            "Checker column gives mlpace's check-submission verdict of each result."
        ),
    )
    p.add_argument("directories", nargs="+", type=Path, metavar="DIR", help="submission roots")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: from --output, md")
    p.add_argument("--output", type=Path, default=None, metavar="FILE", help="default: stdout")
    p.add_argument("--version", default="v6.1", help="rules version (default v6.1)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from mlpace.errors import MlpaceError
    from mlpace.submission.results_table import collect_rows, to_csv, to_html, to_markdown

    for d in args.directories:
        if not d.is_dir():
            raise MlpaceError(f"{d}: no such folder (give a submission root)")
    fmt = args.format
    if fmt is None:
        suffix = args.output.suffix.lstrip(".").lower() if args.output else ""
        fmt = {"htm": "html", "markdown": "md"}.get(suffix, suffix)
        fmt = fmt if fmt in FORMATS else "md"
    rows = collect_rows(args.directories, version=args.version)
    text = {"csv": to_csv, "md": to_markdown, "html": to_html}[fmt](rows)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} row(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
