"""``mlpace check-submission``: check a submission tree and explain every finding.

Exit status: 0 no error (warnings allowed), 1 at least one error, 2 bad input (no such
folder, unknown rules version, --official path that is no inference checkout).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["handle", "register"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "check-submission",
        help="check a submission tree; every finding says what, where and how to fix it",
        description=(
            "Check <DIR>/<division>/<submitter>/ against the submission rules of one version "
            "(rules are data: mlpace/submission/rules/). Each finding names its rule id, "
            "severity, path (and line), what was found, what is required and the fix. "
            "--official PATH also runs the official checker from an mlcommons/inference "
            "checkout and prints its verdict next to mlpace's. Exit status: 0 no error, 1 "
            "errors, 2 bad input."
        ),
    )
    p.add_argument("directory", type=Path, metavar="DIR", help="the submission root")
    p.add_argument("--version", default="v6.1", help="rules version (default v6.1)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the findings here")
    p.add_argument(
        "--official",
        default=None,
        metavar="PATH",
        help="an mlcommons/inference checkout: also run its submission checker",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from mlpace.errors import MlpaceError
    from mlpace.submission.check import check_tree, format_findings

    if not args.directory.is_dir():
        raise MlpaceError(f"{args.directory}: no such folder (give the submission root)")
    report = check_tree(args.directory, version=args.version)
    print(format_findings(report.findings, root=args.directory))
    if args.json:
        Path(args.json).write_text(
            json.dumps([f.__dict__ for f in report.findings], indent=2) + "\n", encoding="utf-8"
        )
    code = 1 if report.errors else 0
    if args.official:
        from mlpace.submission.official import run_official

        verdict = run_official(args.official, args.directory, args.version)
        print(verdict.summary())
        agree = verdict.passed == (code == 0)
        print(f"official checker {'agrees' if agree else 'DISAGREES'} with mlpace's verdict")
        if not verdict.passed:
            code = 1
    sys.stdout.flush()
    return code
