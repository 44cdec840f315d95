"""Pure parts of the serving package: SSE decoding, OpenAI chunks, token attribution, the client
report, network keys, and the LoadGen's fail() hook."""

from __future__ import annotations

import threading
from array import array

import pytest

from mlpace.loadgen import NullQSL, TestSettings, run_test
from mlpace.loadgen.enums import TestScenario as Scenario
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.serving.client import RequestRecord
from mlpace.serving.network import NETWORK_KEYS, is_loopback, network_keys
from mlpace.serving.report import client_report, inter_token_latencies
from mlpace.serving.sse import MalformedStream, SseDecoder, parse_chunk


def test_sse_events_split_anywhere_and_crlf() -> None:
    stream = b'data: {"a":1}\r\n\r\n: comment\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n'
    for cut in range(len(stream) + 1):
        dec = SseDecoder()
        events = dec.feed(stream[:cut]) + dec.feed(stream[cut:]) + dec.close()
        assert events == ['{"a":1}', "x\ny", "[DONE]"], cut


def test_sse_last_event_without_blank_line_is_kept() -> None:
    dec = SseDecoder()
    assert dec.feed(b"data: [DONE]") == []
    assert dec.close() == ["[DONE]"]


def test_parse_chunk_channels_ids_usage() -> None:
    chat = parse_chunk('{"choices":[{"delta":{"content":" w1 w2"},"token_ids":[5,6]}]}')
    assert chat is not None and chat.content == " w1 w2" and chat.token_ids == (5, 6)
    think = parse_chunk('{"choices":[{"delta":{"reasoning_content":"hmm"}}]}')
    assert think is not None and think.reasoning == "hmm" and think.content == ""
    alt = parse_chunk('{"choices":[{"delta":{"reasoning":"r"}}]}')
    assert alt is not None and alt.reasoning == "r"
    text = parse_chunk('{"choices":[{"text":"abc","finish_reason":"stop"}]}')
    assert text is not None and text.content == "abc" and text.finish_reason == "stop"
    usage = parse_chunk('{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":9}}')
    assert usage is not None and usage.completion_tokens == 9 and usage.prompt_tokens == 3
    err = parse_chunk('{"error":{"message":"boom"}}')
    assert err is not None and err.error == "boom"
    assert parse_chunk("[DONE]") is None


@pytest.mark.parametrize("bad", ["{not json", "[1,2]", '{"choices":3}', '{"choices":[{"text":5}]}'])
def test_parse_chunk_refuses_malformed(bad: str) -> None:
    with pytest.raises(MalformedStream):
        parse_chunk(bad)


def test_multi_token_chunks_spread_their_gap() -> None:
    # chunk 0: 3 tokens at t=100 (two of them arrive with the first: 0 each);
    # chunk 1: 2 tokens 40 later (20 each); chunk 2: 1 token 10 later.
    assert inter_token_latencies([100, 140, 150], [3, 2, 1]) == [0, 0, 20, 20, 10]


def _record(i: int, *, server: int | None, client: int, fail: str | None = None) -> RequestRecord:
    r = RequestRecord(i, i, issued_ns=0, started_ns=10, sent_ns=10)
    if fail:
        r.failure = fail
        r.done_ns = 50
        return r
    r.first_output_ns = 100
    r.first_content_ns = 300
    r.done_ns = 400
    r.chunk_ns = array("q", [100, 300, 400])
    r.chunk_tokens = array("q", [1, 1, client - 2])
    r.reasoning_tokens = 1
    r.client_tokens = client
    r.server_tokens = server
    return r


def test_client_report_counts_mismatch_failures_and_ttfo() -> None:
    records = [
        _record(0, server=5, client=5),
        _record(1, server=6, client=5),
        _record(2, server=None, client=4, fail="http 5xx"),
        _record(3, server=None, client=4, fail="stalled"),
    ]
    rep = client_report(records, tokens_source="words", loop_busy=0.1)
    assert rep.failures == {"http 5xx": 1, "stalled": 1}
    assert rep.server_tokens == 11 and rep.client_tokens == 10
    assert rep.token_mismatch_requests == 1
    assert rep.ttft.p50_ns == 300 and rep.ttfo.p50_ns == 100
    assert rep.multi_token_chunks == 2  # the last chunk of each completed request has 3 / 3
    text = "\n".join(rep.lines())
    assert "http 5xx 1" in text and "1 request(s) disagree" in text
    assert any("completion_tokens differ" in w for w in rep.warnings)


def test_busy_client_loop_is_called_out() -> None:
    rep = client_report([_record(0, server=5, client=5)], tokens_source="w", loop_busy=0.95)
    assert any("client, not the server" in w for w in rep.warnings)


def test_network_keys_mark_loopback_and_remote() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.1.2.3") and not is_loopback("example.org")
    local = network_keys("http://127.0.0.1:8000/v1", max_concurrency=4)
    assert set(NETWORK_KEYS) <= set(local)
    assert local["is_network"] == "true" and local["nic_sut"] == "lo"
    assert local["number_connections"] == "4"
    remote = network_keys("http://10.1.2.3:8000/v1")
    assert "10.1.2.3" in remote["network_topology"] and remote["nic_sut"] == ""


class _FailingSUT:
    """Completes every sample from a thread, except every third one, which it fails."""

    name = "failing"

    def __init__(self) -> None:
        self.sink = None

    def bind(self, sink) -> None:  # type: ignore[no-untyped-def]
        self.sink = sink

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        def answer() -> None:
            for i in ids:
                if i % 3 == 1:
                    self.sink.fail([i], "http 5xx: injected")  # type: ignore[attr-defined]
                    self.sink.complete_ids([i])  # type: ignore[attr-defined]  # too late
                else:
                    self.sink.complete_ids([i])  # type: ignore[attr-defined]

        threading.Thread(target=answer).start()

    def issue_queries(self, samples) -> None:  # type: ignore[no-untyped-def]
        self.issue_query_ids([s.id for s in samples], [s.index for s in samples])

    def flush_queries(self) -> None:
        pass


def test_recorder_fail_ends_the_run_invalid_without_hanging(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = TestSettings(
        scenario=Scenario.SingleStream,
        min_duration_ms=0,
        min_query_count=30,
        sample_timeout_ms=5_000,
    )
    logs = LogSettings(log_output=LogOutputSettings(outdir=str(tmp_path)))
    outcome = run_test(_FailingSUT(), NullQSL(64), settings, logs)
    result = outcome.performance.result  # type: ignore[union-attr]
    assert not result.valid
    assert not result.check("all_samples_completed").passed
    assert result.incomplete_samples == 10  # ids 1, 4, ..., 28
    assert result.duplicate_responses == 10  # the late completions of failed samples
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "failed: http 5xx: injected" in detail
