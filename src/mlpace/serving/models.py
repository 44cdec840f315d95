"""What ``mlpace serve`` serves: the model interface and the ``echo`` model.

A served model turns a prompt into an async stream of :class:`Piece` objects, each one SSE chunk:
the tokens it carries (text and id) and its channel (``content`` or ``reasoning``). The echo
model answers with the prompt's words, on a schedule fixed by its configuration, so a client's
measured TTFT and TPOT can be checked against known values: token ``j`` (counting reasoning
tokens first) is ready ``ttft + j * tpot`` after the request arrived, a chunk leaves when its
last token is ready, and never sooner than ``tpot`` per token after the previous chunk left (a
server delayed by a busy machine does not catch up in a burst), so TTFT >= ttft and
TPOT >= tpot hold for every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from mlpace.serving.tokenize import word_id


@dataclass(frozen=True, slots=True)
class Piece:
    """One chunk of a streamed answer."""

    texts: tuple[str, ...]
    ids: tuple[int, ...]
    channel: str = "content"  # or "reasoning"


class ServedModel(Protocol):
    name: str

    def prompt_tokens(self, prompt: str) -> int: ...

    def generate(self, prompt: str, max_tokens: int | None) -> AsyncIterator[Piece]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class EchoConfig:
    """The echo model's timing and shape (all times in seconds)."""

    ttft_s: float = 0.02
    tpot_s: float = 0.005
    output_tokens: int = 16
    tokens_per_chunk: int = 1
    reasoning_tokens: int = 0

    def __post_init__(self) -> None:
        if self.ttft_s < 0 or self.tpot_s < 0:
            raise ValueError("echo TTFT and TPOT must be >= 0")
        if self.output_tokens < 1 or self.tokens_per_chunk < 1 or self.reasoning_tokens < 0:
            raise ValueError("echo output tokens and tokens per chunk must be >= 1")


class EchoModel:
    """Answers with the prompt's words (repeated or cut to the output length)."""

    def __init__(self, config: EchoConfig = EchoConfig(), name: str = "echo") -> None:  # noqa: B008
        self.config = config
        self.name = name

    def prompt_tokens(self, prompt: str) -> int:
        return len(prompt.split())

    def close(self) -> None:
        pass

    async def generate(self, prompt: str, max_tokens: int | None) -> AsyncIterator[Piece]:
        cfg = self.config
        start = time.monotonic()
        n = cfg.output_tokens if max_tokens is None else max(1, min(max_tokens, cfg.output_tokens))
        words = prompt.split() or ["echo"]
        tokens = [("think", "reasoning")] * cfg.reasoning_tokens + [
            (words[i % len(words)], "content") for i in range(n)
        ]
        j = 0
        ready = start + cfg.ttft_s - cfg.tpot_s  # when the token before the first was "ready"
        while j < len(tokens):
            channel = tokens[j][1]
            group = [tokens[j][0]]
            j += 1
            while len(group) < cfg.tokens_per_chunk and j < len(tokens) and tokens[j][1] == channel:
                group.append(tokens[j][0])
                j += 1
            ready += len(group) * cfg.tpot_s
            delay = ready - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            ready = time.monotonic()  # late (a busy machine): later tokens do not catch up
            yield Piece(tuple(group), tuple(word_id(w) for w in group), channel)


__all__ = ["EchoConfig", "EchoModel", "Piece", "ServedModel"]
