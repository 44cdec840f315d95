"""Reading the files of a submission without ever raising: the detail log (with line numbers),
JSON files, and the accuracy-log hash and truncation the official tool applies."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DetailLog",
    "ReadProblem",
    "read_detail",
    "read_json",
    "sha256_file",
    "truncate_accuracy_log",
]

MARKER = ":::MLLOG"


@dataclass(frozen=True)
class ReadProblem:
    line: int | None
    what: str


@dataclass
class DetailLog:
    """The keys of a LoadGen detail log: key -> (value, 1-based line of its last entry)."""

    values: dict[str, tuple[Any, int]] = field(default_factory=dict)
    errors: list[tuple[str, int]] = field(default_factory=list)  # (message, line)

    def get(self, key: str, default: Any = None) -> Any:
        found = self.values.get(key)
        return default if found is None else found[0]

    def line(self, key: str) -> int | None:
        found = self.values.get(key)
        return None if found is None else found[1]


def read_detail(path: Path) -> tuple[DetailLog | None, ReadProblem | None]:
    """The parsed log, or why it cannot be read (the first bad line named)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, ReadProblem(None, f"not UTF-8 text ({exc.reason})")
    except OSError as exc:
        return None, ReadProblem(None, f"cannot read it: {exc.strerror}")
    if not text.strip():
        return None, ReadProblem(None, "the file is empty")
    log = DetailLog()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if number == 1 and not line.startswith(MARKER):
            return None, ReadProblem(1, f"the first line does not start with {MARKER}")
        if not line.startswith(MARKER):
            continue
        try:
            entry = json.loads(line[len(MARKER) :])
            key = str(entry["key"])
        except (ValueError, KeyError, TypeError):
            return None, ReadProblem(number, "not a JSON log entry (a truncated or edited log?)")
        log.values[key] = (entry.get("value"), number)
        meta = entry.get("metadata")
        if isinstance(meta, dict) and meta.get("is_error"):
            log.errors.append((str(entry.get("value")), number))
    return log, None


def read_json(path: Path) -> tuple[Any, ReadProblem | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, ReadProblem(None, f"not UTF-8 text ({exc.reason})")
    except OSError as exc:
        return None, ReadProblem(None, f"cannot read it: {exc.strerror}")
    if not text.strip():
        return None, ReadProblem(None, "the file is empty")
    try:
        return json.loads(text), None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        return None, ReadProblem(line, f"not valid JSON: {getattr(exc, 'msg', exc)}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def truncate_accuracy_log(src: Path, dst: Path, view_bytes: int = 4096) -> None:
    """Write ``src`` to ``dst`` cut to its first and last ``view_bytes`` characters with
    ``\\n\\n...\\n\\n`` between, as the official truncation does; a shorter file is copied."""
    text = src.read_text(encoding="utf-8")
    if len(text.encode("utf-8")) < view_bytes:
        dst.write_text(text, encoding="utf-8")
        return
    data = src.read_bytes()
    head = data[:view_bytes].decode("utf-8", errors="replace")
    tail = data[len(data) - view_bytes :].decode("utf-8", errors="replace")
    dst.write_text(head + "\n\n...\n\n" + tail, encoding="utf-8")
