"""The accuracy log, ``mlperf_log_accuracy.json``: a JSON array written as responses arrive.

Layout as officially: ``[``, then entries ``{ "seq_id" : N, "qsl_idx" : N, "data" : "HEX" }``
(token runs add ``"token_data"`` and/or ``"token_count"``), each preceded by ``\\n`` and
separated by ``,``, and the footer ``\\n]\\n`` (an empty log is ``[\\n]\\n``). Entries are
buffered and flushed in batches, so the file holds every flushed entry if the process dies; only
the footer is then missing.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

# Flush after this many entries or this many buffered characters, whichever comes first.
FLUSH_ENTRIES = 256
FLUSH_CHARS = 1 << 20


def format_entry(
    seq_id: int,
    qsl_idx: int,
    data: bytes,
    *,
    token_data: bytes | None = None,
    token_count: int | None = None,
) -> str:
    text = (
        f'{{ "seq_id" : {int(seq_id)}, "qsl_idx" : {int(qsl_idx)}, "data" : "{data.hex().upper()}"'
    )
    if token_data is not None:
        text += f', "token_data" : "{token_data.hex().upper()}"'
    if token_count is not None:
        text += f', "token_count" : {int(token_count)}'
    return text + " }"


class AccuracyLog:
    """Thread-safe, batched writer; ``close()`` writes the footer and may be called again."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._out: IO[str] | None = None
        self._buffer: list[str] = []
        self._buffered_chars = 0
        self._needs_comma = False
        self.entry_count = 0
        self.path = path
        if path is not None:
            self._out = open(path, "w", encoding="ascii")  # noqa: SIM115 - closed in close()
            self._out.write("[")
            self._out.flush()

    def add(
        self,
        seq_id: int,
        qsl_idx: int,
        data: bytes,
        *,
        token_data: bytes | None = None,
        token_count: int | None = None,
    ) -> None:
        entry = format_entry(seq_id, qsl_idx, data, token_data=token_data, token_count=token_count)
        with self._lock:
            if self._out is None:
                return
            piece = (",\n" if self._needs_comma else "\n") + entry
            self._needs_comma = True
            self._buffer.append(piece)
            self._buffered_chars += len(piece)
            self.entry_count += 1
            if len(self._buffer) >= FLUSH_ENTRIES or self._buffered_chars >= FLUSH_CHARS:
                self._flush_locked()

    def _flush_locked(self) -> None:
        if self._out is not None and self._buffer:
            self._out.write("".join(self._buffer))
            self._out.flush()
        self._buffer.clear()
        self._buffered_chars = 0

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        with self._lock:
            if self._out is None:
                return
            self._flush_locked()
            self._out.write("\n]\n")
            self._out.close()
            self._out = None
