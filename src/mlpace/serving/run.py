"""``mlpace run --sut URL``: the four scenarios against an OpenAI-compatible endpoint.

Each scenario is one LoadGen token-latency run (``use_token_latencies``): the summary and detail
logs are the official ones for an LLM (TTFT, TPOT, tokens per second, the TTFT/TPOT constraints
and early stopping). Beside them the pass writes ``mlpace_http_client.json`` (what
:func:`mlpace.serving.report.client_report` found), ``mlpace_http_requests.jsonl`` (every
request's timeline and tokens) and ``system_description.json`` with the network-division keys.

Defaults for a quick, VALID local run (every one can be changed by a flag or user.conf):
TTFT bound 2 s and TPOT bound 200 ms (the bounds of the 70B-class MLPerf LLMs), a 10 s minimum
duration, and a minimum query count equal to what early stopping needs when no query is over
the bound (Server 459, SingleStream 64, MultiStream 662), so a run that meets the bounds is VALID.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpace.errors import DatasetError, MlpaceError, SutError
from mlpace.loadgen.early_stopping import queries_needed
from mlpace.loadgen.enums import TestMode, TestScenario
from mlpace.loadgen.settings import TestSettings
from mlpace.serving.client import HttpSUT, HttpTarget, RequestRecord
from mlpace.serving.network import network_description
from mlpace.serving.report import ClientReport, client_report
from mlpace.serving.tokenize import load_tokenizer

DEFAULT_TTFT_MS = 2000.0
DEFAULT_TPOT_MS = 200.0
DEFAULT_MIN_DURATION_S = 10.0
DEFAULT_SS_EXPECTED_MS = 100.0
DEFAULT_SERVER_QPS = 5.0
DEFAULT_OFFLINE_QPS = 50.0
CLIENT_FILE = "mlpace_http_client.json"
REQUESTS_FILE = "mlpace_http_requests.jsonl"
SYSTEM_FILE = "system_description.json"
# The LoadGen's own backstop when no sample completes: well past every request's own timeout.
SAMPLE_TIMEOUT_MARGIN_S = 30.0


@dataclass(frozen=True)
class HttpRunOptions:
    """Everything ``mlpace run --sut URL`` needs; ``None`` means "the default"."""

    target: HttpTarget
    scenarios: tuple[str, ...] = ("Server",)
    dataset: str | None = None
    tokenizer: str | None = None
    mode: str | None = None
    target_qps: float | None = None
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    expected_latency_ms: float | None = None
    samples_per_query: int | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    min_query_count: int | None = None
    user_conf: str | None = None
    audit_conf: str | None = None
    output: Path = Path("mlpace-results") / "http"
    trace: bool = True


@dataclass(frozen=True)
class HttpPass:
    scenario: str
    out_dir: Path
    outcome: Any  # TestOutcome; None when the run failed before its logs were finished
    client: ClientReport | None
    error: str = ""


def load_prompts(dataset: str | None) -> list[str]:
    """Prompts from a file (JSONL objects with ``prompt`` or ``text``, a JSON list, or one prompt
    per line), or by default the translation task's 500 validation sentences."""
    if dataset is None:
        try:
            from mlpace.training.proxies.translation import N_TRAIN, generate_pairs
        except ImportError:
            raise DatasetError(
                "the built-in prompts need torch (pip install 'mlpace[train]'); or give "
                "--dataset FILE"
            ) from None
        sources, _ = generate_pairs()
        return [" ".join(s) for s in sources[N_TRAIN:]]
    path = Path(dataset)
    if not path.is_file():
        raise DatasetError(f"--dataset {dataset}: no such file")
    text = path.read_text(encoding="utf-8")
    prompts: list[str] = []
    if path.suffix == ".json":
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise DatasetError(f"{dataset}: not JSON ({exc})") from None
        if not isinstance(items, list):
            raise DatasetError(f"{dataset}: expected a JSON list of prompts")
        for n, item in enumerate(items):
            prompts.append(_prompt_of(item, f"{dataset}: item {n}"))
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            if path.suffix == ".jsonl":
                try:
                    item = json.loads(line)
                except ValueError as exc:
                    raise DatasetError(f"{dataset}:{n}: not JSON ({exc})") from None
                prompts.append(_prompt_of(item, f"{dataset}:{n}"))
            else:
                prompts.append(line.strip())
    if not prompts:
        raise DatasetError(f"--dataset {dataset}: no prompts in the file")
    return prompts


def _prompt_of(item: object, where: str) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for key in ("prompt", "text", "input"):
            if isinstance(item.get(key), str):
                return str(item[key])
    raise DatasetError(f"{where}: expected a string or an object with 'prompt' or 'text'")


class PromptLibrary:
    """The query sample library of an HTTP run: prompts are text, nothing to load."""

    def __init__(self, count: int, name: str = "prompts") -> None:
        self.name = name
        self.total_sample_count = count
        self.performance_sample_count = count

    def load_samples(self, indices: Sequence[int]) -> None:
        pass

    def unload_samples(self, indices: Sequence[int]) -> None:
        pass


def http_settings(options: HttpRunOptions, scenario: str) -> tuple[TestSettings, list[str]]:
    """Token-latency settings for one scenario: defaults, then user.conf, then the flags."""
    from mlpace.loadgen.config import ConfType, apply_config, read_config

    sc = TestScenario(scenario)
    pct = {"SingleStream": 0.90, "MultiStream": 0.99, "Server": 0.99, "Offline": 0.90}[scenario]
    duration_s = (
        options.min_duration_s if options.min_duration_s is not None else DEFAULT_MIN_DURATION_S
    )
    settings = TestSettings(
        scenario=sc,
        use_token_latencies=True,
        ttft_latency=int(DEFAULT_TTFT_MS * 1e6),
        tpot_latency=int(DEFAULT_TPOT_MS * 1e6),
        server_target_qps=DEFAULT_SERVER_QPS,
        server_target_latency_ns=0,
        offline_expected_qps=DEFAULT_OFFLINE_QPS,
        single_stream_expected_latency_ns=int(DEFAULT_SS_EXPECTED_MS * 1e6),
        multi_stream_expected_latency_ns=int(DEFAULT_SS_EXPECTED_MS * 1e6),
        min_duration_ms=int(round(duration_s * 1000)),
        min_query_count=_min_queries(sc, pct),
        sample_timeout_ms=int((options.target.request_timeout_s + SAMPLE_TIMEOUT_MARGIN_S) * 1000),
    )
    warnings: list[str] = []
    if options.user_conf:
        config = read_config(options.user_conf, ConfType.USER)
        settings, warnings = apply_config(
            settings, config, model=options.target.model, scenario=scenario
        )
    changes: dict[str, Any] = {}
    if options.mode:
        changes["mode"] = TestMode(options.mode)
    if options.target_qps is not None:
        changes["server_target_qps"] = options.target_qps
        changes["offline_expected_qps"] = options.target_qps
    if options.ttft_ms is not None:
        changes["ttft_latency"] = max(1, int(round(options.ttft_ms * 1e6)))
    if options.tpot_ms is not None:
        changes["tpot_latency"] = max(1, int(round(options.tpot_ms * 1e6)))
    if options.expected_latency_ms is not None:
        ns = max(1, int(round(options.expected_latency_ms * 1e6)))
        changes["single_stream_expected_latency_ns"] = ns
        changes["multi_stream_expected_latency_ns"] = ns
    if options.samples_per_query is not None:
        changes["multi_stream_samples_per_query"] = options.samples_per_query
    if options.min_duration_s is not None:
        changes["min_duration_ms"] = int(round(options.min_duration_s * 1000))
    if options.max_duration_s is not None:
        changes["max_duration_ms"] = int(round(options.max_duration_s * 1000))
    if options.min_query_count is not None:
        changes["min_query_count"] = options.min_query_count
    return dataclasses.replace(settings, **changes), warnings


def _min_queries(scenario: TestScenario, percentile: float) -> int:
    """What early stopping needs when no query is over its bound: ``H(0)`` for Server,
    ``H(1) + 1`` for SingleStream/MultiStream; Offline has no early stopping."""
    if scenario == TestScenario.Offline:
        return 1
    return queries_needed(0 if scenario == TestScenario.Server else 1, percentile)


def run_http(
    options: HttpRunOptions,
    *,
    say: Callable[[str], None] = lambda line: None,
    on_pass: Callable[[Any, Path], None] | None = None,
    prompts: Sequence[str] | None = None,
) -> list[HttpPass]:
    """Run every requested scenario against the endpoint; one :class:`HttpPass` each.

    ``say`` gets progress lines; ``on_pass(outcome, out_dir)`` runs after each finished pass
    (the CLI records history there). The output folder must already be prepared.
    """
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings

    texts = list(prompts) if prompts is not None else load_prompts(options.dataset)
    tokenizer = load_tokenizer(options.tokenizer)
    planned = {s: http_settings(options, s) for s in options.scenarios}
    passes: list[HttpPass] = []
    several = len(options.scenarios) > 1
    for scenario in options.scenarios:
        settings, warnings = planned[scenario]
        for w in warnings:
            say(f"warning: {w}")
        out_dir = options.output / scenario if several else options.output
        out_dir.mkdir(parents=True, exist_ok=True)
        log_settings = LogSettings(
            log_output=LogOutputSettings(outdir=str(out_dir)), enable_trace=options.trace
        )
        sut = HttpSUT(options.target, texts, tokenizer=tokenizer)
        qsl = PromptLibrary(len(texts))
        say(
            f"running {scenario} against {options.target.url} ({options.target.model}) -> {out_dir}"
        )
        outcome: Any = None
        error = ""
        sut.start_window()
        try:
            outcome = run_test(sut, qsl, settings, log_settings, audit_config=options.audit_conf)
        except SutError as exc:
            error = str(exc)
        finally:
            busy = sut.loop_busy_fraction()
            sut.close()
        lag_p99 = 0
        if outcome is not None and outcome.performance is not None:
            lag_p99 = int(outcome.performance.result.issue_lag.p99_ns)
        report = client_report(
            sut.records,
            tokens_source=tokenizer.name,
            loop_busy=busy,
            issue_lag_p99_ns=lag_p99,
            concurrency_limit=options.target.max_concurrency,
        )
        (out_dir / CLIENT_FILE).write_text(report.to_json() + "\n", encoding="utf-8")
        write_requests(out_dir / REQUESTS_FILE, sut.records)
        _write_system(out_dir, options.target)
        if outcome is not None and on_pass is not None:
            on_pass(outcome, out_dir)
        passes.append(HttpPass(scenario, out_dir, outcome, report, error))
    return passes


def write_requests(path: Path, records: Sequence[RequestRecord]) -> None:
    """One JSON line per request: its timeline in ns from the pass's first issue (-1: never),
    every chunk's arrival and token count, the server's and the client's token counts."""
    t0 = min((r.issued_ns for r in records), default=0)

    def rel(t: int) -> int:
        return t - t0 if t >= 0 else -1

    with path.open("w", encoding="utf-8") as f:
        for r in records:
            row = {
                "sample_id": r.sample_id,
                "qsl_index": r.index,
                "issued_ns": rel(r.issued_ns),
                "started_ns": rel(r.started_ns),
                "sent_ns": rel(r.sent_ns),
                "first_output_ns": rel(r.first_output_ns),
                "first_content_ns": rel(r.first_content_ns),
                "done_ns": rel(r.done_ns),
                "chunk_ns": [rel(t) for t in r.chunk_ns],
                "chunk_tokens": list(r.chunk_tokens),
                "reasoning_tokens": r.reasoning_tokens,
                "server_tokens": r.server_tokens,
                "client_tokens": r.client_tokens,
                "failure": r.failure,
                "detail": r.detail,
            }
            f.write(json.dumps(row, separators=(",", ":")) + "\n")


def _write_system(out_dir: Path, target: HttpTarget) -> None:
    path = out_dir / SYSTEM_FILE
    try:
        described = network_description(
            target.base_url, model=target.model, max_concurrency=target.max_concurrency
        )
    except MlpaceError as exc:  # the description is a side file; never fail the run for it
        described = {"error": str(exc)}
    described["mlpace_description_time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path.write_text(json.dumps(described, indent=2, sort_keys=True) + "\n", encoding="utf-8")


__all__ = [
    "CLIENT_FILE",
    "REQUESTS_FILE",
    "HttpPass",
    "HttpRunOptions",
    "PromptLibrary",
    "http_settings",
    "load_prompts",
    "run_http",
    "write_requests",
]
