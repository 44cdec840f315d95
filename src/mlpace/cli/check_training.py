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
from mlpace.errors import TrainingError

OFFICIAL_SUCCESS = "SUCCESS"
OFFICIAL_FAILURE = "ERROR - FAILED"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "check-training",
        help="check training MLLOG result files against a ruleset",
        description=(
            "Check one MLLOG file, or every result_*.txt in a results/<system>/<benchmark>/ "
            "tree, against mlpace's copy of the training rules. Exit code 1 on any error; a "
            "failed run that the rules tolerate (olympic scoring drops it) is shown as such "
            "and does not fail the check."
        ),
    )
    parser.add_argument("path", metavar="DIR_OR_FILE", help="a log file or a results directory")
    parser.add_argument(
        "--ruleset", default="6.1.0", metavar="VERSION", help="training ruleset (default 6.1.0)"
    )
    parser.add_argument("--benchmark", default=None, metavar="NAME", help="expected benchmark name")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="text output: hide warnings (errors and verdicts are always shown)",
    )
    parser.set_defaults(handler=run)


def _print_findings(findings: Any, quiet: bool, indent: str = "  ") -> None:
    for f in findings:
        if quiet and not f.is_error:
            continue
        print(f"{indent}{f.format()}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def folder_verdict(folder: Any) -> str:
    """One sentence that agrees with the folder's findings and exit code."""
    failed = len(folder.failed_logs)
    runs = len(folder.logs)
    allowed = folder.allowed_failures
    errors = [f for f in folder.findings if f.is_error]
    if folder.passed:
        if failed:
            return (
                f"PASSED: {failed} of {_plural(runs, 'run')} fails compliance, which the rules "
                f"tolerate (olympic scoring drops up to {_plural(allowed, 'failed run')})"
            )
        return f"PASSED: all {_plural(runs, 'run')} comply"
    return (
        f"FAILED: {_plural(len(errors), 'error')} above ({failed} of {runs} runs fail compliance)"
    )


def _print_folder(folder: Any, quiet: bool) -> None:
    print(f"{folder.folder} ({folder.benchmark}): {_plural(len(folder.logs), 'log')}")
    _print_findings(folder.findings, quiet)
    tolerated = set(folder.tolerated_failures)
    for log in folder.logs:
        if log.passed:
            state = "ok"
        elif log.path in tolerated:
            state = "FAILED (tolerated: dropped by olympic scoring)"
        else:
            state = "FAILED"
        print(f"  {log.path}: {state}")
        _print_findings(log.findings, quiet, indent="    ")
    print(f"{folder.folder}: {folder_verdict(folder)}")


def run(args: argparse.Namespace) -> int:
    from mlpace.training.checker import check_log
    from mlpace.training.checker.package import check_package

    target = Path(args.path)
    if not target.exists():
        raise TrainingError(f"{target}: no such file or folder")
    if target.is_dir():
        pkg = check_package(target, ruleset=args.ruleset, benchmark=args.benchmark)
        passed = pkg.passed
        if args.format == "json":
            json.dump(pkg.to_dict(), sys.stdout, indent=1)
            print()
        else:
            for folder in pkg.folders:
                _print_folder(folder, args.quiet)
            tolerated = sum(len(f.tolerated_failures) for f in pkg.folders)
            note = f" ({_plural(tolerated, 'tolerated failed run')})" if tolerated else ""
            verdict = "PASSED" if passed else "FAILED"
            print(f"verdict: {verdict}, {_plural(len(pkg.folders), 'benchmark folder')}{note}")
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
            errors, warnings = len(result.errors), len(result.warnings)
            if passed:
                print(f"verdict: PASSED ({_plural(warnings, 'warning')})")
            else:
                print(f"verdict: FAILED ({_plural(errors, 'error')})")
            print(OFFICIAL_SUCCESS if passed else OFFICIAL_FAILURE)
    return EXIT_OK if passed else EXIT_FAILED
