"""``mlpace run`` writes the report and records the history; the new commands refuse bad input
with a message, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlpace.cli.main import main
from mlpace.report.history import History

NULL_SERVER = ["run", "--sut", "null", "--scenario", "Server", "--target-qps", "5000",
               "--min-duration", "0.2", "--quiet"]  # fmt: skip


def test_null_run_writes_report_samples_and_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], _private_history: Path
) -> None:
    code = main([*NULL_SERVER, "--output", str(tmp_path)])
    assert code in (0, 1)  # VALID or not (a loaded machine); what is recorded must say which
    err = capsys.readouterr().err
    assert (tmp_path / "report.html").exists() and (tmp_path / "mlpace_samples.npz").exists()
    assert f"mlpace: report: {tmp_path / 'report.html'}" in err
    page = (tmp_path / "report.html").read_text()
    assert 'id="cdf-Server"' in page and ("VALID" if code == 0 else "INVALID") in page
    with History(_private_history) as db:
        (row,) = db.rows()
    assert (row.kind, row.task, row.scenario) == ("inference", "null", "Server")
    assert row.valid is (code == 0)
    assert row.log_dir == str(tmp_path.resolve())
    assert row.metric_name == "completed samples/s" and row.metric_value
    assert row.settings["target_qps"] == 5000 and {c["name"] for c in row.checks} >= {
        "perf_constraints", "min_duration", "min_queries", "early_stopping",
    }  # fmt: skip


def test_no_history_and_no_report(tmp_path: Path, _private_history: Path) -> None:
    code = main([*NULL_SERVER, "--output", str(tmp_path), "--no-history", "--no-report"])
    assert code in (0, 1) and (tmp_path / "mlperf_log_detail.txt").exists()
    assert not (tmp_path / "report.html").exists()
    assert not _private_history.exists()


def test_two_scenarios_share_one_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "--sut", "null", "--scenario", "Server", "--scenario", "SingleStream",
            "--target-qps", "5000", "--min-duration", "0.2", "--quiet",
            "--output", str(tmp_path)]  # fmt: skip
    assert main(args) in (0, 1)
    page = (tmp_path / "report.html").read_text()
    assert 'id="scenario-Server"' in page and 'id="scenario-SingleStream"' in page
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "again.html")]) == 0
    assert "report of 2 run(s) (Server, SingleStream)" in capsys.readouterr().out


def test_workload_run_writes_one_report_for_the_task(
    tmp_path: Path, _private_history: Path
) -> None:
    args = ["run", "digits", "--profile", "tiny", "--scenario", "SingleStream", "--quiet",
            "--output", str(tmp_path)]  # fmt: skip
    main(args)  # VALID or not on a loaded machine; the report is what is checked
    (report,) = tmp_path.glob("results/*/digits/report.html")
    page = report.read_text()
    assert 'id="scenario-SingleStream"' in page and "accuracy=" in page
    with History(_private_history) as db:
        (row,) = db.rows()
    assert row.task == "digits" and "accuracy" in row.metrics
    assert row.settings["context.backend"] == "numpy"


@pytest.mark.parametrize("command", ["report", "history", "compare"])
def test_bad_flags_and_paths_give_a_message_not_a_traceback(command: str) -> None:
    for extra in (["--no-such-flag-xyz"], ["/no/such/path-xyz", "/no/such/path-xyz"]):
        if command == "history" and extra[0].startswith("/"):
            extra = ["--history", "/no/such/path-xyz"]
        proc = subprocess.run(
            [sys.executable, "-m", "mlpace.cli.main", command, *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, (command, extra, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert "error" in proc.stderr and proc.stderr.strip()


def test_report_of_a_folder_without_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "no LoadGen detail log" in capsys.readouterr().err


def test_negative_delay_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*NULL_SERVER, "--output", str(tmp_path), "--delay-us", "-5"])
    assert exit_info.value.code == 2
    assert (
        "--delay-us: expected microseconds in [0, 1,000,000], got '-5'" in capsys.readouterr().err
    )
