"""An OpenAI-compatible HTTP endpoint as a LoadGen system under test (aiohttp, SSE streaming).

The LoadGen's issuing thread hands sample ids to :meth:`HttpSUT.issue_query_ids`, which only
timestamps them and wakes the client's own event loop thread (one ``call_soon_threadsafe``); that
thread sends the requests, reads the streams and answers the LoadGen's response sink:
``first_token`` at the first *content* token (so TTFT ignores reasoning), ``complete`` with the
token count at the end, and ``fail`` with a failure kind when a request is lost. Per request it
keeps a :class:`RequestRecord` (issue, send, first output, first content, every chunk with its
token count, completion), from which :mod:`mlpace.serving.report` derives what the LoadGen does
not: token-count mismatches, TTFO, inter-token latency, client lag and load.

Every request is bounded in time: ``connect_timeout_s`` to connect, ``stall_timeout_s`` between
two reads of the stream, ``request_timeout_s`` in all; a request that runs out fails (kind
``timeout`` before any chunk, ``stalled`` after one), so a run never hangs.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlpace.errors import MissingDependencyError
from mlpace.loadgen.sut import QuerySample, QuerySampleResponse
from mlpace.serving.sse import MalformedStream, SseDecoder, parse_chunk
from mlpace.serving.tokenize import Tokenizer, WhitespaceTokenizer

# Failure kinds, in the order the console lists them.
FAILURE_KINDS = (
    "connection refused",
    "timeout",
    "stalled",
    "http 4xx",
    "http 5xx",
    "malformed stream",
    "disconnected",
    "server error event",
)


@dataclass(frozen=True)
class HttpTarget:
    """Where and how to send requests."""

    base_url: str  # ends in /v1
    api: str = "chat"  # or "completions"
    model: str = "echo"
    max_tokens: int | None = None
    max_concurrency: int = 0  # 0: no limit
    connect_timeout_s: float = 5.0
    stall_timeout_s: float = 10.0
    request_timeout_s: float = 60.0
    token_ids: bool = True  # ask for token ids (vLLM's return_token_ids; others ignore it)
    include_usage: bool = True
    api_key: str | None = None

    @property
    def url(self) -> str:
        path = "chat/completions" if self.api == "chat" else "completions"
        return self.base_url.rstrip("/") + "/" + path


@dataclass(slots=True)
class RequestRecord:
    """One request's timeline (``time.monotonic_ns``) and token accounting."""

    sample_id: int
    index: int
    issued_ns: int
    started_ns: int = -1  # the client loop started its task
    sent_ns: int = -1  # a concurrency slot was free: the request goes out
    first_output_ns: int = -1  # first reasoning or content token
    first_content_ns: int = -1  # first content token (TTFT)
    done_ns: int = -1
    chunk_ns: array[int] = field(default_factory=lambda: array("q"))
    chunk_tokens: array[int] = field(default_factory=lambda: array("q"))
    reasoning_tokens: int = 0
    client_tokens: int = 0
    server_tokens: int | None = None
    failure: str | None = None
    detail: str = ""


def _body(target: HttpTarget, prompt: str) -> bytes:
    body: dict[str, Any] = {"model": target.model, "stream": True}
    if target.api == "chat":
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    if target.max_tokens is not None:
        body["max_tokens"] = target.max_tokens
    if target.include_usage:
        body["stream_options"] = {"include_usage": True}
    if target.token_ids:
        body["return_token_ids"] = True
    return json.dumps(body, separators=(",", ":")).encode()


class _Failed(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        super().__init__(detail)


class HttpSUT:
    """A LoadGen SUT that streams each sample's prompt to an OpenAI-compatible endpoint."""

    def __init__(
        self,
        target: HttpTarget,
        prompts: Sequence[str],
        *,
        tokenizer: Tokenizer | None = None,
        now_ns: Callable[[], int] = time.perf_counter_ns,
        name: str | None = None,
    ) -> None:
        try:
            import aiohttp
        except ImportError:
            raise MissingDependencyError("aiohttp", "serve") from None
        self._aiohttp = aiohttp
        self.target = target
        # "Network SUT" in the name: the submission checker requires it for network runs.
        self.name = name or f"Network SUT {target.model} at {target.url}"
        self.tokenizer = tokenizer or WhitespaceTokenizer()
        self._bodies = [_body(target, p) for p in prompts]
        self._now = now_ns
        self.records: list[RequestRecord] = []
        self.failures: dict[str, int] = {}
        self._sink: Any = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run_loop, name="mlpace-http", daemon=True)
        self._session: Any = None
        self._sem: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._cpu_start_ns = 0
        self._wall_start_ns = 0
        self._thread.start()
        self._ready.wait()

    # ------------------------------------------------------------------ the loop thread
    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._open())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._close())
        self._loop.close()

    async def _open(self) -> None:
        aiohttp = self._aiohttp
        t = self.target
        connector = aiohttp.TCPConnector(limit=t.max_concurrency, ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(
            total=t.request_timeout_s, sock_connect=t.connect_timeout_s, sock_read=t.stall_timeout_s
        )
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if t.api_key:
            headers["Authorization"] = f"Bearer {t.api_key}"
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers=headers, auto_decompress=False
        )
        if t.max_concurrency > 0:
            self._sem = asyncio.Semaphore(t.max_concurrency)
        self.reset_load()

    async def _close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # ------------------------------------------------------------------ SUT protocol
    def bind(self, sink: Any) -> None:
        self._sink = sink

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        self._loop.call_soon_threadsafe(self._start, ids, indices, self._now())

    def issue_queries(self, samples: Sequence[QuerySample]) -> None:
        self.issue_query_ids([s.id for s in samples], [s.index for s in samples])

    def flush_queries(self) -> None:
        pass

    def close(self) -> None:
        """Cancel what is still running, close the session and stop the loop thread."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    # ------------------------------------------------------------------ measurement of the client
    def reset_load(self) -> None:
        """Start a new window for :meth:`loop_busy_fraction` (call on the loop thread or before
        the run; a thread's CPU clock can only be read from that thread)."""
        self._cpu_start_ns = time.thread_time_ns()
        self._wall_start_ns = time.monotonic_ns()

    def loop_busy_fraction(self) -> float:
        """CPU time of the client's event loop thread / wall time since :meth:`reset_load`."""

        async def read() -> float:
            cpu = time.thread_time_ns() - self._cpu_start_ns
            wall = time.monotonic_ns() - self._wall_start_ns
            return cpu / wall if wall > 0 else 0.0

        return asyncio.run_coroutine_threadsafe(read(), self._loop).result(timeout=30)

    def start_window(self) -> None:
        asyncio.run_coroutine_threadsafe(self._reset(), self._loop).result(timeout=30)

    async def _reset(self) -> None:
        self.reset_load()

    # ------------------------------------------------------------------ requests
    def _start(self, ids: list[int], indices: list[int], issued_ns: int) -> None:
        for sid, idx in zip(ids, indices):
            rec = RequestRecord(sid, idx, issued_ns)
            self.records.append(rec)
            task = self._loop.create_task(self._request(rec))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _request(self, rec: RequestRecord) -> None:
        rec.started_ns = self._now()
        sem = self._sem
        if sem is not None:
            async with sem:
                await self._send(rec)
        else:
            await self._send(rec)

    async def _send(self, rec: RequestRecord) -> None:
        aiohttp = self._aiohttp
        seen_chunk = False
        try:
            rec.sent_ns = self._now()
            async with self._session.post(self.target.url, data=self._bodies[rec.index]) as resp:
                if resp.status != 200:
                    text = (await resp.text())[:200]
                    kind = "http 4xx" if 400 <= resp.status < 500 else "http 5xx"
                    raise _Failed(kind, f"HTTP {resp.status}: {text}")
                seen_chunk = await self._read_stream(rec, resp)
        except _Failed as exc:
            self._fail(rec, exc.kind, str(exc))
        except MalformedStream as exc:
            self._fail(rec, "malformed stream", str(exc))
        except asyncio.TimeoutError:
            kind = "stalled" if seen_chunk or rec.chunk_ns else "timeout"
            self._fail(rec, kind, "no data within the stall / request timeout")
        except aiohttp.ClientConnectorError as exc:
            self._fail(rec, "connection refused", str(exc))
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
            self._fail(rec, "disconnected", f"{type(exc).__name__}: {exc}")
        except aiohttp.ClientError as exc:
            self._fail(rec, "disconnected", f"{type(exc).__name__}: {exc}")
        except asyncio.CancelledError:
            self._fail(rec, "disconnected", "cancelled when the client closed")
            raise

    async def _read_stream(self, rec: RequestRecord, resp: Any) -> bool:
        decoder = SseDecoder()
        now = self._now
        sink = self._sink
        tokenize = self.tokenizer.ids
        ids_all: list[int] = []
        done = False
        async for data in resp.content.iter_any():
            t = now()
            for event in decoder.feed(data):
                chunk = parse_chunk(event)
                if chunk is None:
                    done = True
                    continue
                if chunk.error is not None:
                    raise _Failed("server error event", chunk.error)
                if chunk.completion_tokens is not None:
                    rec.server_tokens = chunk.completion_tokens
                text = chunk.content
                if not text and not chunk.reasoning:
                    continue
                ids = (
                    list(chunk.token_ids)
                    if chunk.token_ids is not None
                    else tokenize(text + chunk.reasoning)
                )
                n = len(ids)
                rec.chunk_ns.append(t)
                rec.chunk_tokens.append(n)
                rec.client_tokens += n
                ids_all += ids
                if rec.first_output_ns < 0:
                    rec.first_output_ns = t
                if not text:
                    rec.reasoning_tokens += n
                    continue
                if rec.first_content_ns < 0:
                    rec.first_content_ns = t
                    if sink is not None:
                        sink.first_token([QuerySampleResponse(rec.sample_id, _i32(ids))])
        for event in decoder.close():
            if parse_chunk(event) is None:
                done = True
        if not done:
            raise _Failed("disconnected", "the stream ended without its [DONE] event")
        rec.done_ns = now()
        if sink is None:
            return bool(rec.chunk_ns)
        if rec.first_content_ns < 0:  # no content at all: its first token is its end
            sink.first_token([QuerySampleResponse(rec.sample_id, b"")])
        n_tokens = rec.server_tokens if rec.server_tokens is not None else rec.client_tokens
        data = _i32(ids_all) if sink.logs_payload(rec.sample_id) else b""
        sink.complete([QuerySampleResponse(rec.sample_id, data, n_tokens)])
        return True

    def _fail(self, rec: RequestRecord, kind: str, detail: str) -> None:
        rec.failure = kind
        rec.detail = detail
        rec.done_ns = self._now()
        self.failures[kind] = self.failures.get(kind, 0) + 1
        sink = self._sink
        if sink is None:
            return
        fail = getattr(sink, "fail", None)
        if fail is not None:
            fail([rec.sample_id], f"{kind}: {detail}")
        else:  # a sink without fail(): complete it with no tokens so nothing waits forever
            sink.complete([QuerySampleResponse(rec.sample_id)])


def _i32(ids: list[int]) -> bytes:
    return array("i", ids).tobytes() if ids else b""


__all__ = ["FAILURE_KINDS", "HttpSUT", "HttpTarget", "RequestRecord"]
