"""``mlpace run --sut null`` end to end, in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlpace.cli.main import main

FILES = ("summary.txt", "detail.txt", "accuracy.json", "trace.json")


def _check_logs(folder: Path) -> list[dict[str, object]]:
    for name in FILES:
        assert (folder / f"mlperf_log_{name}").exists(), name
    records = []
    for line in (folder / "mlperf_log_detail.txt").read_text().splitlines():
        assert line.startswith(":::MLLOG ")
        records.append(json.loads(line[len(":::MLLOG ") :]))
    json.loads((folder / "mlperf_log_accuracy.json").read_text())
    return records


def test_null_server_run_is_valid_and_writes_the_four_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            "--sut",
            "null",
            "--scenario",
            "Server",
            "--target-qps",
            "5000",
            "--min-duration",
            "0.2",
            "--output",
            str(tmp_path),
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Result is : VALID" in out
    assert "Server: VALID" in out
    records = _check_logs(tmp_path)
    keys = {r["key"]: r["value"] for r in records}
    assert keys["result_validity"] == "VALID"
    assert keys["effective_scenario"] == "Server"


def test_null_all_scenarios_each_into_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            "--sut",
            "null",
            "--min-duration",
            "0.2",
            "--output",
            str(tmp_path),
            "--quiet",
            "--completion",
            "thread",
        ]
    )
    out = capsys.readouterr().out
    for scenario in ("SingleStream", "MultiStream", "Server", "Offline"):
        _check_logs(tmp_path / scenario)
        assert f"{scenario}: " in out
    assert code in (0, 1)


def test_null_accuracy_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "run",
            "--sut",
            "null",
            "--scenario",
            "Offline",
            "--mode",
            "AccuracyOnly",
            "--sample-count",
            "300",
            "--output",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    entries = json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    assert sorted(e["qsl_idx"] for e in entries) == list(range(300))
