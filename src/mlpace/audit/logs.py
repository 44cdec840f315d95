"""Readers for the four LoadGen log files, as the verifiers need them.

Each reader names the file and line of anything it cannot read (:class:`LogFormatError`), so
``mlpace audit verify`` never shows a traceback. The readers accept the same files the official
verify scripts accept (the official binding's and mlpace's alike) and no more: a detail log
whose first line is not an ``:::MLLOG`` line, or an accuracy log that is not a JSON array, is an
error here because the official scripts stop on it too.

Raw per-sample latencies come from ``mlpace_raw_samples.npz`` (written next to the logs of
every run mlpace drives itself) or, for any other harness, from ``mlperf_log_trace.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlpace.errors import LogFormatError

__all__ = [
    "ACCURACY_LOG",
    "DETAIL_LOG",
    "RAW_SAMPLES",
    "SUMMARY_LOG",
    "TRACE_LOG",
    "AccuracyEntry",
    "AccuracyLog",
    "DetailLog",
    "DetailMessage",
    "RawSamples",
    "SummaryLog",
    "read_accuracy",
    "read_detail",
    "read_raw_samples",
    "read_summary",
    "write_raw_samples",
]

I64 = npt.NDArray[np.int64]

DETAIL_LOG = "mlperf_log_detail.txt"
SUMMARY_LOG = "mlperf_log_summary.txt"
ACCURACY_LOG = "mlperf_log_accuracy.json"
TRACE_LOG = "mlperf_log_trace.json"
RAW_SAMPLES = "mlpace_raw_samples.npz"

_MARKERS = (":::MLLOG", ":::ENDPTS")
AUDIT_CONFIG_NOTICE = "Found Audit Config file"


def _read_text(path: Path, what: str) -> str:
    if not path.exists():
        raise LogFormatError(f"{what} not found", path=str(path))
    if path.is_dir():
        raise LogFormatError(f"{what} expected, found a directory", path=str(path))
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LogFormatError(
            f"{what} is not UTF-8 text (byte {exc.start}); is this the right file?",
            path=str(path),
        ) from None
    except OSError as exc:
        raise LogFormatError(f"cannot read {what}: {exc.strerror}", path=str(path)) from None


# ------------------------------------------------------------------------------ detail log
@dataclass(frozen=True)
class DetailMessage:
    key: str
    value: Any
    is_error: bool
    is_warning: bool
    line: int


@dataclass(frozen=True)
class DetailLog:
    """The ``:::MLLOG`` events of a detail log, in file order."""

    path: str
    messages: tuple[DetailMessage, ...]

    def has(self, key: str) -> bool:
        return any(m.key == key for m in self.messages)

    def get(self, key: str, default: Any = None) -> Any:
        """The first value logged under ``key`` (what the official log parser returns)."""
        for m in self.messages:
            if m.key == key:
                return m.value
        return default

    def line_of(self, key: str) -> int | None:
        for m in self.messages:
            if m.key == key:
                return m.line
        return None

    @property
    def errors(self) -> tuple[DetailMessage, ...]:
        return tuple(m for m in self.messages if m.is_error)

    @property
    def num_errors(self) -> int:
        """As the official parser counts: the ``num_errors`` key if logged, else error events."""
        logged = self.get("num_errors")
        if isinstance(logged, int) and not isinstance(logged, bool):
            return logged
        return len(self.errors)

    @property
    def scenario(self) -> str | None:
        value = self.get("effective_scenario")
        return value if isinstance(value, str) else None

    @property
    def audit_config_found(self) -> bool:
        return any(
            isinstance(m.value, str) and AUDIT_CONFIG_NOTICE in m.value for m in self.messages
        )


def read_detail(path: str | Path) -> DetailLog:
    """Parse ``mlperf_log_detail.txt``: one JSON object after each ``:::MLLOG`` marker."""
    p = Path(path)
    text = _read_text(p, "detail log")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise LogFormatError("detail log is empty (did the run finish?)", path=str(p), line=1)
    marker = next((m for m in _MARKERS if lines[0].startswith(m)), None)
    if marker is None:
        raise LogFormatError(
            f"not a LoadGen detail log: the first line does not start with ':::MLLOG' "
            f"({lines[0][:60]!r})",
            path=str(p),
            line=1,
        )
    out: list[DetailMessage] = []
    for n, raw in enumerate(lines, start=1):
        if not raw.startswith(marker):
            continue
        try:
            obj = json.loads(raw[len(marker) :])
        except json.JSONDecodeError as exc:
            raise LogFormatError(
                f"malformed {marker} line: {exc.msg} at column {exc.colno + len(marker)} "
                "(the official log parser stops here too)",
                path=str(p),
                line=n,
            ) from None
        if not isinstance(obj, dict) or "key" not in obj:
            raise LogFormatError(f"{marker} line without a 'key'", path=str(p), line=n)
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        out.append(
            DetailMessage(
                key=str(obj["key"]),
                value=obj.get("value"),
                is_error=bool(meta.get("is_error", False)),
                is_warning=bool(meta.get("is_warning", False)),
                line=n,
            )
        )
    return DetailLog(path=str(p), messages=tuple(out))


# ------------------------------------------------------------------------------ summary
@dataclass(frozen=True)
class SummaryLog:
    path: str
    lines: tuple[str, ...]

    def value(self, label: str) -> str | None:
        """The text after ``': '`` on the first line that starts with ``label``."""
        for line in self.lines:
            if line.startswith(label) and ": " in line:
                return line.split(": ", 1)[1].strip()
        return None

    @property
    def scenario(self) -> str | None:
        return self.value("Scenario")


def read_summary(path: str | Path) -> SummaryLog:
    p = Path(path)
    text = _read_text(p, "summary log")
    if not text.strip():
        raise LogFormatError("summary log is empty (did the run finish?)", path=str(p), line=1)
    return SummaryLog(path=str(p), lines=tuple(text.splitlines()))


# ------------------------------------------------------------------------------ accuracy log
@dataclass(frozen=True)
class AccuracyEntry:
    """One logged response. ``data`` and ``token_data`` keep the log's hex text."""

    qsl_idx: int
    data: str
    seq_id: int | None = None
    token_data: str | None = None
    token_count: int | None = None
    line: int | None = None

    @property
    def payload(self) -> bytes:
        return bytes.fromhex(self.data)


@dataclass(frozen=True)
class AccuracyLog:
    path: str
    entries: tuple[AccuracyEntry, ...]

    def where(self, entry: AccuracyEntry) -> str:
        return f"{self.path}:{entry.line}" if entry.line is not None else self.path


_HEX = re.compile(r"[0-9A-Fa-f]*")


def _entry_lines(lines: list[str], count: int) -> list[int | None]:
    """Line numbers of the entries, when the file has LoadGen's one-entry-per-line layout."""
    found = [n for n, raw in enumerate(lines, start=1) if raw.lstrip("[ \t").startswith("{")]
    if len(found) == count:
        return list(found)
    return [None] * count


def _hex_field(obj: dict[str, Any], key: str, where: tuple[str, int | None]) -> str:
    value = obj[key]
    if not isinstance(value, str) or len(value) % 2 or not _HEX.fullmatch(value):
        raise LogFormatError(
            f"{key!r} must be a hex string of whole bytes, got {str(value)[:40]!r}",
            path=where[0],
            line=where[1],
        )
    return value


def _int_field(obj: dict[str, Any], key: str, where: tuple[str, int | None]) -> int | None:
    if key not in obj:
        return None
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LogFormatError(
            f"{key!r} must be a whole number >= 0, got {value!r}", path=where[0], line=where[1]
        )
    return int(value)


def read_accuracy(path: str | Path) -> AccuracyLog:
    """Parse ``mlperf_log_accuracy.json`` (a JSON array of ``{seq_id, qsl_idx, data, ...}``)."""
    p = Path(path)
    text = _read_text(p, "accuracy log")
    try:
        objs = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if exc.pos >= len(text.rstrip()) - 1 or "..." in text:
            hint = (
                " (the file looks cut short: a submission's accuracy log is truncated after "
                "its hash is taken; verify against the full log of the run)"
            )
        raise LogFormatError(
            f"not valid JSON: {exc.msg} at column {exc.colno}{hint}",
            path=str(p),
            line=exc.lineno,
        ) from None
    if not isinstance(objs, list):
        raise LogFormatError(
            f"an accuracy log is a JSON array, found a {type(objs).__name__}", path=str(p), line=1
        )
    where_lines = _entry_lines(text.splitlines(), len(objs))
    entries: list[AccuracyEntry] = []
    for obj, line in zip(objs, where_lines):
        where = (str(p), line)
        if not isinstance(obj, dict):
            raise LogFormatError(f"entry is not an object: {obj!r:.60}", path=str(p), line=line)
        for key in ("qsl_idx", "data"):
            if key not in obj:
                raise LogFormatError(f"entry lacks the key {key!r}", path=str(p), line=line)
        qsl_idx = _int_field(obj, "qsl_idx", where)
        assert qsl_idx is not None
        entries.append(
            AccuracyEntry(
                qsl_idx=qsl_idx,
                data=_hex_field(obj, "data", where),
                seq_id=_int_field(obj, "seq_id", where),
                token_data=_hex_field(obj, "token_data", where) if "token_data" in obj else None,
                token_count=_int_field(obj, "token_count", where),
                line=line,
            )
        )
    return AccuracyLog(path=str(p), entries=tuple(entries))


# ------------------------------------------------------------------------------ raw samples
@dataclass(frozen=True)
class RawSamples:
    """Per issued sample: QSL index, query number and latency (ns; -1 never completed).

    The latency is measured as LoadGen measures it: from the scheduled time (Server), the
    issue time (SingleStream, MultiStream) or the start of the run (Offline).
    """

    sample_index: I64
    query: I64
    latency_ns: I64
    source: str

    @property
    def count(self) -> int:
        return int(self.sample_index.shape[0])


# Sample begin events of the Chrome trace, as the official LoadGen and mlpace write them.
_TRACE_SAMPLE = re.compile(
    r'"sample_seq":(\d+),"query_seq":(\d+),"sample_idx":(\d+),'
    r'"issue_start_ns":(-?\d+),"complete_ns":(-?\d+)'
)


def _read_trace(path: Path) -> RawSamples | None:
    seqs: list[int] = []
    queries: list[int] = []
    indices: list[int] = []
    latencies: list[int] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if '"ph":"b"' not in line:
                    continue
                m = _TRACE_SAMPLE.search(line)
                if m is None:
                    continue
                seqs.append(int(m.group(1)))
                queries.append(int(m.group(2)))
                indices.append(int(m.group(3)))
                latencies.append(int(m.group(5)))
    except OSError:
        return None
    if not seqs:
        return None
    order = np.argsort(np.asarray(seqs, dtype=np.int64), kind="stable")
    return RawSamples(
        sample_index=np.asarray(indices, dtype=np.int64)[order],
        query=np.asarray(queries, dtype=np.int64)[order],
        latency_ns=np.asarray(latencies, dtype=np.int64)[order],
        source=f"trace {path.name}",
    )


def read_raw_samples(run_dir: str | Path) -> RawSamples | None:
    """Raw latencies of the run whose logs are in ``run_dir``, or None when it kept none."""
    d = Path(run_dir)
    npz = d / RAW_SAMPLES
    if npz.is_file():
        try:
            with np.load(npz) as data:
                return RawSamples(
                    sample_index=np.asarray(data["sample_index"], dtype=np.int64),
                    query=np.asarray(data["query"], dtype=np.int64),
                    latency_ns=np.asarray(data["latency_ns"], dtype=np.int64),
                    source=f"mlpace raw samples {npz.name}",
                )
        except (OSError, KeyError, ValueError):
            pass
    trace = d / TRACE_LOG
    if trace.is_file():
        return _read_trace(trace)
    return None


def write_raw_samples(run_dir: str | Path, raw: Any) -> Path:
    """Keep a pass's per-sample latencies (from a :class:`~mlpace.loadgen.raw.RawRun`)."""
    from mlpace.loadgen.enums import TestScenario

    completed = np.asarray(raw.completed_ns, dtype=np.int64)
    if raw.scenario == TestScenario.Server:
        base = np.asarray(raw.scheduled_ns, dtype=np.int64)
    elif raw.scenario == TestScenario.Offline:
        base = np.zeros_like(completed)
    else:
        base = np.asarray(raw.issued_ns, dtype=np.int64)
    latency = np.where(completed >= 0, completed - base, -1).astype(np.int64)
    path = Path(run_dir) / RAW_SAMPLES
    np.savez_compressed(
        path,
        sample_index=np.asarray(raw.sample_index, dtype=np.int64),
        query=np.asarray(raw.query_of_sample, dtype=np.int64),
        latency_ns=latency,
    )
    return path
