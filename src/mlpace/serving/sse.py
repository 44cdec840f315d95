"""Server-sent events and OpenAI streaming chunks, parsed without any I/O (pure functions).

An OpenAI-compatible stream is a sequence of SSE events whose ``data`` is one JSON chunk, ended by
``data: [DONE]``. A chunk's choice carries text in ``delta.content`` (chat) or ``text``
(completions), reasoning text in ``delta.reasoning_content`` or ``delta.reasoning`` (the two
spellings servers use), optionally the chunk's token ids in ``token_ids`` (vLLM's
``return_token_ids``), and the last chunks may carry ``usage`` (``stream_options.include_usage``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DONE = "[DONE]"


class MalformedStream(ValueError):
    """The server sent bytes that are not a valid OpenAI SSE stream."""


class SseDecoder:
    """Incremental SSE decoder: feed it bytes as they arrive, get whole events' data back.

    Lines end in LF or CRLF; an event ends at a blank line; several ``data:`` lines of one
    event are joined with newlines; comments (``:``) and other fields are ignored.
    """

    __slots__ = ("_buffer", "_data")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        events: list[str] = []
        for raw in lines:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
                continue
            if line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            if field == b"data":
                if value.startswith(b" "):
                    value = value[1:]
                try:
                    self._data.append(value.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise MalformedStream(f"SSE data line is not UTF-8: {exc}") from None
        return events

    def close(self) -> list[str]:
        """The last event when the stream ended without its blank line."""
        rest = self.feed(b"\n\n") if self._buffer or self._data else []
        return rest


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """What one OpenAI chunk says: content and reasoning text, token ids, usage, finish."""

    content: str = ""
    reasoning: str = ""
    token_ids: tuple[int, ...] | None = None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    finish_reason: str | None = None
    error: str | None = None


def parse_chunk(data: str) -> StreamChunk | None:
    """One event's data as a :class:`StreamChunk`; None for ``[DONE]``.

    Raises :class:`MalformedStream` when it is not a JSON object of the expected shape.
    """
    if data.strip() == DONE:
        return None
    try:
        obj: Any = json.loads(data)
    except ValueError as exc:
        raise MalformedStream(f"event data is not JSON ({exc}): {data[:80]!r}") from None
    if not isinstance(obj, dict):
        raise MalformedStream(f"event data is not a JSON object: {data[:80]!r}")
    if "error" in obj:
        err = obj["error"]
        text = err.get("message", str(err)) if isinstance(err, dict) else str(err)
        return StreamChunk(error=str(text))
    choices = obj.get("choices", [])
    if not isinstance(choices, list):
        raise MalformedStream(f"'choices' is not a list: {data[:80]!r}")
    content = reasoning = ""
    token_ids: tuple[int, ...] | None = None
    finish: str | None = None
    for choice in choices[:1]:  # n=1 requests: one choice
        if not isinstance(choice, dict):
            raise MalformedStream(f"a choice is not an object: {data[:80]!r}")
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content") or ""
            reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
        else:
            content = choice.get("text") or ""
        if not isinstance(content, str) or not isinstance(reasoning, str):
            raise MalformedStream(f"content is not a string: {data[:80]!r}")
        ids = choice.get("token_ids")
        if isinstance(ids, list):
            token_ids = tuple(int(i) for i in ids)
        finish = choice.get("finish_reason")
    usage = obj.get("usage")
    completion_tokens = prompt_tokens = None
    if isinstance(usage, dict):
        if isinstance(usage.get("completion_tokens"), int):
            completion_tokens = int(usage["completion_tokens"])
        if isinstance(usage.get("prompt_tokens"), int):
            prompt_tokens = int(usage["prompt_tokens"])
    return StreamChunk(
        content=content,
        reasoning=reasoning,
        token_ids=token_ids,
        completion_tokens=completion_tokens,
        prompt_tokens=prompt_tokens,
        finish_reason=finish if isinstance(finish, str) else None,
    )


def sse_event(obj: object) -> bytes:
    """One SSE event carrying ``obj`` as compact JSON (the server side)."""
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"

__all__ = [
    "DONE",
    "SSE_DONE",
    "MalformedStream",
    "SseDecoder",
    "StreamChunk",
    "parse_chunk",
    "sse_event",
]
