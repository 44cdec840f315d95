"""MLLOG lines: a writer compatible with ``mlperf_logging.mllog`` and a parser that reads like
the official compliance checker.

A line is ``:::MLLOG `` followed by one JSON object whose fields come in the order
``namespace, time_ms, event_type, key, value, metadata``; ``metadata`` always carries the
caller's ``file`` and ``lineno`` (the seed checker needs them).

The parser copies the official reading rules (reference §1.2): latin-1, lines without the token
skipped, everything before the (last) token cut away, records numbered 0-based among the MLLOG
lines, malformed JSON collected as a parse error. One deliberate difference: a JSON object that
lacks ``time_ms``, ``key``, ``value`` or ``metadata`` (or is not an object at all) crashes the
official checker with a traceback; we report it as a parse error of that line instead.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from mlpace.errors import TrainingError
from mlpace.training import constants as C

TOKEN = ":::MLLOG "
_REQUIRED_FIELDS = ("time_ms", "key", "value", "metadata")


def _default_ms() -> int:
    return time.time_ns() // 1_000_000


def _to_json(obj: object) -> object:
    """json.dumps fallback: numpy scalars and arrays become plain JSON (duck-typed, so the
    writer does not import numpy)."""
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    item = getattr(obj, "item", None)
    if callable(item):
        return item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"MLLOG value of type {type(obj).__name__} is not JSON serialisable")


def env_rank() -> int:
    """The process rank from the usual launcher variables (torchrun, MPI, SLURM); 0 if none."""
    for name in ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"):
        raw = os.environ.get(name)
        if raw is not None and raw.strip().lstrip("-").isdigit():
            return int(raw)
    return 0


class MLLogger:
    """Writes MLLOG lines, flushed one by one so a crashed run still leaves a readable log.

    ``sink`` is an open text stream or a path (opened for appending, like the official
    logger's file handler); ``None`` writes to stdout as the official logger does by default.
    ``echo`` gets a copy of every line (e.g. stderr). Only ``rank == 0`` writes; on other
    ranks every call is a no-op, so data-parallel workers can share the same code.
    """

    def __init__(
        self,
        sink: TextIO | str | Path | None = None,
        *,
        namespace: str = "",
        clock_ms: Callable[[], int] = _default_ms,
        echo: TextIO | None = None,
        rank: int = 0,
    ) -> None:
        self.namespace = namespace
        self.rank = rank
        self._clock_ms = clock_ms
        self._echo = echo
        self._lock = threading.Lock()
        self._owned: TextIO | None = None
        self._stream: TextIO | None = None
        self._closed = False
        if rank != 0:
            return
        if sink is None:
            self._stream = sys.stdout
        elif isinstance(sink, (str, Path)):
            path = Path(sink)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._owned = path.open("a", encoding="utf-8")
            except OSError as exc:
                raise TrainingError(f"cannot open MLLOG file {path}: {exc}") from exc
            self._stream = self._owned
        else:
            self._stream = sink

    @property
    def enabled(self) -> bool:
        return self.rank == 0 and not self._closed

    def start(
        self,
        key: str,
        value: object = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        time_ms: int | None = None,
    ) -> None:
        """An ``INTERVAL_START`` line (run_start, block_start, eval_start, ...)."""
        self._log(C.INTERVAL_START, key, value, metadata, time_ms)

    def end(
        self,
        key: str,
        value: object = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        time_ms: int | None = None,
    ) -> None:
        """An ``INTERVAL_END`` line (run_stop, block_stop, eval_stop, ...)."""
        self._log(C.INTERVAL_END, key, value, metadata, time_ms)

    def event(
        self,
        key: str,
        value: object = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        time_ms: int | None = None,
    ) -> None:
        """A ``POINT_IN_TIME`` line (hyperparameters, eval_accuracy, submission info, ...)."""
        self._log(C.POINT_IN_TIME, key, value, metadata, time_ms)

    def format_line(
        self,
        event_type: str,
        key: str,
        value: object,
        metadata: Mapping[str, Any] | None,
        *,
        time_ms: int,
        file: str,
        lineno: int,
    ) -> str:
        """The text of one line (without newline); exposed so tests can build odd logs."""
        meta: dict[str, Any] = {"file": file, "lineno": lineno}
        if metadata:
            # Caller-provided file/lineno win: some frameworks log on behalf of their caller.
            meta.update(metadata)
        record = {
            "namespace": self.namespace,
            "time_ms": int(time_ms),
            "event_type": event_type,
            "key": key,
            "value": value,
            "metadata": meta,
        }
        return TOKEN + json.dumps(record, default=_to_json)

    def _log(
        self,
        event_type: str,
        key: str,
        value: object,
        metadata: Mapping[str, Any] | None,
        time_ms: int | None,
    ) -> None:
        if not self.enabled:
            return
        # Two frames up: _log <- start/end/event <- the caller whose line we record.
        frame = sys._getframe(2)
        line = self.format_line(
            event_type,
            key,
            value,
            metadata,
            time_ms=self._clock_ms() if time_ms is None else time_ms,
            file=frame.f_code.co_filename,
            lineno=frame.f_lineno,
        )
        with self._lock:
            for stream in (self._stream, self._echo):
                if stream is not None:
                    stream.write(line + "\n")
                    stream.flush()

    def close(self) -> None:
        """Close the file this logger opened (streams passed in stay open)."""
        with self._lock:
            self._closed = True
            if self._owned is not None:
                self._owned.close()
                self._owned = None
            self._stream = None

    def __enter__(self) -> MLLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class MLLogRecord:
    """One parsed MLLOG line.

    ``index`` is the 0-based position among the MLLOG lines of the file (what the official
    checker prints as the line number); ``line`` is the real 1-based line of the file.
    """

    index: int
    line: int
    key: str
    value: Any
    metadata: Mapping[str, Any]
    time_ms: float
    namespace: str = ""
    event_type: str | None = None
    text: str = ""

    def meta(self, name: str, default: Any = None) -> Any:
        return self.metadata.get(name, default)


@dataclass(frozen=True)
class MLLogParseError:
    """A line that carries the token but cannot be read as an MLLOG record."""

    index: int
    line: int
    text: str
    message: str


@dataclass(frozen=True)
class ParsedLog:
    """A whole file: its records in order and the lines that failed to parse."""

    path: str
    records: tuple[MLLogRecord, ...]
    errors: tuple[MLLogParseError, ...] = field(default=())

    def by_key(self, key: str) -> list[MLLogRecord]:
        return [r for r in self.records if r.key == key]

    def first(self, key: str) -> MLLogRecord | None:
        for r in self.records:
            if r.key == key:
                return r
        return None

    def last(self, key: str) -> MLLogRecord | None:
        for r in reversed(self.records):
            if r.key == key:
                return r
        return None


def _parse_one(index: int, line_no: int, raw: str) -> MLLogRecord | MLLogParseError:
    # The official reader replaces everything up to the LAST token on the line (a greedy
    # match), then strips whitespace from both ends.
    cut = raw.rstrip("\r\n")
    text = cut[cut.rfind(TOKEN) :].strip()

    def fail(message: str) -> MLLogParseError:
        return MLLogParseError(index=index, line=line_no, text=text, message=message)

    if not text.startswith(TOKEN):
        return fail("nothing after the :::MLLOG token")
    try:
        obj = json.loads(text[len(TOKEN) :])
    except ValueError as exc:
        return fail(f"malformed JSON: {exc}")
    # From here on the official parser would crash; we report instead (documented above).
    if not isinstance(obj, dict):
        return fail(f"the JSON after the token is a {type(obj).__name__}, not an object")
    missing = [name for name in _REQUIRED_FIELDS if name not in obj]
    if missing:
        return fail(f"missing required field(s) {', '.join(repr(m) for m in missing)}")
    try:
        time_ms = float(obj["time_ms"])
    except (TypeError, ValueError):
        return fail(f"time_ms {obj['time_ms']!r} is not a number")
    metadata = obj["metadata"]
    if not isinstance(metadata, dict):
        return fail(f"metadata {metadata!r} is not an object")
    key = obj["key"]
    if not isinstance(key, str):
        return fail(f"key {key!r} is not a string")
    namespace = obj.get("namespace", "")
    event_type = obj.get("event_type")
    return MLLogRecord(
        index=index,
        line=line_no,
        key=key,
        value=obj["value"],
        metadata=metadata,
        time_ms=time_ms,
        namespace=namespace if isinstance(namespace, str) else str(namespace),
        event_type=event_type if isinstance(event_type, str) else None,
        text=text,
    )


def parse_mllog_lines(lines: Iterable[str], *, path: str = "<lines>") -> ParsedLog:
    """Parse already-read lines (each one file line); see :func:`read_mllog`."""
    records: list[MLLogRecord] = []
    errors: list[MLLogParseError] = []
    index = 0
    for line_no, raw in enumerate(lines, start=1):
        if TOKEN not in raw:
            continue
        got = _parse_one(index, line_no, raw)
        index += 1
        if isinstance(got, MLLogParseError):
            errors.append(got)
        else:
            records.append(got)
    return ParsedLog(path=path, records=tuple(records), errors=tuple(errors))


def read_mllog(path: str | Path) -> ParsedLog:
    """Read a log file: records plus parse errors (nothing raised for bad lines)."""
    p = Path(path)
    try:
        # latin-1 never fails to decode, like the official reader; universal newlines too.
        with p.open(encoding="latin-1") as fh:
            return parse_mllog_lines(fh, path=str(p))
    except OSError as exc:
        raise TrainingError(f"cannot read MLLOG file {p}: {exc}") from exc


def parse_mllog(
    path: str | Path, *, errors: list[MLLogParseError] | None = None
) -> list[MLLogRecord]:
    """The records of a log file, in order.

    Lines that fail to parse are appended to ``errors`` when a list is given; without one, any
    parse error raises :class:`TrainingError` naming the first bad line (so a caller can never
    silently lose a record).
    """
    parsed = read_mllog(path)
    if errors is not None:
        errors.extend(parsed.errors)
    elif parsed.errors:
        first = parsed.errors[0]
        raise TrainingError(
            f"{parsed.path}:{first.line}: MLLOG line {first.index} cannot be parsed: "
            f"{first.message} ({len(parsed.errors)} bad line(s) in all)"
        )
    return list(parsed.records)
