"""``mlpace package``: the official submission tree from mlpace run folders.

Exit status: 0 packaged (and mlpace's checker found no error), 1 packaged but the checker
found errors (listed), 2 refused: bad input, a closed-division run that cannot qualify, or
system keys only you can give (each named with the --set that fixes it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["handle", "register"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "package",
        help="build the official submission tree from mlpace runs",
        description=(
            "Build <output>/<division>/<submitter>/ (systems/, src/, results/<system>/"
            "<benchmark>/<Scenario>/ with user.conf, README.md, measurements.json, performance/"
            "run_1, accuracy/ with the hash line and the truncated accuracy log, TEST0X from "
            "mlpace audit; model_mapping.json in open division), then check it with mlpace's "
            "checker. Closed division refuses INVALID, short or short-profile runs. Exit "
            "status: 0 packaged and clean, 1 packaged with checker errors, 2 refused."
        ),
    )
    p.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="run output folders")
    p.add_argument("--division", required=True, choices=("open", "closed", "network"))
    p.add_argument("--submitter", required=True, metavar="NAME")
    p.add_argument("--output", required=True, type=Path, metavar="DIR")
    p.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="system description key (repeatable), e.g. --set cooling=air",
    )
    p.add_argument("--from", dest="from_file", default=None, metavar="FILE", help="system JSON")
    p.add_argument(
        "--map",
        action="append",
        default=None,
        metavar="TASK=BENCHMARK",
        help="open division: the checker benchmark a task stands for (default: the rules')",
    )
    p.add_argument("--version", default="v6.1", help="checker rules version (default v6.1)")
    p.add_argument("--no-src", action="store_true", help="do not snapshot the sources in src/")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from mlpace.submission.check import check_tree, format_findings
    from mlpace.submission.package import PackageRequest, package
    from mlpace.system import load_description, parse_assignments

    values = load_description(args.from_file) if args.from_file else {}
    values.update(parse_assignments(args.set))
    request = PackageRequest(
        results=tuple(args.results),
        output=args.output,
        division=args.division,
        submitter=args.submitter,
        system_values=values,
        model_map=parse_assignments(args.map, flag="--map"),
        version=args.version,
        include_src=not args.no_src,
    )
    result = package(request)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"packaged {len(result.results)} result(s) into {result.root}")
    report = check_tree(args.output, version=args.version)
    print(format_findings(report.findings, root=args.output))
    return 1 if report.errors else 0
