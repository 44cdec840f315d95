"""The final table of ``mlpace run``: scenario, metric, VALID/INVALID, accuracy, and the why.

Below the table come the notes each scenario collected: the failing validity checks of an
INVALID run (observed, required, advice), LoadGen errors, the summary's warnings, and how the
Server figure was obtained (peak search, each attempt and why the next one differed, which
attempt gave the figure and its share of the search peak).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlpace.workloads.runner import ScenarioRow, TaskRun

__all__ = ["format_table", "metric_of", "result_text"]


def metric_of(result: Any) -> tuple[str, float | None, str]:
    """(name, value, unit) of a RunResult's primary metric; latencies shown in ms."""
    name = str(getattr(result, "primary_metric_name", "") or "")
    value = getattr(result, "primary_metric_value", None)
    unit = str(getattr(result, "primary_metric_unit", "") or "")
    if value is None:
        return name, None, unit
    v = float(value)
    if unit == "ns":  # the official keys carry integer ns; people read ms
        return name, v / 1e6, "ms"
    return name, v, unit


def _short(metric_name: str) -> str:
    """'90.0th percentile latency (early stopping estimate)' -> 'p90 latency, early stopping'."""
    m = re.match(r"(\d+(?:\.\d+)?)th percentile (.*?)\s*\(early stopping estimate\)", metric_name)
    if m:
        return f"p{float(m.group(1)):g} {m.group(2)}, early stopping"
    return metric_name.lower()


def _metric_text(r: ScenarioRow) -> str:
    if r.valid is None and r.peak_qps is None:
        return "-"
    if r.find_peak_only:
        if r.peak_qps is None:
            return "no peak found"
        return f"peak {r.peak_qps:,.1f} QPS (FindPeakPerformance)"
    if r.metric_value is None:
        return "n/a"
    text = f"{r.metric_value:,.3f} {r.metric_unit} ({_short(r.metric_name)}"
    if r.peak_qps is not None and r.target_qps is not None:
        at = f"attempt {r.attempt} at" if r.attempt else "run at"
        text += f"; {at} {r.target_qps / r.peak_qps:.0%} of the {r.peak_qps:,.0f} QPS search peak"
    return text + ")"


def result_text(r: ScenarioRow) -> str:
    if r.error:
        return "ERROR"
    if r.find_peak_only:
        text = "peak found" if r.peak_qps is not None else "NO PEAK"
    elif r.valid is None:
        text = "-"
    else:
        text = "VALID" if r.valid else "INVALID"
    if r.loadgen_errors:
        text += f", {r.loadgen_errors} error{'s' if r.loadgen_errors != 1 else ''}"
    return text


def format_table(run: TaskRun) -> str:
    """The final table, then each scenario's notes and the overall verdict."""
    head = f"{run.task.name} on {run.backend} ({run.system}): {run.profile.label}"
    lines = [head]
    lines.extend(f"  ! {f}" for f in run.flags)
    if run.rows and run.rows[0].sut:
        s = run.rows[0].sut
        lines.append(
            f"  workers {s.get('workers')}, intra-op threads {s.get('intra_op_threads')}, "
            f"max batch {s.get('max_batch_size')}"
        )
    target = "" if run.quality_target is None else f" (target >= {run.quality_target:.3f}%)"
    cols = ("scenario", "metric", "result", f"accuracy{target}")
    body: list[tuple[str, str, str, str]] = []
    for r in run.rows:
        if r.accuracy is None:
            acc = "-"
        else:
            mark = "" if r.accuracy_met is None else " met" if r.accuracy_met else " NOT MET"
            acc = f"{r.accuracy.value:.3f}%{mark}"
        body.append((r.scenario, _metric_text(r), result_text(r), acc))
    widths = [
        max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(cols)
    ]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    lines.append(fmt.format(*cols).rstrip())
    lines.append("  " + "  ".join("-" * w for w in widths))
    lines.extend(fmt.format(*b).rstrip() for b in body)
    for r in run.rows:
        if r.error:
            lines.append(f"  {r.scenario}: {r.error}")
        lines.extend(f"  {r.scenario}: {note}" for note in r.notes)
    has_acc = any(r.accuracy is not None for r in run.rows)
    if run.ok:
        verdict = "all VALID, accuracy met" if has_acc else "all VALID (no accuracy pass)"
        if any(r.find_peak_only for r in run.rows):
            verdict = "peak found"
    else:
        bad = [r.scenario for r in run.rows if not r.ok]
        verdict = f"NOT all VALID / accuracy met (see {', '.join(bad)} above)"
    lines.append(f"  {verdict}; {run.wall_s:.1f} s; results in {run.results_dir}")
    return "\n".join(lines)
