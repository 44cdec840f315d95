"""The training harness's small Transformer, served: real greedy decoding with request batching.

Requests wait in a queue; a decoding thread takes up to ``max_batch`` of them (waiting at most
``max_wait_s`` for the batch to fill once the first arrived), encodes the sources together and
decodes one token per step for the whole batch. After every step each request's new token goes
back to its event loop at once, so clients see tokens stream as they are decoded. A request
leaves the batch at its end-of-sentence token or its ``max_tokens``.

Weights: trained at start-up from the fixed seed for ``train_epochs`` epochs on the synthetic
language (tens of seconds on one core), or loaded from ``weights`` when that file exists (and
saved there after training when it does not).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.errors import MissingDependencyError
from mlpace.serving.models import Piece

DEFAULT_EPOCHS = 3
DEFAULT_MAX_BATCH = 32
DEFAULT_MAX_WAIT_S = 0.002


@dataclass
class _Job:
    src: list[int]
    max_tokens: int
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue[Piece | None] = field(default_factory=asyncio.Queue)


class TranslationModel:
    """``translation``: the 2+2-layer Transformer of ``mlpace train translation``."""

    name = "translation"

    def __init__(
        self,
        *,
        weights: str | Path | None = None,
        train_epochs: int = DEFAULT_EPOCHS,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        threads: int | None = None,
        say: Any = None,
    ) -> None:
        try:
            import torch
        except ImportError:
            raise MissingDependencyError("torch", "train") from None
        from mlpace.training.proxies import TRANSLATION
        from mlpace.training.proxies.translation import (
            MAX_WORDS,
            N_SPECIAL,
            TranslationTrainer,
            _vocabularies,
        )

        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_len = MAX_WORDS + 1
        src_words, tgt_words = _vocabularies()
        self._src_id = {w: i + N_SPECIAL for i, w in enumerate(src_words)}
        self._tgt_word = {i + N_SPECIAL: w for i, w in enumerate(tgt_words)}
        trainer = TranslationTrainer(dict(TRANSLATION.defaults), seed=1)
        trainer.build()
        path = Path(weights) if weights is not None else None
        assert trainer.model is not None
        if path is not None and path.is_file():
            trainer.model.load_state_dict(torch.load(path, weights_only=True))
            self.trained = f"weights from {path}"
        else:
            trainer.load_data()
            for epoch in range(train_epochs):
                trainer.train_epoch(epoch)
                if say is not None:
                    say(f"trained epoch {epoch + 1} of {train_epochs}")
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                torch.save(trainer.model.state_dict(), path)
            self.trained = f"trained {train_epochs} epoch(s) at start-up"
        self.model = trainer.model.eval()
        self.batches = 0
        self.batched_requests = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._worker, name="mlpace-decode", daemon=True)
        self._thread.start()

    def prompt_tokens(self, prompt: str) -> int:
        return len(self._encode(prompt))

    def _encode(self, prompt: str) -> list[int]:
        from mlpace.training.proxies.translation import EOS

        words = prompt.split()
        unknown = [w for w in words if w not in self._src_id]
        if unknown:
            raise ValueError(
                f"the translation model knows the words d0-d3, a0-a11, n0-n19 and v0-v11; "
                f"unknown: {' '.join(unknown[:5])}"
            )
        if not words or len(words) > self.max_len - 1:
            raise ValueError(f"a prompt has 1 to {self.max_len - 1} words, got {len(words)}")
        return [self._src_id[w] for w in words] + [EOS]

    async def generate(self, prompt: str, max_tokens: int | None) -> AsyncIterator[Piece]:
        job = _Job(self._encode(prompt), max_tokens or self.max_len, asyncio.get_running_loop())
        self._queue.put(job)
        while True:
            piece = await job.out.get()
            if piece is None:
                return
            yield piece

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    # ------------------------------------------------------------------ the decoding thread
    def _worker(self) -> None:
        import time

        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            self.batches += 1
            self.batched_requests += len(batch)
            try:
                self._decode(batch)
            except Exception:  # a broken batch must not kill the server: end its streams
                for j in batch:
                    j.loop.call_soon_threadsafe(j.out.put_nowait, None)

    def _decode(self, batch: list[_Job]) -> None:
        from mlpace.training.proxies.translation import BOS, EOS, PAD, _causal_mask

        torch = self._torch
        model = self.model
        width = max(len(j.src) for j in batch)
        src = torch.full((len(batch), width), PAD, dtype=torch.long)
        for r, j in enumerate(batch):
            src[r, : len(j.src)] = torch.tensor(j.src)
        active = list(range(len(batch)))
        counts = [0] * len(batch)
        with torch.no_grad():
            memory = model.encode(src)
            ys = torch.full((len(batch), 1), BOS, dtype=torch.long)
            for _ in range(self.max_len):
                h = model.decoder(
                    model._embed(model.tgt_embed, ys),
                    memory,
                    tgt_mask=_causal_mask(ys.shape[1]),
                    memory_key_padding_mask=src == PAD,
                )
                nxt = model.out(h[:, -1]).argmax(-1)
                ys = torch.cat([ys, nxt[:, None]], dim=1)
                still = []
                for r in active:
                    tok = int(nxt[r])
                    job = batch[r]
                    if tok == EOS or tok not in self._tgt_word:
                        job.loop.call_soon_threadsafe(job.out.put_nowait, None)
                        continue
                    piece = Piece((self._tgt_word[tok],), (tok,))
                    job.loop.call_soon_threadsafe(job.out.put_nowait, piece)
                    counts[r] += 1
                    if counts[r] >= job.max_tokens:
                        job.loop.call_soon_threadsafe(job.out.put_nowait, None)
                    else:
                        still.append(r)
                active = still
                if not active:
                    break
        for r in active:  # ran out of positions
            batch[r].loop.call_soon_threadsafe(batch[r].out.put_nowait, None)


__all__ = ["DEFAULT_EPOCHS", "TranslationModel"]
