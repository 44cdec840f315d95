"""Shared by the test_cli_* modules: run the CLI in-process, check that every log parses, a
compat-module harness for subprocess tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from mlpace.cli.main import main

NULL = ["run", "--sut", "null", "--quiet"]
TASK = ["run", "--profile", "tiny", "--quiet", "--no-trace"]
TIMEOUT_S = 60.0


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``mlpace argv`` in-process; (exit code, stdout + stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


def check_logs(folder: Path) -> list[Path]:
    """Every MLPerf log file under ``folder`` parses; returns the files checked."""
    seen = []
    for path in sorted(folder.rglob("mlperf_log_*")):
        seen.append(path)
        text = path.read_text(encoding="utf-8")
        if path.name.endswith("summary.txt"):
            assert "encountered" in text, f"{path}: summary has no trailer"
        elif path.name.endswith("detail.txt"):
            lines = text.splitlines()
            assert lines, f"{path} is empty"
            for line in lines:
                assert line.startswith(":::MLLOG "), line
                json.loads(line[len(":::MLLOG ") :])
        else:  # accuracy and trace logs are JSON documents
            json.loads(text)
    return seen


def detail_value(folder: Path, key: str) -> object:
    for line in (folder / "mlperf_log_detail.txt").read_text().splitlines():
        record = json.loads(line[len(":::MLLOG ") :])
        if record["key"] == key:
            return record["value"]
    raise KeyError(key)


HARNESS = """
import sys, threading
import mlpace.compat.loadgen as lg

mode = sys.argv[2]

def issue(samples):
    responses = [lg.QuerySampleResponse(s.id, 0, 0) for s in samples]
    lg.QuerySamplesComplete(responses)
    if mode == "twice":
        lg.QuerySamplesComplete(responses[:1])

sut = lg.ConstructSUT(issue, lambda: None)
qsl = lg.ConstructQSL(64, 64, lambda i: None, lambda i: None)
s = lg.TestSettings()
if mode == "twice":
    s.scenario, s.mode = lg.TestScenario.SingleStream, lg.TestMode.PerformanceOnly
    s.min_duration_ms, s.min_query_count = 50, 32
    s.single_stream_expected_latency_ns = 100_000
else:
    s.scenario, s.mode = lg.TestScenario.Server, lg.TestMode.PerformanceOnly
    s.server_target_qps, s.min_duration_ms = 5000, 30_000
log = lg.LogSettings()
log.log_output.outdir = sys.argv[1]
log.enable_trace = True
lg.StartTestWithLogSettings(sut, qsl, s, log)
print("StartTest returned")
"""


def harness(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    """The harness above as a child process writing its logs to ``tmp_path/logs``."""
    script = tmp_path / "harness.py"
    script.write_text(HARNESS)
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "logs"), mode],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def pass_started(detail: Path) -> bool:
    return detail.is_file() and "Starting performance mode" in detail.read_text()
