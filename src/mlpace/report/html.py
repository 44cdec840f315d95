"""The self-contained HTML report: one file, inline CSS, inline SVG plots, a small inline script.

Runs are grouped by scenario; within a scenario every table has one column per run and every
plot one line (or two: p50 solid, p99 dashed) per run, so several runs read as an overlay.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import mlpace
from mlpace.report._assets import CSS, JS
from mlpace.report.run import RunLog
from mlpace.report.series import cdf_points, exact_percentiles, over_time
from mlpace.report.svg import PALETTE, Chart, Series, format_value, render

SCENARIO_ORDER = ("SingleStream", "MultiStream", "Server", "Offline")
esc = html.escape


def _cell(value: Any) -> str:
    if value is None:
        return '<td class="muted">–</td>'
    if isinstance(value, bool):
        return f"<td>{'true' if value else 'false'}</td>"
    if isinstance(value, (int, float)):
        return f'<td class="num">{esc(_number(value))}</td>'
    return f"<td>{esc(str(value))}</td>"


def _number(value: float) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}"
    return f"{value:,.6g}"


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], raw_first: bool = False) -> str:
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        first = row[0] if raw_first else f"<th>{esc(str(row[0]))}</th>"
        out.append("<tr>" + first + "".join(_cell(v) for v in row[1:]) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _ns(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return format_value(float(value), "ns")
    except (TypeError, ValueError):
        return str(value)


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


# ------------------------------------------------------------------------------- sections
def _overview(runs: Sequence[RunLog]) -> str:
    rows = []
    for run in runs:
        name, value, unit = run.primary_metric()
        shown = "–" if value is None else format_value(value, unit)
        rows.append(
            [
                run.label,
                run.scenario,
                run.mode,
                f'<span class="{run.validity}">{run.validity}</span>',
                f"{name}: {shown}",
                run.generator,
                str(run.detail.get("test_datetime", "")),
                str(run.path),
            ]
        )
    head = ["run", "scenario", "mode", "result", "metric", "written by", "date", "folder"]
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in rows:
        cells = [f"<td>{esc(c)}</td>" if i != 3 else f"<td>{c}</td>" for i, c in enumerate(r)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _checks(runs: Sequence[RunLog]) -> str:
    out = []
    for run in runs:
        if not run.checks:
            continue
        rows = []
        for c in run.checks:
            verdict = "n/a" if c.passed is None else ("pass" if c.passed else "FAIL")
            cls = "" if c.passed is None else ("pass" if c.passed else "fail")
            rows.append(
                f"<tr><th>{esc(c.label)}{'' if c.official else ' (mlpace)'}</th>"
                f'<td class="{cls}">{verdict}</td><td>{esc(c.observed)}</td>'
                f"<td>{esc(c.required)}</td><td>{esc(c.advice)}</td></tr>"
            )
        out.append(
            f"<h3>Validity: {esc(run.label)} "
            f'<span class="{run.validity}">{esc(run.validity)}</span></h3>'
            "<table><tr><th>check</th><th>verdict</th><th>observed</th><th>required</th>"
            "<th>advice</th></tr>" + "".join(rows) + "</table>"
        )
    return "".join(out)


def _percentile_table(runs: Sequence[RunLog], kind: str, title: str) -> str:
    columns = [run.latency_percentiles(kind) for run in runs]
    if not any(v is not None for col in columns for _, v in col):
        return ""
    labels = [label for label, _ in columns[0]]
    rows: list[list[str | None]] = [
        [label, *[_ns(col[i][1]) for col in columns]] for i, label in enumerate(labels)
    ]
    return f"<h3>{esc(title)}</h3>" + _table(["", *[r.label for r in runs]], rows)


def _charts(runs: Sequence[RunLog], scenario: str) -> tuple[str, list[str]]:
    with_samples = [(i, r) for i, r in enumerate(runs) if r.samples is not None]
    if not with_samples:
        return "", []
    cdf = Chart(
        f"cdf-{scenario}", "Latency CDF", "latency", "fraction of samples ≤ latency",
        x_unit="ns", x_log=True,
    )  # fmt: skip
    lat = Chart(
        f"latency-{scenario}", "Latency over the run (p50 solid, p99 dashed)", "time in run",
        "latency", x_unit="s", y_unit="ns", y_log=True,
    )  # fmt: skip
    qps = Chart(
        f"qps-{scenario}", "Achieved throughput over the run", "time in run",
        "completed samples per second", x_unit="s", y_unit="/s",
    )  # fmt: skip
    lag = Chart(
        f"lag-{scenario}", "Issue lag over the run (p50 solid, p99 dashed)", "time in run",
        "issue lag (late vs schedule)", x_unit="s", y_unit="ns",
    )  # fmt: skip
    ttft = Chart(
        f"ttft-{scenario}", "Time to first token over the run (p50 solid, p99 dashed)",
        "time in run", "TTFT", x_unit="s", y_unit="ns", y_log=True,
    )  # fmt: skip
    any_ttft = False
    for i, run in with_samples:
        s = run.samples
        assert s is not None
        color, name = _color(i), run.label
        x, y = cdf_points(s.latency_ns)
        cdf.series.append(Series(name, x.tolist(), y.tolist(), color))
        ot = over_time(s)
        t = ot.t_s.tolist()
        lat.series.append(Series(f"{name} p50", t, ot.latency_p50_ns.tolist(), color))
        lat.series.append(Series(f"{name} p99", t, ot.latency_p99_ns.tolist(), color, "5 3"))
        qps.series.append(Series(name, t, ot.rate_per_s.tolist(), color))
        lag.series.append(Series(f"{name} p50", t, ot.lag_p50_ns.tolist(), color))
        lag.series.append(Series(f"{name} p99", t, ot.lag_p99_ns.tolist(), color, "5 3"))
        if ot.ttft_p50_ns is not None and ot.ttft_p99_ns is not None:
            any_ttft = True
            ttft.series.append(Series(f"{name} p50", t, ot.ttft_p50_ns.tolist(), color))
            ttft.series.append(Series(f"{name} p99", t, ot.ttft_p99_ns.tolist(), color, "5 3"))
    first = runs[0]
    target_ns = first.detail.get("effective_target_latency_ns")
    if scenario == "Server" and isinstance(target_ns, (int, float)) and target_ns > 0:
        lat.hlines.append((float(target_ns), f"latency bound {format_value(target_ns, 'ns')}"))
    target_qps = first.detail.get("effective_target_qps")
    if scenario in ("Server", "Offline") and isinstance(target_qps, (int, float)):
        qps.hlines.append((float(target_qps), f"target {format_value(target_qps, '/s')}"))
    if scenario == "Offline":
        # One query issued at the start: latency is the completion time and the issue lag a
        # single value, so only the CDF and the throughput over the run say anything.
        cdf = dataclasses.replace(
            cdf, title="Completion-time CDF", x_label="time from start to completion"
        )
        charts = [cdf, qps]
    else:
        charts = [cdf, lat, qps, lag] + ([ttft] if any_ttft else [])
    body = "".join(f'<div class="plotbox">{render(c)}</div>' for c in charts)
    return f'<h3>Plots</h3><div class="plots">{body}</div>', [c.chart_id for c in charts]


def _exact_table(runs: Sequence[RunLog]) -> str:
    """Percentiles recomputed from the per-sample data (a cross-check of the logged ones)."""
    ps = (0.5, 0.9, 0.99, 0.999)
    rows = []
    for run in runs:
        if run.samples is None:
            continue
        vals = exact_percentiles(run.samples.latency_ns, ps)
        done = run.samples.completed_mask
        lag = run.samples.issue_lag_ns
        rows.append(
            [run.label, f"{run.samples.count:,}", int(np.count_nonzero(~done))]
            + [_ns(v) for v in vals]
            + [_ns(exact_percentiles(lag, (0.99,))[0]), run.samples_note]
        )
    if not rows:
        return ""
    head = ["run", "samples read", "never completed", "p50", "p90", "p99", "p99.9",
            "issue lag p99", "source"]  # fmt: skip
    return "<h3>From the per-sample timing</h3>" + _table(head, rows)


def _tokens(runs: Sequence[RunLog]) -> str:
    token_runs = [r for r in runs if r.token_run]
    if not token_runs:
        return ""
    out = ["<h3>Token metrics</h3>"]
    rows = []
    keys = (
        ("tokens/s (Offline)", "result_tokens_per_second"),
        ("completed tokens/s (Server)", "result_completed_tokens_per_second"),
        ("TPS with loadgen overhead", "result_token_throughput_with_loadgen_overhead"),
    )
    for label, key in keys:
        vals = [r.detail.get(key) for r in token_runs]
        if any(v is not None for v in vals):
            rows.append([label, *vals])
    if rows:
        out.append(_table(["", *[r.label for r in token_runs]], rows))
    out.append(_percentile_table(token_runs, "ttft", "Time to first token (TTFT)"))
    out.append(_percentile_table(token_runs, "tpot", "Time per output token (TPOT)"))
    return "".join(out)


def _accuracy(runs: Sequence[RunLog]) -> str:
    out = []
    for run in runs:
        parts = []
        if run.accuracy_text:
            parts.append(f"<pre>{esc(run.accuracy_text)}</pre>")
        acc = run.accuracy_log
        if acc is not None:
            state = "complete" if acc.closed else "NOT closed (the run ended abruptly?)"
            parts.append(
                f"<p>{esc(acc.path.name)}: {acc.entries:,} entries for {acc.distinct_samples:,} "
                f"distinct samples, {acc.bytes_logged:,} response bytes"
                f"{f', {acc.token_count:,} tokens' if acc.token_count else ''}; {state}.</p>"
            )
        if parts:
            out.append(f"<h4>{esc(run.label)}</h4>" + "".join(parts))
    return "<h3>Accuracy</h3>" + "".join(out) if out else ""


def _settings(runs: Sequence[RunLog]) -> str:
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run.settings if k not in keys]
    rows = [[k] + [run.settings.get(k) for run in runs] for k in keys]
    req_keys: list[str] = []
    for run in runs:
        req_keys += [k for k in run.requested if k not in req_keys]
    req = [[k] + [run.requested.get(k) for run in runs] for k in req_keys]
    head = ["", *[r.label for r in runs]]
    return (
        "<h3>Settings</h3><details><summary>effective settings</summary>"
        + _table(head, rows)
        + "</details><details><summary>requested settings</summary>"
        + _table(head, req)
        + "</details>"
    )


def _system(runs: Sequence[RunLog]) -> str:
    out = []
    for run in runs:
        blocks = []
        for title, data in (("system description", run.system), ("system under test", run.sut)):
            if data:
                rows = [
                    [k, v if isinstance(v, (int, float, str)) else str(v)] for k, v in data.items()
                ]
                blocks.append(
                    f"<details><summary>{title}</summary>{_table(['', ''], rows)}</details>"
                )
        lg = [
            ["written by", run.generator],
            ["SUT name", run.detail.get("sut_name")],
            ["QSL", run.detail.get("qsl_name")],
            ["QSL samples (total / performance)",
             f"{run.detail.get('qsl_reported_total_count')} / "
             f"{run.detail.get('qsl_reported_performance_count')}"],
        ]  # fmt: skip
        blocks.insert(0, _table(["", ""], lg))
        out.append(f"<h4>{esc(run.label)}</h4>" + "".join(blocks))
    return "<h3>System</h3>" + "".join(out)


def _messages(runs: Sequence[RunLog]) -> str:
    rows = []
    for run in runs:
        for r in run.detail.errors + run.detail.warnings:
            kind = "error" if r.is_error else "warning"
            rows.append([run.label, kind, r.key, str(r.value)[:400], f"{r.time_ms:.3f}"])
    if not rows:
        return "<h3>Errors and warnings</h3><p>None logged.</p>"
    return "<h3>Errors and warnings</h3>" + _table(
        ["run", "kind", "key", "message", "time (ms)"], rows[:200]
    )


def _notes(runs: Sequence[RunLog]) -> str:
    out = []
    for run in runs:
        if (
            run.samples is None
            and run.samples_note
            or run.samples is not None
            and not run.samples.complete
        ):
            out.append(f'<div class="note">{esc(run.label)}: {esc(run.samples_note)}</div>')
        for note in run.notes:
            out.append(f'<div class="note">{esc(run.label)}: {esc(note)}</div>')
    return "".join(out)


def scenario_section(scenario: str, runs: Sequence[RunLog]) -> tuple[str, list[str]]:
    perf = [r for r in runs if r.has_performance]
    charts_html, chart_ids = _charts(perf, scenario) if perf else ("", [])
    parts = [
        f'<section class="scenario" id="scenario-{esc(scenario)}"><h2>{esc(scenario)}</h2>',
        _notes(runs),
        _checks(perf),
        _percentile_table(perf, "query" if scenario == "MultiStream" else "latency",
                          "Latency percentiles (per query)" if scenario == "MultiStream"
                          else "Latency percentiles (from the detail log)"),
        charts_html,
        _exact_table(perf),
        _tokens(perf),
        _accuracy(runs),
        _settings(runs),
        _system(runs),
        _messages(runs),
        "</section>",
    ]  # fmt: skip
    return "".join(parts), chart_ids


def build_html(runs: Sequence[RunLog], title: str = "mlpace report", preface: str = "") -> str:
    """The whole page for ``runs`` (grouped by scenario, several runs overlaid)."""
    runs = _unique_labels(runs)
    groups: dict[str, list[RunLog]] = {}
    for run in runs:
        groups.setdefault(run.scenario, []).append(run)
    order = [s for s in SCENARIO_ORDER if s in groups] + [
        s for s in groups if s not in SCENARIO_ORDER
    ]
    sections = [scenario_section(s, groups[s])[0] for s in order]
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{len(runs)} run(s); generated {now} by mlpace "
        f"{esc(mlpace.__version__)}</p></header><main>{preface}<h2>Runs</h2>{_overview(runs)}"
        + "".join(sections)
        + f"</main><script>{JS}</script></body></html>\n"
    )


def _unique_labels(runs: Sequence[RunLog]) -> list[RunLog]:
    seen: dict[tuple[str, str], int] = {}
    out = []
    for run in runs:
        key = (run.scenario, run.label)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            run = dataclasses.replace(run, label=f"{run.label} #{seen[key]}")
        out.append(run)
    return out


def write_report(
    runs: Sequence[RunLog], output: Path, title: str = "mlpace report", preface: str = ""
) -> Path:
    """Write the page atomically (a browser never opens half a file)."""
    text = build_html(runs, title, preface)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    return output


__all__ = ["build_html", "scenario_section", "write_report"]
