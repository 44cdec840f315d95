"""Entry point of the ``mlpace`` console script: parse, dispatch, map errors to exit codes.

Exit codes: 0 ok; 1 the command ran and found a failure (an INVALID run, LoadGen errors, checker
errors, an internal error); 2 bad input (a flag, a file, a config line); 128 + N when signal N
stopped it: 129 SIGHUP, 130 SIGINT (Ctrl-C), 143 SIGTERM, with every log written so far
complete. No traceback reaches the user (``MLPACE_DEBUG=1`` shows it for an internal error).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence

from mlpace import __version__
from mlpace.errors import MlpaceError, RunInterrupted, SutError, interrupt_reason

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a failure (INVALID run, checker errors)
EXIT_USAGE = 2  # bad input: config, settings, arguments
EXIT_INTERRUPTED = 130  # SIGINT; SIGTERM gives 143 and SIGHUP 129 (128 + the signal number)


def build_parser() -> argparse.ArgumentParser:
    from mlpace.cli import adaptive as adaptive_cmd
    from mlpace.cli import audit as audit_cmd
    from mlpace.cli import check_submission as check_submission_cmd
    from mlpace.cli import check_training as check_training_cmd
    from mlpace.cli import compare as compare_cmd
    from mlpace.cli import describe_system as describe_system_cmd
    from mlpace.cli import history as history_cmd
    from mlpace.cli import kernels as kernels_cmd
    from mlpace.cli import package as package_cmd
    from mlpace.cli import report as report_cmd
    from mlpace.cli import results as results_cmd
    from mlpace.cli import run as run_cmd
    from mlpace.cli import serve as serve_cmd
    from mlpace.cli import train as train_cmd
    from mlpace.cli import tune as tune_cmd

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
    tune_cmd.register(sub)
    adaptive_cmd.register(sub)
    kernels_cmd.register(sub)
    serve_cmd.register(sub)
    describe_system_cmd.register(sub)
    package_cmd.register(sub)
    check_submission_cmd.register(sub)
    results_cmd.register(sub)
    return parser


def _run_handler(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Call the subcommand with the stop-signal handlers installed; errors become exit codes."""
    from mlpace.signals import stop_on_signals

    try:
        with stop_on_signals():
            code = handler(args)
    except RunInterrupted as exc:
        _err(f"mlpace: {exc}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        reason, exit_code = interrupt_reason(exc)
        _err(f"mlpace: {reason}")
        return exit_code
    except SutError as exc:
        _err(f"mlpace: the system under test failed: {exc}")
        return EXIT_FAILED
    except MlpaceError as exc:
        _err(f"mlpace: error: {exc}")
        return EXIT_USAGE
    except MemoryError as exc:
        detail = f": {exc}" if str(exc) else ""
        _err(
            f"mlpace: error: out of memory{detail}; ask for a shorter or slower run "
            "(--min-duration, --target-qps, --min-query-count)"
        )
        return EXIT_FAILED
    except BrokenPipeError:
        _silence_stdout()  # `mlpace ... | head`: the reader left, nothing more to say
        return EXIT_FAILED
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _err(f"mlpace: error: {exc.strerror or exc}{where}")
        return EXIT_FAILED
    except Exception as exc:  # a bug: say so in one line, the traceback only on request
        if os.environ.get("MLPACE_DEBUG"):
            raise
        _err(
            f"mlpace: internal error: {type(exc).__name__}: {exc} (please report it; "
            "MLPACE_DEBUG=1 shows the traceback)"
        )
        return EXIT_FAILED
    return code


def _err(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
    return _run_handler(handler, args)


def entry() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C before the handlers were installed (while importing)
        code = EXIT_INTERRUPTED
    sys.exit(code)


if __name__ == "__main__":
    entry()
