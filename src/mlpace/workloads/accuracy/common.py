"""Reading ``mlperf_log_accuracy.json``: whole, truncated or cut short by a crash.

The LoadGen writes one entry per line (``{ "seq_id" : N, "qsl_idx" : N, "data" : "HEX" }``),
entries separated by ``,\\n``, inside ``[`` … ``]``. Three shapes reach an accuracy script:

* a complete file, which is plain JSON;
* a file cut short (the run crashed): no closing ``]`` and maybe a half-written last line;
* a file shortened by ``truncate_accuracy_log.py`` (first and last 4096 bytes kept), with a
  broken line on each side of the cut.

A strict JSON parse is tried first; when it fails the file is read line by line and only lines
that are not whole entries are skipped (a broken line can only be at a cut, so a malformed line
in the middle of an otherwise whole file is an error naming the line).

Like the official scripts, every metric counts each ``qsl_idx`` once, the first time it appears:
performance-mode logs (SubmissionRun) repeat samples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlpace.errors import DatasetError

__all__ = [
    "AccuracyEntry",
    "AccuracyLog",
    "decode_hex",
    "dtype_from_name",
    "format_missing",
    "read_accuracy_log",
]

#: ``--dtype`` names the official scripts accept, plus the ones our tasks write.
DTYPE_NAMES: tuple[str, ...] = (
    "float32",
    "float16",
    "float64",
    "int8",
    "uint8",
    "int32",
    "int64",
    "bytes",
)


@dataclass(frozen=True)
class AccuracyEntry:
    """One response: the sample it answers and its raw payload bytes."""

    seq_id: int
    qsl_idx: int
    data: bytes
    line: int  # 1-based line in the file, for error messages


@dataclass(frozen=True)
class AccuracyLog:
    """The entries of one accuracy log and what had to be skipped to read them."""

    path: str
    entries: tuple[AccuracyEntry, ...]
    # True when the file was not complete JSON (crash or truncate_accuracy_log.py).
    partial: bool = False
    skipped_lines: tuple[int, ...] = ()
    duplicates: int = 0  # entries whose qsl_idx had been seen before (first one wins)
    _first: dict[int, AccuracyEntry] = field(default_factory=dict, repr=False, compare=False)

    def unique(self) -> dict[int, AccuracyEntry]:
        """qsl_idx → first entry for it, in log order (the official scripts' ``seen`` set)."""
        return self._first

    def missing(self, total: int) -> list[int]:
        """Dataset indices 0..total-1 that no entry answers."""
        seen = self._first
        return [i for i in range(total) if i not in seen]


def dtype_from_name(name: str) -> np.dtype[np.generic]:
    """The NumPy dtype of a ``--dtype`` argument ("float32", "int64", …)."""
    if name not in DTYPE_NAMES or name == "bytes":
        raise DatasetError(
            f"unknown --dtype {name!r}; choose one of "
            f"{', '.join(n for n in DTYPE_NAMES if n != 'bytes')}"
        )
    return np.dtype(name)


def decode_hex(data: bytes, dtype: np.dtype[np.generic] | str, *, where: str = "") -> np.ndarray:
    """The payload as a 1-D array of ``dtype`` (the LoadGen writes raw little-endian bytes)."""
    dt = np.dtype(dtype)
    if len(data) % dt.itemsize:
        raise DatasetError(
            f"{where}payload of {len(data)} bytes is not a whole number of {dt.name} values "
            f"({dt.itemsize} bytes each); is --dtype right?"
        )
    return np.frombuffer(data, dtype=dt)


def _entry_from_obj(obj: object, path: str, line: int) -> AccuracyEntry:
    if not isinstance(obj, dict):
        raise DatasetError(f"{path}:{line}: accuracy log entry is not an object: {obj!r:.80}")
    try:
        qsl_idx = obj["qsl_idx"]
        hex_data = obj["data"]
    except KeyError as exc:
        raise DatasetError(f"{path}:{line}: accuracy log entry lacks key {exc.args[0]!r}") from None
    seq_id = obj.get("seq_id", -1)
    if not isinstance(qsl_idx, int) or not isinstance(seq_id, int) or qsl_idx < 0:
        raise DatasetError(f"{path}:{line}: bad qsl_idx/seq_id in accuracy log entry")
    if not isinstance(hex_data, str):
        raise DatasetError(f"{path}:{line}: 'data' is not a hex string")
    try:
        payload = bytes.fromhex(hex_data)
    except ValueError:
        raise DatasetError(f"{path}:{line}: 'data' is not valid hex: {hex_data[:40]!r}") from None
    return AccuracyEntry(seq_id=seq_id, qsl_idx=qsl_idx, data=payload, line=line)


def _strict(text: str, path: str) -> list[AccuracyEntry] | None:
    try:
        objs = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(objs, list):
        raise DatasetError(f"{path}: an accuracy log is a JSON array, found {type(objs).__name__}")
    # Entries sit one per line after the opening "[" line, so entry k is on line k + 2.
    return [_entry_from_obj(o, path, k + 2) for k, o in enumerate(objs)]


def _lenient(text: str, path: str) -> tuple[list[AccuracyEntry], list[int]]:
    entries: list[AccuracyEntry] = []
    bad: list[int] = []
    lines = text.split("\n")
    for lineno, raw in enumerate(lines, start=1):
        s = raw.strip()
        if s.startswith("["):
            s = s[1:].strip()
        if s.endswith(","):
            s = s[:-1].rstrip()
        if s.endswith("]"):
            s = s[:-1].rstrip()
        if not s:
            continue
        try:
            obj = json.loads(s)
        except json.JSONDecodeError:
            bad.append(lineno)
            continue
        entries.append(_entry_from_obj(obj, path, lineno))
    # A cut leaves at most a broken tail (crash) or one broken line each side of the truncation.
    n_content = sum(1 for ln in lines if ln.strip() not in ("", "[", "]"))
    if len(bad) > 2 or (bad and len(bad) == n_content):
        shown = ", ".join(str(b) for b in bad[:10])
        raise DatasetError(
            f"{path}: not an mlperf_log_accuracy.json: {len(bad)} malformed lines (lines {shown})"
        )
    return entries, bad


def read_accuracy_log(path: str | Path) -> AccuracyLog:
    """Parse an accuracy log; a truncated or crash-cut file yields the entries that survive."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{p}: accuracy log not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p}: cannot read accuracy log: {exc}") from exc
    if not text.strip():
        raise DatasetError(f"{p}: accuracy log is empty (did the run write it?)")
    entries = _strict(text, str(p))
    partial = entries is None
    skipped: list[int] = []
    if entries is None:
        entries, skipped = _lenient(text, str(p))
    first: dict[int, AccuracyEntry] = {}
    for e in entries:
        first.setdefault(e.qsl_idx, e)
    return AccuracyLog(
        path=str(p),
        entries=tuple(entries),
        partial=partial,
        skipped_lines=tuple(skipped),
        duplicates=len(entries) - len(first),
        _first=first,
    )


def format_missing(missing: Sequence[int], total: int) -> str:
    """A one-line warning naming the dataset samples the log never answered."""
    shown = ", ".join(str(i) for i in missing[:20])
    more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
    return f"WARNING: {len(missing)} of {total} samples have no result in the log: [{shown}{more}]"


def warnings_for(log: AccuracyLog, total: int | None) -> list[str]:
    """Human-readable warnings (partial file, duplicates, missing samples) for stderr."""
    out: list[str] = []
    if log.partial:
        out.append(
            f"WARNING: {log.path} is not complete JSON (truncated or cut short); read "
            f"{len(log.entries)} whole entries, skipped lines {list(log.skipped_lines)}"
        )
    if log.duplicates:
        out.append(
            f"NOTE: {log.duplicates} entries repeat a qsl_idx (performance-mode results); "
            "each sample is counted once, first result wins"
        )
    if total is not None:
        missing = log.missing(total)
        if missing:
            out.append(format_missing(missing, total))
    return out


def entries_in_range(entries: Iterable[AccuracyEntry], total: int, path: str) -> None:
    """Refuse a qsl_idx outside the data set (a log from another data set or a bad --val file)."""
    for e in entries:
        if e.qsl_idx >= total:
            raise DatasetError(
                f"{path}:{e.line}: qsl_idx {e.qsl_idx} is outside the data set of {total} "
                "samples (wrong ground-truth file for this log?)"
            )
