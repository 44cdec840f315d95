"""mlpace results: one row per system x benchmark x scenario in CSV, Markdown and HTML."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mlpace.cli.main import main
from mlpace.submission.results_table import COLUMNS, collect_rows, to_csv, to_html, to_markdown
from submission_corpus import SUBMITTER, SYSTEM, build_good


def test_rows_metrics_units_and_formats(tmp_path: Path) -> None:
    root = build_good(tmp_path / "a")
    system = root / "open" / SUBMITTER / "systems" / f"{SYSTEM}.json"
    desc = json.loads(system.read_text())
    desc["system_name"] = "Box <1> & co"
    system.write_text(json.dumps(desc))
    rows = collect_rows([root])
    table = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [r["Scenario"] for r in table] == ["MultiStream", "Offline", "SingleStream"]
    by = {r["Scenario"]: r for r in table}
    assert by["Offline"]["Result"] == "2000.5" and by["Offline"]["Units"] == "Samples/s"
    assert by["SingleStream"]["Result"] == "1" and by["SingleStream"]["Units"] == "Latency (ms)"
    assert by["MultiStream"]["Result"] == "8"
    assert {r["Availability"] for r in table} == {"available"}
    assert {r["Division"] for r in table} == {"open"} and {r["Checker"] for r in table} == {"OK"}
    assert by["Offline"]["Accuracy"] == "acc=76.5"
    md = to_markdown(rows).splitlines()
    assert len(md) == 2 + 3 and md[0].count("|") == len(COLUMNS) + 1
    page = to_html(rows)
    assert "Box &lt;1&gt; &amp; co" in page and "<script" not in page and "http" not in page
    assert "No summary score" in page


def test_a_broken_result_is_marked_and_the_cli_picks_the_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_good(tmp_path / "a")
    (root / "open" / SUBMITTER / "results" / SYSTEM / "resnet" / "Offline" / "user.conf").unlink()
    out = tmp_path / "t.csv"
    assert main(["results", str(root), "--output", str(out)]) == 0
    table = {r["Scenario"]: r for r in csv.DictReader(out.open())}
    assert table["Offline"]["Checker"] == "1 error(s)" and table["SingleStream"]["Checker"] == "OK"
    assert main(["results", str(root), "--format", "html"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    assert main(["results", str(tmp_path / "none")]) == 2
