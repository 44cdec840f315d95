"""``mlpace tune-threads`` end to end on the digits task (real LoadGen passes, short), and
``mlpace run --threads-from``. Asserts the table and the files, never the timings."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import TIMEOUT_S, run_cli, wait_for
from mlpace.workloads.tuning_grid import FRAMEWORK_DEFAULT, INTEL_STYLE

needs_ort = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime not installed (extra onnx)"
)
SHORT = ["--budget", "60", "--repeats", "2", "--max-repeats", "2", "--pass-ms", "100"]
SHORT += ["--max-points", "4", "--quiet"]


@pytest.mark.parametrize("backend", ["numpy", pytest.param("onnxruntime", marks=needs_ort)])
def test_short_sweep_on_digits_prints_table_and_writes_the_file(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tune"
    code, text = run_cli(
        ["tune-threads", "digits", "--backend", backend, "--output", str(out), *SHORT], capsys
    )
    assert code == 0, text
    header = text.splitlines()[0].split()
    assert header[:5] == ["intra", "pools", "workers", "batch", "threads"]
    assert FRAMEWORK_DEFAULT in text and INTEL_STYLE in text and "BEST" in text
    assert "best: intra" in text and "speedup:" in text and "over the framework default" in text
    doc = json.loads((out / "threads.json").read_text())
    assert doc["format"] == "mlpace-threads/1" and doc["backend"] == backend
    assert doc["settings"]["workers"] >= 1 and doc["throughput"]["repeats"] >= 1
    assert FRAMEWORK_DEFAULT in doc["speedup"]
    assert "sw_notes" in doc["system_description"]
    sweep = json.loads((out / "sweep.json").read_text())
    measured = [p for p in sweep["points"] if p["values"]]
    assert len(measured) >= 2
    assert (out / "throughput_vs_threads.svg").read_text().startswith("<svg")
    # every pass left its LoadGen summary
    assert list((out / "logs").rglob("mlperf_log_summary.txt"))


def test_short_server_sweep_reports_peak_qps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "srv"
    argv = ["tune-threads", "digits", "--backend", "numpy", "--scenario", "Server"]
    argv += ["--budget", "60", "--repeats", "1", "--max-repeats", "1", "--pass-ms", "100"]
    code, text = run_cli([*argv, "--max-points", "3", "--quiet", "--output", str(out)], capsys)
    assert code == 0, text
    assert "median peak QPS" in text.splitlines()[0]
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["scenario"] == "Server" and doc["metric"] == "peak QPS"
    assert len([p for p in doc["points"] if p["values"]]) == 3
    # the FindPeakPerformance probes left their logs
    assert list((out / "logs").rglob("mlperf_log_detail.txt"))


def test_run_threads_from_applies_and_records_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    threads = tmp_path / "threads.json"
    threads.write_text(
        json.dumps(
            {
                "format": "mlpace-threads/1",
                "task": "digits",
                "backend": "numpy",
                "settings": {"threads": 1, "workers": 1, "batch_size": 8, "backend_options": {}},
            }
        )
    )
    out = tmp_path / "run"
    argv = ["run", "digits", "--profile", "tiny", "--quiet", "--no-trace", "--no-history"]
    argv += ["--no-report", "--scenario", "Offline", "--output", str(out)]
    code, text = run_cli([*argv, "--threads-from", str(threads)], capsys)
    assert code == 0, text
    sut = json.loads(next(out.rglob("performance/run_1/mlpace_sut.json")).read_text())
    assert sut["workers"] == 1 and sut["max_batch_size"] == 8 and sut["backend"] == "numpy"
    assert sut["threads_from"] == str(threads)
    system = json.loads(next(out.rglob("system_description.json")).read_text())
    assert f"tuned by mlpace tune-threads ({threads})" in system["sw_notes"]


def test_threads_from_bad_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    code, text = run_cli(["run", "digits", "--threads-from", str(missing)], capsys)
    assert code == 2 and f"--threads-from {missing}: no such file" in text
    code, text = run_cli(["run", "--sut", "null", "--threads-from", str(missing)], capsys)
    assert code == 2 and "--threads-from applies to task runs" in text
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "mlpace-threads/1", "settings": {"threads": 0}}')
    code, text = run_cli(["run", "digits", "--threads-from", str(bad)], capsys)
    assert code == 2 and "settings.threads" in text and "Traceback" not in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tune-threads", "digits", "--budget", "0"], "--budget: expected seconds"),
        (["tune-threads", "digits", "--repeats", "0"], "--repeats"),
        (["tune-threads", "digits", "--scenario", "SingleStream"], "invalid choice"),
        (["tune-threads", "nosuchtask"], "nosuchtask"),
        (["tune-threads", "digits", "--backend", "tensorflow"], "not 'tensorflow'"),
    ],
)
def test_tune_threads_bad_input(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run_cli(argv, capsys)
    assert code == 2 and message in text and "Traceback" not in text


def test_run_sizes_default_workers_by_physical_cores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlpace.workloads import runner
    from mlpace.workloads.topology import CpuTopology

    # 8 logical CPUs, 4 cores: digits runs 1 thread per worker, so one worker per core
    monkeypatch.setattr(runner, "detect_topology", lambda: CpuTopology(8, 4, 1))
    out = tmp_path / "run"
    argv = ["run", "digits", "--profile", "tiny", "--quiet", "--no-trace", "--no-history"]
    argv += ["--no-report", "--scenario", "Offline", "--mode", "PerformanceOnly"]
    code, text = run_cli([*argv, "--backend", "numpy", "--output", str(out)], capsys)
    assert code == 0, text
    sut = json.loads(next(out.rglob("performance/run_1/mlpace_sut.json")).read_text())
    assert sut["workers"] == 4


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_keeps_the_points_measured_so_far(tmp_path: Path) -> None:
    out = tmp_path / "tune"
    argv = ["tune-threads", "digits", "--backend", "numpy", "--pass-ms", "1000"]
    argv += ["--budget", "120", "--output", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlpace.cli.main", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # one point measured, the next one's pass under way: the signal lands inside a pass
        wait_for(lambda: len(list(out.rglob("mlperf_log_summary.txt"))) >= 1, "a first point")
        wait_for(lambda: len(list(out.rglob("mlperf_log_detail.txt"))) >= 2, "a second pass")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stdout + stderr
    assert "stopped early: interrupted" in stdout and "best:" in stdout
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["stopped"].startswith("interrupted")
    assert 1 <= len([p for p in sweep["points"] if p["values"]]) < len(sweep["points"])
    assert json.loads((out / "threads.json").read_text())["stopped_early"]
