"""``mlpace serve``: an OpenAI-compatible streaming server (Starlette on uvicorn).

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/completions`` (both streaming over SSE or
not), ``GET /v1/models`` and ``GET /health``. Streams carry one chunk per model :class:`Piece`,
reasoning text in ``delta.reasoning_content`` (chat), the chunk's token ids in ``token_ids`` when
the request asks ``return_token_ids``, and a final usage chunk when it asks
``stream_options.include_usage`` (as OpenAI servers do).

A :class:`FaultPlan` makes every N-th request misbehave in one way, so a client's failure
handling can be tested against a real server: ``http500``, ``http429`` (error statuses),
``malformed`` (a chunk that is not JSON), ``stall`` (stop sending mid-stream), ``drop`` (close the
connection mid-stream) and ``hang`` (never answer).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mlpace.errors import MissingDependencyError
from mlpace.serving.models import Piece, ServedModel
from mlpace.serving.sse import SSE_DONE, sse_event

FAULT_KINDS = ("none", "http500", "http429", "malformed", "stall", "drop", "hang")
# How long a stalled or hanging request waits (the client's timeout ends it long before).
STALL_S = 3600.0


@dataclass
class FaultPlan:
    """Every ``every``-th request (1-based) fails with ``kind``."""

    kind: str = "none"
    every: int = 1

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        if self.every < 1:
            raise ValueError(f"fault period {self.every} must be >= 1")
        self._counter = itertools.count(1)

    def next(self) -> str:
        n = next(self._counter)
        return self.kind if self.kind != "none" and n % self.every == 0 else "none"


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def _prompt_of(body: dict[str, Any], api: str) -> str:
    if api == "chat":
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _BadRequest(400, "'messages' must be a non-empty list")
        content = messages[-1].get("content") if isinstance(messages[-1], dict) else None
        if isinstance(content, list):  # content parts: keep the text ones
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise _BadRequest(400, "the last message needs a text 'content'")
        return content
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise _BadRequest(400, "'prompt' must be a string")
    return prompt


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return None
    if not isinstance(value, int) or value < 1:
        raise _BadRequest(400, f"max_tokens must be a positive integer, got {value!r}")
    return value


class _Stream:
    """Builds the OpenAI chunks of one response."""

    def __init__(self, api: str, model: str, want_ids: bool) -> None:
        self.api = api
        self.model = model
        self.want_ids = want_ids
        self.id = ("chatcmpl-" if api == "chat" else "cmpl-") + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.started = {"content": False, "reasoning": False}

    def _frame(self, choice: dict[str, Any]) -> dict[str, Any]:
        kind = "chat.completion.chunk" if self.api == "chat" else "text_completion"
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        }

    def text_of(self, piece: Piece) -> str:
        lead = " " if self.started[piece.channel] else ""
        self.started[piece.channel] = True
        return lead + " ".join(piece.texts)

    def chunk(self, piece: Piece) -> dict[str, Any]:
        text = self.text_of(piece)
        choice: dict[str, Any] = {"index": 0, "finish_reason": None}
        if self.api == "chat":
            key = "content" if piece.channel == "content" else "reasoning_content"
            choice["delta"] = {key: text}
        else:
            choice["text"] = text
        if self.want_ids:
            choice["token_ids"] = list(piece.ids)
        return self._frame(choice)

    def role(self) -> dict[str, Any]:
        return self._frame({"index": 0, "delta": {"role": "assistant", "content": ""}})

    def finish(self, reason: str) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "finish_reason": reason}
        if self.api == "chat":
            choice["delta"] = {}
        else:
            choice["text"] = ""
        return self._frame(choice)

    def usage(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        frame = self._frame({})
        frame["choices"] = []
        frame["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return frame


def create_app(model: ServedModel, *, faults: FaultPlan | None = None) -> Any:
    """The Starlette application serving ``model`` (needs the ``serve`` extra)."""
    try:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response, StreamingResponse
        from starlette.routing import Route
    except ImportError:
        raise MissingDependencyError("starlette", "serve") from None
    plan = faults or FaultPlan()

    def error(status: int, message: str) -> Response:
        kind = "invalid_request_error" if status < 500 else "server_error"
        return JSONResponse(
            {"error": {"message": message, "type": kind, "code": status}}, status_code=status
        )

    async def completions(request: Request, api: str) -> Response:
        fault = plan.next()
        if fault == "hang":
            await asyncio.sleep(STALL_S)
        if fault in ("http500", "http429"):
            status = int(fault[4:])
            return error(status, f"injected fault: HTTP {status}")
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise _BadRequest(400, "the request body must be a JSON object")
            name = body.get("model")
            if name is not None and name != model.name:
                raise _BadRequest(404, f"model {name!r} is not served here ({model.name!r} is)")
            prompt = _prompt_of(body, api)
            max_tokens = _max_tokens(body)
        except ValueError as exc:
            return error(400, f"the request body is not JSON: {exc}")
        except _BadRequest as exc:
            return error(exc.status, str(exc))
        stream = _Stream(api, model.name, bool(body.get("return_token_ids")))
        try:
            prompt_tokens = model.prompt_tokens(prompt)
        except ValueError as exc:
            return error(400, str(exc))
        if not body.get("stream"):
            whole: Response = await _whole(model, stream, prompt, prompt_tokens, max_tokens)
            return whole
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))

        async def events() -> AsyncIterator[bytes]:
            if api == "chat":
                yield sse_event(stream.role())
            count = 0
            async for piece in model.generate(prompt, max_tokens):
                yield sse_event(stream.chunk(piece))
                count += len(piece.ids)
                if fault == "malformed":
                    yield b"data: {not json\n\n"
                elif fault == "stall":
                    await asyncio.sleep(STALL_S)
                elif fault == "drop":
                    raise ConnectionAbortedError("injected fault: connection dropped")
            limit = max_tokens is not None and count >= max_tokens
            yield sse_event(stream.finish("length" if limit else "stop"))
            if include_usage:
                yield sse_event(stream.usage(prompt_tokens, count))
            yield SSE_DONE

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def chat(request: Request) -> Response:
        return await completions(request, "chat")

    async def text(request: Request) -> Response:
        return await completions(request, "completions")

    async def models(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": model.name, "object": "model", "owned_by": "mlpace"}],
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "model": model.name})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/completions", text, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


async def _whole(
    model: ServedModel, stream: _Stream, prompt: str, prompt_tokens: int, max_tokens: int | None
) -> Any:
    from starlette.responses import JSONResponse

    content: list[str] = []
    reasoning: list[str] = []
    count = 0
    async for piece in model.generate(prompt, max_tokens):
        (content if piece.channel == "content" else reasoning).append(stream.text_of(piece))
        count += len(piece.ids)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    finish = "length" if max_tokens is not None and count >= max_tokens else "stop"
    if stream.api == "chat":
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish}
        kind = "chat.completion"
    else:
        choice = {"index": 0, "text": "".join(content), "finish_reason": finish}
        kind = "text_completion"
    usage = stream.usage(prompt_tokens, count)["usage"]
    return JSONResponse(
        {
            "id": stream.id,
            "object": kind,
            "created": stream.created,
            "model": model.name,
            "choices": [choice],
            "usage": usage,
        }
    )


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (port 0: a free port, read it from ``getsockname()``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(app: Any, *, log_level: str = "warning") -> Any:
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", "serve") from None
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        loop="auto",
        http="auto",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def serve_forever(app: Any, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Run uvicorn on ``sock`` until SIGINT/SIGTERM (the ``mlpace serve`` process)."""
    _uvicorn_server(app, log_level=log_level).run(sockets=[sock])


@contextmanager
def serving_in_thread(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` from a background thread on a free port; yields the base URL (``.../v1``).

    For tests and benchmarks in one process; the server stops when the block ends.
    """
    sock = bind_socket(host, 0)
    port = sock.getsockname()[1]
    server = _uvicorn_server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="mlpace-serve", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


__all__ = [
    "FAULT_KINDS",
    "FaultPlan",
    "bind_socket",
    "create_app",
    "serve_forever",
    "serving_in_thread",
]
