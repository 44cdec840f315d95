"""Readers of the official LoadGen log files, as written by mlpace or the official LoadGen.

Every reader is forgiving in the ways real files need: the official detail log writes
non-finite doubles bare (``inf``, ``nan``) and does not always escape strings; a crashed run
leaves a last line cut short and an accuracy log without its closing bracket. What cannot be
read is kept as a note instead of failing the whole report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.errors import MlpaceError

MLLOG_PREFIX = ":::MLLOG "
_BARE_NONFINITE = re.compile(r'("value": )(-?inf|nan)(, "time_ms")')
_KEY_VALUE = re.compile(r'"key": "([^"]+)", "value": (.*), "time_ms": ([\d.]+), ')
_ACC_ENTRY = re.compile(r'\{ "seq_id" : (\d+), "qsl_idx" : (\d+), "data" : "([0-9A-Fa-f]*)"')
_ACC_TOKENS = re.compile(r'"token_count" : (\d+)')


class LogReadError(MlpaceError):
    """A log file is missing or holds nothing usable (names the file)."""


@dataclass(frozen=True)
class LogRecord:
    """One ``:::MLLOG`` line."""

    key: str
    value: Any
    time_ms: float
    is_error: bool = False
    is_warning: bool = False
    line_no: int = 0


@dataclass(frozen=True)
class DetailLog:
    """The records of a detail log, plus lookups by key (the last value wins)."""

    path: Path
    records: tuple[LogRecord, ...]
    notes: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def all(self, key: str) -> list[Any]:
        return [r.value for r in self.records if r.key == key]

    def prefixed(self, prefix: str) -> dict[str, Any]:
        return {k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix)}

    @property
    def errors(self) -> list[LogRecord]:
        return [r for r in self.records if r.is_error]

    @property
    def warnings(self) -> list[LogRecord]:
        return [r for r in self.records if r.is_warning]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text.strip('"')


def _parse_line(line: str, line_no: int) -> LogRecord | None:
    body = line[len(MLLOG_PREFIX) :]
    body = _BARE_NONFINITE.sub(r'\1"\2"\3', body)
    try:
        obj = json.loads(body)
    except ValueError:
        # An unescaped quote inside a string value (the official writer does not escape):
        # recover the key and the raw value text.
        m = _KEY_VALUE.search(body)
        if m is None:
            return None
        meta_err = '"is_error": true' in body
        meta_warn = '"is_warning": true' in body
        return LogRecord(
            m.group(1), _parse_value(m.group(2)), float(m.group(3)), meta_err, meta_warn, line_no
        )
    if not isinstance(obj, dict) or "key" not in obj:
        return None
    meta = obj.get("metadata") or {}
    try:
        time_ms = float(obj.get("time_ms", 0.0))
    except (TypeError, ValueError):
        time_ms = 0.0
    return LogRecord(
        str(obj["key"]),
        obj.get("value"),
        time_ms,
        bool(meta.get("is_error", False)) if isinstance(meta, dict) else False,
        bool(meta.get("is_warning", False)) if isinstance(meta, dict) else False,
        line_no,
    )


def read_detail(path: Path) -> DetailLog:
    """Parse ``mlperf_log_detail.txt``; unreadable lines become notes naming file:line."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LogReadError(f"{path}: cannot read the detail log ({exc.strerror or exc})") from None
    records: list[LogRecord] = []
    notes: list[str] = []
    lines = text.splitlines()
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        start = line.find(MLLOG_PREFIX)
        if start < 0:
            continue  # other output mixed into the file (copy_detail_to_stdout captures)
        record = _parse_line(line[start:], no)
        if record is None:
            last = no == len(lines)
            why = "cut short (the run ended abruptly?)" if last else "not valid MLLOG JSON"
            notes.append(f"{path.name}:{no}: line skipped, {why}")
            continue
        records.append(record)
    if not records:
        raise LogReadError(f"{path}: no ':::MLLOG' records; is this a LoadGen detail log?")
    values = {r.key: r.value for r in records}
    return DetailLog(path, tuple(records), tuple(notes), values)


@dataclass(frozen=True)
class SummaryLog:
    """The summary's ``label : value`` lines, section by section, and its raw text."""

    path: Path
    text: str
    fields: dict[str, str]
    recommendations: tuple[str, ...] = ()

    def get(self, label: str, default: str | None = None) -> str | None:
        return self.fields.get(label, default)


def read_summary(path: Path) -> SummaryLog:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LogReadError(f"{path}: cannot read the summary ({exc.strerror or exc})") from None
    fields: dict[str, str] = {}
    advice: list[str] = []
    in_advice = False
    for line in text.splitlines():
        if line.startswith("Recommendations:"):
            in_advice = True
            continue
        if in_advice:
            if line.startswith(" * "):
                advice.append(line[3:].strip())
                continue
            if line.startswith("   "):  # continuation of the previous recommendation
                if advice:
                    advice[-1] += " " + line.strip()
                continue
            in_advice = False
        if ":" in line and not line.startswith(" *"):
            label, _, value = line.partition(":")
            label, value = label.strip(), value.strip()
            if label and value:
                fields.setdefault(label, value)
    return SummaryLog(path, text, fields, tuple(advice))


@dataclass(frozen=True)
class AccuracyLog:
    """What the accuracy log holds: entries, distinct samples, tokens, and whether it closed."""

    path: Path
    entries: int
    distinct_samples: int
    closed: bool
    token_count: int = 0
    bytes_logged: int = 0


def read_accuracy(path: Path) -> AccuracyLog:
    """Count the entries of ``mlperf_log_accuracy.json`` (tolerates a missing footer)."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise LogReadError(
            f"{path}: cannot read the accuracy log ({exc.strerror or exc})"
        ) from None
    entries = 0
    samples: set[int] = set()
    tokens = 0
    nbytes = 0
    for m in _ACC_ENTRY.finditer(text):
        entries += 1
        samples.add(int(m.group(2)))
        nbytes += len(m.group(3)) // 2
    for m in _ACC_TOKENS.finditer(text):
        tokens += int(m.group(1))
    closed = text.rstrip().endswith("]")
    return AccuracyLog(path, entries, len(samples), closed, tokens, nbytes)


__all__ = [
    "AccuracyLog",
    "DetailLog",
    "LogReadError",
    "LogRecord",
    "SummaryLog",
    "read_accuracy",
    "read_detail",
    "read_summary",
]
