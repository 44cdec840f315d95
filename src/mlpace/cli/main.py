"""Entry point of the ``mlpace`` console script: parse, dispatch, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlpace import __version__
from mlpace.errors import MlpaceError, RunInterrupted, interrupt_reason

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a failure (INVALID run, checker errors)
EXIT_USAGE = 2  # bad input: config, settings, arguments
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    from mlpace.cli import audit as audit_cmd
    from mlpace.cli import check_training as check_training_cmd
    from mlpace.cli import compare as compare_cmd
    from mlpace.cli import history as history_cmd
    from mlpace.cli import report as report_cmd
    from mlpace.cli import run as run_cmd
    from mlpace.cli import train as train_cmd

    parser = argparse.ArgumentParser(
        prog="mlpace",
        description="MLPerf benchmarks in Python: inference LoadGen, workloads, training harness.",
    )
    parser.add_argument("--version", action="version", version=f"mlpace {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_cmd.register(sub)
    train_cmd.register(sub)
    check_training_cmd.register(sub)
    audit_cmd.register(sub)
    report_cmd.register(sub)
    history_cmd.register(sub)
    compare_cmd.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list:
        # `mlpace` alone does the main job: the embedded default run.
        args_list = ["run"]
    parser = build_parser()
    args = parser.parse_args(args_list)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = handler(args)
    except RunInterrupted as exc:
        print(f"mlpace: interrupted: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        reason, exit_code = interrupt_reason(exc)
        print(f"mlpace: {reason}", file=sys.stderr)
        return exit_code
    except MlpaceError as exc:
        print(f"mlpace: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
