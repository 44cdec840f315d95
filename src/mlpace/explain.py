"""What went wrong in a LoadGen run, in words for the console.

The four log files already hold everything; a user reading only the console should not have to
open them to learn that a run is INVALID and why, or that the SUT answered a sample twice. This
module turns a finished run into short lines:

* :func:`failed_checks`: each failing validity check with what was observed, what was required
  and the advice (the summary's recommendation);
* :func:`read_detail_log`: the errors and warnings the detail log recorded (every ``is_error``
  or ``is_warning`` line; an official submission checker rejects a run whose detail log holds
  errors), with counts of SUT misbehaviour and the first sample ids in the messages;
* :func:`summary_warnings`: the ``WARNING`` lines of the summary text.

Used by the CLI and by :mod:`mlpace.compat.loadgen`; it only reads, never raises on a damaged
log (a line that does not parse is skipped and counted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LogProblems",
    "describe_check",
    "failed_checks",
    "read_detail_log",
    "summary_warnings",
]

MLLOG_PREFIX = ":::MLLOG "
# How many individual error / warning messages the console shows before it only counts.
SHOWN_MESSAGES = 5

_CHECK_NAMES = {
    "perf_constraints": "performance constraint",
    "min_duration": "min duration",
    "min_queries": "min queries",
    "early_stopping": "early stopping",
    "all_samples_completed": "all samples completed",
    "not_interrupted": "not interrupted",
}


def _value(value: object, unit: str) -> str:
    if isinstance(value, str):
        return value
    if unit == "ns" and isinstance(value, int | float):
        return f"{float(value) / 1e6:,.3f} ms"
    if unit == "s" and isinstance(value, int | float):
        return f"{float(value):,.3f} s"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}{' ' + unit if unit else ''}"
    if isinstance(value, int | float):
        return f"{int(value):,}{' ' + unit if unit else ''}"
    return str(value)


def describe_check(check: Any, percentile: float | None = None) -> str:
    """One failing check: ``name: observed X, required at least/most Y. advice``."""
    name = str(check.name)
    unit = str(getattr(check, "unit", "") or "")
    label = _CHECK_NAMES.get(name, name.replace("_", " "))
    if name == "perf_constraints" and percentile:
        label += f" (latency at the {percentile * 100:g}th percentile)"
    direction = "at most " if name == "perf_constraints" else "at least "
    if isinstance(check.required, str):
        direction = ""
    text = (
        f"{label}: observed {_value(check.observed, unit)}, required {direction}"
        f"{_value(check.required, unit)}"
    )
    advice = " ".join(str(getattr(check, "advice", "") or "").split())
    return f"{text}. {advice}" if advice else text


def failed_checks(result: Any) -> list[str]:
    """The failing validity checks of a RunResult, one line each (empty when VALID)."""
    pct = getattr(result, "target_latency_percentile", None)
    return [describe_check(c, pct) for c in getattr(result, "checks", ()) if not c.passed]


def summary_warnings(summary: str) -> list[str]:
    """The summary's ``WARNING`` lines (an mlpace summary says when the load generator rather
    than the SUT dominates latency; the official one warns about equal-issue mode)."""
    out: list[str] = []
    for line in summary.splitlines():
        text = line.strip()
        if text.upper().startswith("WARNING") and text not in out:
            out.append(text)
    return out


@dataclass
class LogProblems:
    """The errors and warnings of one detail log."""

    path: Path
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unreadable_lines: int = 0
    duplicate_responses: int = 0
    unknown_id_responses: int = 0
    # the detail log is missing or unreadable as a whole
    missing: bool = False

    @property
    def error_count(self) -> int:
        return len(self.errors)

    def error_lines(self, label: str = "") -> list[str]:
        """Console lines about the errors (empty when there are none)."""
        if not self.errors:
            return []
        lead = f"{label}: " if label else ""
        n = len(self.errors)
        lines = [
            f"{lead}the LoadGen logged {n} error{'s' if n != 1 else ''} in {self.path} (an "
            "official submission checker rejects a run whose detail log holds errors)"
        ]
        counts = []
        if self.duplicate_responses:
            counts.append(f"{self.duplicate_responses:,} duplicate response(s)")
        if self.unknown_id_responses:
            counts.append(
                f"{self.unknown_id_responses:,} response(s) for an unknown id or after the end"
            )
        if counts:
            lines.append("  SUT misbehaviour: " + ", ".join(counts))
        lines.extend(f"  {m}" for m in _first(self.errors))
        return lines

    def warning_lines(self) -> list[str]:
        return [f"  {m}" for m in _first(self.warnings)]


def _first(messages: list[str]) -> list[str]:
    shown = messages[:SHOWN_MESSAGES]
    if len(messages) > SHOWN_MESSAGES:
        shown.append(f"... and {len(messages) - SHOWN_MESSAGES} more (see the detail log)")
    return shown


def _records(path: Path, problems: LogProblems) -> Iterable[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                start = line.find(MLLOG_PREFIX)
                if start < 0:
                    continue
                try:
                    record = json.loads(line[start + len(MLLOG_PREFIX) :])
                except ValueError:
                    problems.unreadable_lines += 1
                    continue
                if isinstance(record, dict):
                    yield record
    except OSError:
        problems.missing = True


def read_detail_log(path: str | Path) -> LogProblems:
    """Errors, warnings and SUT-misbehaviour counters of a detail log."""
    problems = LogProblems(Path(path))
    for record in _records(problems.path, problems):
        key = str(record.get("key", ""))
        meta = record.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        value = record.get("value")
        if meta.get("is_error"):
            problems.errors.append(str(value))
        elif meta.get("is_warning"):
            problems.warnings.append(str(value))
        elif key == "mlpace_duplicate_responses" and isinstance(value, int):
            problems.duplicate_responses += value
        elif key == "mlpace_unknown_id_responses" and isinstance(value, int):
            problems.unknown_id_responses += value
    return problems
