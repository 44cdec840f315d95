"""``mlpace audit``: run the compliance tests end to end, or verify logs produced elsewhere.

    mlpace audit TEST01 digits --scenario Offline --output DIR
    mlpace audit all --harness "python my_harness.py --mode {mode}" --output DIR
    mlpace audit verify TEST04 --reference RESULTS/<sys>/<model>/<scenario> --test RUN_DIR

Exit status: 0 when every official and strict verdict passes, 1 when one fails (or the harness
failed a run), 2 for bad input (a flag, a missing or malformed log: named with file and line).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlpace.errors import MlpaceError

TESTS = ("TEST01", "TEST04", "TEST05", "TEST06")
SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
DEFAULT_OUTPUT = Path("mlpace-results")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help="run the MLPerf compliance tests (TEST01/04/05/06) or verify their logs",
        description=(
            "Run compliance tests end to end on an mlpace task or on your own harness, with the "
            "official verdict (the official verify scripts' rules and lines) and mlpace's strict "
            "verdict (every byte compared, confidence intervals, an every-sample-once run, seed "
            "and audit.config checks). 'verify' checks logs produced elsewhere."
        ),
        epilog=(
            "examples:\n"
            "  mlpace audit TEST01 digits --scenario Offline --output out\n"
            "  mlpace audit all --harness 'python harness.py --mode {mode}' --output out\n"
            "  mlpace audit verify TEST01 --reference out/results/S/M/Offline --test run_dir\n"
            "\n"
            "--harness runs your command once per run a test needs, each in its own working\n"
            "directory under OUT/audit/ with the test's audit.config placed there for the audit\n"
            "runs; {mode} becomes accuracy or performance, {scenario} the --scenario, {workdir}\n"
            "the directory, {origin} the directory you started mlpace audit from."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "what",
        metavar="TEST|all|verify",
        help="TEST01, TEST04, TEST05, TEST06 (comma-separated for several), all, or verify",
    )
    p.add_argument(
        "target", nargs="?", default=None, help="task to audit (e.g. digits); for verify: the test"
    )
    p.add_argument("--harness", metavar="CMD", default=None, help="your harness command line")
    p.add_argument(
        "--scenario", action="append", choices=SCENARIOS, default=None, help="repeatable"
    )
    p.add_argument("--output", metavar="DIR", default=None, help="default: mlpace-results")
    p.add_argument(
        "--logs-from", metavar="SUBDIR", default=None, help="where the harness writes its logs"
    )
    p.add_argument(
        "--reference",
        metavar="DIR",
        default=None,
        help="existing results/<system>/<model>/<scenario> folder (accuracy/, performance/run_1/)"
        " instead of running the reference runs",
    )
    p.add_argument("--test", metavar="DIR", default=None, help="verify: the audit run's logs")
    p.add_argument(
        "--unique", metavar="DIR", default=None, help="verify TEST04: the every-sample-once run"
    )
    p.add_argument("--model", default=None, help="benchmark name (picks the TEST01 audit.config)")
    p.add_argument("--system", default=None, help="system name for the results layout")
    p.add_argument("--version", default=None, help="compliance rules version (default: current)")
    p.add_argument(
        "--profile",
        choices=("short", "official", "tiny"),
        default="short",
        help="task runs: short (default, seconds, not for submission), official (mlperf.conf "
        "durations), tiny",
    )
    p.add_argument("--backend", default=None, help="task backend: numpy, onnxruntime or torch")
    p.add_argument("--dtype", default=None, help="TEST01: byte (default); TEST06: int32")
    p.add_argument("--eos-token-id", type=int, default=None, help="TEST06 (default 2)")
    p.add_argument(
        "--test05-seeds",
        default="fresh",
        metavar="fresh|published|Q,S,T",
        help="TEST05 seeds: fresh random ones (default), mlperf.conf's test05 ones, or three",
    )
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="per run")
    p.add_argument("--json", metavar="FILE", default=None, help="also write the verdicts as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=handle)


def _tests(what: str) -> tuple[str, ...]:
    names = tuple(t.strip().upper() for t in what.split(",") if t.strip())
    if names == ("ALL",):
        return ("all",)
    bad = [t for t in names if t not in TESTS]
    if bad or not names:
        raise MlpaceError(
            f"unknown test {', '.join(bad) or what!r}: choose {', '.join(TESTS)}, all or verify"
        )
    return names


def _seeds(text: str) -> str | tuple[int, int, int]:
    if text in ("fresh", "published"):
        return text
    parts = text.split(",")
    try:
        values = tuple(int(p, 0) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or any(v < 0 or v >= 2**64 for v in values):
        raise MlpaceError(
            f"--test05-seeds {text!r}: 'fresh', 'published' or three integers 0..2**64-1 "
            "separated by commas"
        )
    return values  # type: ignore[return-value]


def _progress(args: argparse.Namespace) -> Any:
    if args.quiet:
        return None
    return lambda line: print(line, file=sys.stderr, flush=True)


def _write_json(path: str | None, verdicts: list[Any]) -> None:
    if path:
        Path(path).write_text(json.dumps([v.to_json() for v in verdicts], indent=2, default=str))


def _verify(args: argparse.Namespace) -> int:
    from mlpace.audit import VerifyOptions, render_verdict, verify, write_official_layout

    if args.target is None:
        raise MlpaceError("mlpace audit verify TEST0X --reference DIR --test DIR: name the test")
    tests = _tests(args.target)
    if len(tests) != 1 or tests[0] == "all":
        raise MlpaceError("mlpace audit verify checks one test at a time (TEST01 ... TEST06)")
    test = tests[0]
    if args.test is None:
        raise MlpaceError("mlpace audit verify: --test DIR (the audit run's logs) is required")
    if args.harness is not None:
        raise MlpaceError("--harness runs tests; 'verify' only reads logs")
    scenario = args.scenario[0] if args.scenario else None
    verdict = verify(
        test,
        reference=args.reference,
        test_dir=args.test,
        options=VerifyOptions(
            version=args.version,
            model=args.model,
            dtype=args.dtype,
            eos_token_id=args.eos_token_id,
            scenario=scenario,
            unique_dir=Path(args.unique) if args.unique else None,
        ),
    )
    print(render_verdict(verdict), flush=True)
    if args.output:
        out = write_official_layout(verdict, args.output)
        print(f"mlpace audit: wrote {out}", file=sys.stderr)
    _write_json(args.json, [verdict])
    return 0 if verdict.passed else 1


def _run(args: argparse.Namespace) -> int:
    from mlpace.audit import AuditOptions, render_summary, render_verdict, run_audit
    from mlpace.audit.harness import HarnessError

    tests = _tests(args.what)
    if args.target is None and args.harness is None:
        raise MlpaceError(
            "say what to audit: a task (mlpace audit TEST01 digits) or your harness "
            "(--harness 'python harness.py --mode {mode}')"
        )
    if args.target is not None and args.harness is not None:
        raise MlpaceError(f"audit either the task {args.target!r} or --harness, not both")
    if args.test is not None or args.unique is not None:
        raise MlpaceError("--test/--unique belong to 'mlpace audit verify'")
    opts = AuditOptions(
        tests=tests,
        output=Path(args.output) if args.output else DEFAULT_OUTPUT,
        task=args.target,
        harness=args.harness,
        scenarios=tuple(dict.fromkeys(args.scenario or ())),
        logs_from=args.logs_from,
        reference=Path(args.reference) if args.reference else None,
        model=args.model,
        system=args.system,
        version=args.version,
        dtype=args.dtype,
        eos_token_id=args.eos_token_id,
        test05_seeds=_seeds(args.test05_seeds),
        profile=args.profile,
        backend=args.backend,
        timeout_s=args.timeout,
        progress=_progress(args),
    )
    if opts.reference is not None and not opts.reference.is_dir():
        raise MlpaceError(f"--reference {opts.reference}: no such directory")
    try:
        report = run_audit(opts)
    except HarnessError as exc:
        print(f"mlpace: audit stopped: {exc}", file=sys.stderr)
        return 1
    for verdict in report.verdicts:
        print(render_verdict(verdict), flush=True)
        print()
    print(render_summary(report), flush=True)
    _write_json(args.json, list(report.verdicts))
    return 0 if report.passed else 1


def handle(args: argparse.Namespace) -> int:
    if args.what.lower() == "verify":
        return _verify(args)
    return _run(args)
