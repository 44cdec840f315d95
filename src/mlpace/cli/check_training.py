"""``mlpace check-training DIR_OR_FILE``: our training compliance checker.

Unlike the official tools it exits non-zero when it finds an error; it still ends its text
output with the official closing line (``SUCCESS`` or ``ERROR - FAILED``) so scripts that grep
for it keep working.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlpace.cli.main import EXIT_FAILED, EXIT_OK

OFFICIAL_SUCCESS = "SUCCESS"
OFFICIAL_FAILURE = "ERROR - FAILED"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "check-training",
        help="check training MLLOG result files against a ruleset",
        description=(
            "Check one MLLOG file, or every result_*.txt in a results/<system>/<benchmark>/ "
            "tree, against mlpace's copy of the training rules. Exit code 1 on any error."
        ),
    )
    parser.add_argument("path", metavar="DIR_OR_FILE", help="a log file or a results directory")
    parser.add_argument("--ruleset", default="6.1.0", help="training ruleset (default 6.1.0)")
    parser.add_argument("--benchmark", default=None, help="expected benchmark name")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--quiet", action="store_true", help="hide warnings in text output")
    parser.set_defaults(handler=run)


def _print_findings(findings: Any, quiet: bool) -> None:
    for f in findings:
        if quiet and not f.is_error:
            continue
        print(f"  {f.format()}")


def run(args: argparse.Namespace) -> int:
    from mlpace.training.checker import check_log
    from mlpace.training.checker.package import check_package

    target = Path(args.path)
    if target.is_dir():
        pkg = check_package(target, ruleset=args.ruleset, benchmark=args.benchmark)
        passed = pkg.passed
        if args.format == "json":
            json.dump(pkg.to_dict(), sys.stdout, indent=1)
            print()
        else:
            for folder in pkg.folders:
                verdict = "PASSED" if folder.passed else "FAILED"
                print(f"{folder.folder} ({folder.benchmark}): {verdict}")
                _print_findings(folder.findings, args.quiet)
                for log in folder.logs:
                    state = "ok" if log.passed else "FAILED"
                    print(f"  {log.path}: {state}")
                    _print_findings(log.findings, args.quiet)
            print(OFFICIAL_SUCCESS if passed else OFFICIAL_FAILURE)
    else:
        result = check_log(target, ruleset=args.ruleset, benchmark=args.benchmark)
        passed = result.passed
        if args.format == "json":
            json.dump(result.to_dict(), sys.stdout, indent=1)
            print()
        else:
            print(
                f"{result.path}: ruleset {result.ruleset}, rules "
                f"{' -> '.join(result.rule_files)}, {result.record_count} MLLOG lines"
            )
            _print_findings(result.findings, args.quiet)
            print(OFFICIAL_SUCCESS if passed else OFFICIAL_FAILURE)
    return EXIT_OK if passed else EXIT_FAILED
