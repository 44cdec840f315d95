"""The results table of one or more submission trees, as the official summarizer lays it out:
one row per system x benchmark x scenario with its metric and unit, availability and division.
There is no single summary score, on purpose: results differ in scenario, unit and system."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from pathlib import Path

from mlpace.submission.check import ResultRow, check_tree

__all__ = ["COLUMNS", "collect_rows", "to_csv", "to_html", "to_markdown"]

COLUMNS = (
    "Organization", "Availability", "Division", "SystemType", "SystemName", "Platform",
    "Model", "MlperfModel", "Scenario", "Result", "Units", "Accuracy", "Checker",
    "Processor", "Accelerator", "Framework",
)  # fmt: skip


def collect_rows(roots: Sequence[str | Path], version: str = "v6.1") -> list[ResultRow]:
    rows: list[ResultRow] = []
    for root in roots:
        rows += check_tree(root, version=version).results
    order = {"closed": 0, "network": 1, "open": 2}
    return sorted(
        rows,
        key=lambda r: (order.get(r.division, 9), r.submitter, r.system, r.folder, r.scenario),
    )


def _cells(r: ResultRow) -> list[str]:
    result = "" if r.metric is None else f"{r.metric:.6g}"
    checker = "OK" if r.valid else f"{r.errors} error(s)"
    return [
        r.submitter, r.availability, r.division, r.system_type, r.system_name, r.system,
        r.folder, r.benchmark, r.scenario, result, r.unit, r.accuracy, checker, r.processor,
        r.accelerator, r.framework,
    ]  # fmt: skip


def to_csv(rows: Sequence[ResultRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(_cells(r))
    return buf.getvalue()


def to_markdown(rows: Sequence[ResultRow]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(esc(c) for c in _cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d2329; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #c8ced4; padding: 0.3rem 0.55rem; text-align: left; }
th { background: #eef1f4; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td { background: #fdecea; }
caption { text-align: left; margin-bottom: 0.6rem; color: #4a5560; }
"""


def to_html(rows: Sequence[ResultRow], title: str = "MLPerf Inference results") -> str:
    """A self-contained page (no scripts, no external assets)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = []
    for r in rows:
        cells = []
        for name, value in zip(COLUMNS, _cells(r), strict=True):
            cls = ' class="num"' if name == "Result" else ""
            cells.append(f"<td{cls}>{html.escape(value)}</td>")
        row_cls = "" if r.valid else ' class="bad"'
        body.append(f"<tr{row_cls}>{''.join(cells)}</tr>")
    caption = (
        f"{len(rows)} result(s); one row per system, benchmark and scenario. No summary score: "
        "metrics differ in unit and meaning across scenarios."
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>\n"
    )
