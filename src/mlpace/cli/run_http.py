"""``mlpace run --sut URL``: drive an OpenAI-compatible streaming endpoint (flags and printing).

The run itself is :func:`mlpace.serving.run.run_http`. Each scenario (default: Server) prints its
official summary, a verdict line, the reasons it is INVALID, the client's own report (failures
per kind, token accounting, TTFO, inter-token latency, client lag and load) and its warnings.
Exit status 0 when every scenario is VALID with no LoadGen error and no failed request, 1
otherwise, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlpace.cli import _flags as F

DEFAULT_OUTPUT = Path("mlpace-results") / "http"
DEFAULT_SCENARIOS = ("Server",)
# Flags only an HTTP run reads (dest -> flag).
HTTP_ONLY = {
    "api": "--api",
    "model": "--model",
    "max_concurrency": "--max-concurrency",
    "max_tokens": "--max-tokens",
    "tokenizer": "--tokenizer",
    "ttft_ms": "--ttft-ms",
    "tpot_ms": "--tpot-ms",
    "request_timeout": "--request-timeout",
    "stall_timeout": "--stall-timeout",
    "no_token_ids": "--no-token-ids",
}


def sut_value(text: str) -> str:
    """``--sut``: ``null`` or the base URL of an OpenAI-compatible API (``http://HOST:PORT/v1``)."""
    if text == "null":
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            "expected 'null' or the http(s):// base URL of an OpenAI-compatible API, e.g. "
            f"http://127.0.0.1:8000/v1, got {text!r}"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise argparse.ArgumentTypeError(f"the port in {text!r} is not in [0, 65535]") from None
    return text


def is_url(sut: str | None) -> bool:
    return sut is not None and sut != "null"


def add_flags(p: argparse.ArgumentParser) -> None:
    """The flags of an HTTP run (``--sut URL``); ``--dataset`` and the scenario flags are shared."""
    g = p.add_argument_group("HTTP endpoint (--sut URL)")
    g.add_argument(
        "--api",
        choices=("chat", "completions"),
        default=None,
        help="OpenAI API to call: chat (/chat/completions, the default) or completions",
    )
    g.add_argument("--model", default=None, help="model name sent in each request (required)")
    g.add_argument(
        "--max-concurrency",
        type=F.count("requests", 0, 1_000_000),
        default=None,
        metavar="N",
        help="most requests in flight at once (0, the default: no limit; a limit queues "
        "requests, which shows as latency)",
    )
    g.add_argument(
        "--max-tokens",
        type=F.count("tokens", 1, 10_000_000),
        default=None,
        metavar="N",
        help="max_tokens sent with each request (default: the server's choice)",
    )
    g.add_argument(
        "--tokenizer",
        default=None,
        metavar="PATH",
        help="tokenizer.json (or its folder) to count tokens when the server reports no usage, "
        "and to compare with the server's count (default: whitespace words)",
    )
    g.add_argument(
        "--ttft-ms",
        type=F.milliseconds(allow_zero=False),
        default=None,
        metavar="MS",
        help="TTFT bound in milliseconds (default 2000)",
    )
    g.add_argument(
        "--tpot-ms",
        type=F.milliseconds(allow_zero=False),
        default=None,
        metavar="MS",
        help="TPOT bound in milliseconds (default 200)",
    )
    g.add_argument(
        "--request-timeout",
        type=F.number("seconds", 0.0, 86_400.0, low_open=True),
        default=None,
        metavar="SECONDS",
        help="longest a request may take in all before it counts as failed (default 60)",
    )
    g.add_argument(
        "--stall-timeout",
        type=F.number("seconds", 0.0, 86_400.0, low_open=True),
        default=None,
        metavar="SECONDS",
        help="longest wait for the connection or for the next bytes of a stream (default 10)",
    )
    g.add_argument(
        "--no-token-ids",
        action="store_true",
        default=None,
        help="do not ask for token ids (return_token_ids), for servers that refuse unknown "
        "fields; the client then tokenizes the text itself",
    )


def check_flags(args: argparse.Namespace) -> str | None:
    """The first problem with the HTTP flags of this run, or None."""
    if not is_url(args.sut):
        for dest, flag in HTTP_ONLY.items():
            if getattr(args, dest, None) is not None:
                return f"{flag} applies to --sut URL runs only"
        return None
    if args.task:
        return f"--sut {args.sut} drives an HTTP endpoint; drop the task name {args.task!r}"
    if not args.model:
        return "--sut URL needs --model NAME (the model name the server expects)"
    if args.target_latency_ms is not None:
        return (
            "--target-latency-ms does not apply to an HTTP run, which is judged on token "
            "latencies; use --ttft-ms and --tpot-ms"
        )
    if args.mlperf_conf is not None:
        return "--mlperf-conf does not apply to an HTTP run ; use --user-conf"
    if args.stall_timeout and args.request_timeout and args.stall_timeout > args.request_timeout:
        return (
            f"--stall-timeout {args.stall_timeout:g} s is above --request-timeout "
            f"{args.request_timeout:g} s; lower it"
        )
    return None


def options_from_args(args: argparse.Namespace) -> Any:
    from mlpace.serving.client import HttpTarget
    from mlpace.serving.run import HttpRunOptions

    target = HttpTarget(
        base_url=args.sut,
        api=args.api or "chat",
        model=args.model,
        max_tokens=args.max_tokens,
        max_concurrency=args.max_concurrency or 0,
        stall_timeout_s=args.stall_timeout or 10.0,
        connect_timeout_s=min(5.0, args.stall_timeout or 5.0),
        request_timeout_s=args.request_timeout or 60.0,
        token_ids=not args.no_token_ids,
    )
    return HttpRunOptions(
        target=target,
        scenarios=tuple(dict.fromkeys(args.scenario or DEFAULT_SCENARIOS)),
        dataset=args.dataset,
        tokenizer=args.tokenizer,
        mode=args.mode,
        target_qps=args.target_qps,
        ttft_ms=args.ttft_ms,
        tpot_ms=args.tpot_ms,
        expected_latency_ms=args.expected_latency_ms,
        samples_per_query=args.samples_per_query,
        min_duration_s=args.min_duration,
        max_duration_s=args.max_duration,
        min_query_count=args.min_query_count,
        user_conf=args.user_conf,
        audit_conf=args.audit_conf,
        output=Path(args.output) if args.output else DEFAULT_OUTPUT,
        trace=not args.no_trace,
    )


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_http_cli(args: argparse.Namespace) -> int:
    from mlpace.explain import failed_checks, read_detail_log, summary_warnings
    from mlpace.report.record import recorder_from_args
    from mlpace.serving.run import load_prompts, run_http
    from mlpace.workloads.outdir import prepare_output

    options = options_from_args(args)
    prompts = load_prompts(options.dataset)  # a bad file is refused before anything is written
    scenarios = options.scenarios
    dirs = [options.output / s for s in scenarios] if len(scenarios) > 1 else [options.output]
    policy = "replace" if args.force else ("refuse" if args.output else "move-aside")
    for line in prepare_output(options.output, dirs, policy=policy, recursive=False):
        _err(line)
    recorder = recorder_from_args(args, task=f"http:{options.target.model}", system="network")
    say = (lambda line: None) if args.quiet else (lambda line: _err(f"mlpace: {line}"))
    passes = run_http(options, say=say, on_pass=recorder.pass_done, prompts=prompts)
    all_ok = True
    for p in passes:
        outcome = p.outcome
        if outcome is None:
            print(f"mlpace: {p.scenario}: the run failed: {p.error}", file=sys.stderr)
            print(f"mlpace: {p.scenario}: INVALID (logs in {p.out_dir})")
            all_ok = False
        else:
            print(outcome.summary, end="" if outcome.summary.endswith("\n") else "\n")
            problems = read_detail_log(outcome.log_paths["detail"])
            perf = outcome.performance
            valid = perf.result.valid if perf is not None else outcome.valid
            verdict = "VALID" if valid else "INVALID"
            if problems.error_count:
                verdict += f", {problems.error_count} LoadGen error(s)"
            print(f"mlpace: {p.scenario}: {verdict} (logs in {p.out_dir})", flush=True)
            for line in failed_checks(perf.result) if perf is not None else []:
                print(f"  INVALID because {line}", flush=True)
            for line in problems.error_lines():
                _err(f"  {line}")
            for line in summary_warnings(outcome.summary):
                _err(f"  {line}")
            all_ok = all_ok and bool(valid) and not problems.error_count
        if p.client is not None:
            for line in p.client.lines():
                print(line, flush=True)
            all_ok = all_ok and not p.client.failed
    recorder.finish(options.output, say=_err)
    return 0 if all_ok else 1


__all__ = ["add_flags", "check_flags", "is_url", "run_http_cli", "sut_value"]
