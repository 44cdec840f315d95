"""Stop signals: SIGTERM, SIGINT and SIGHUP sent to a real ``mlpace run`` and to a harness on
``mlpace.compat.loadgen`` leave complete logs and the conventional exit code; in-process, where
``mlpace.signals`` lets a stop raise and where it waits (never inside a log writer)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from cli_helpers import (
    NULL,
    TASK,
    TIMEOUT_S,
    check_logs,
    detail_value,
    harness,
    pass_started,
    run_cli,
    wait_for,
)
from mlpace import signals as sig
from mlpace.errors import StopRequested
from mlpace.signals import signal_reason

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

WAIT_S = 5.0


def _idle_until(done: Callable[[], bool]) -> None:
    """Run Python code (where handlers run) until ``done`` or the bound passes."""
    deadline = time.monotonic() + WAIT_S
    while not done() and time.monotonic() < deadline:
        time.sleep(0.005)


def _frame_in(module: str, qualname: str = "f") -> FrameType:
    """A live frame whose code belongs to ``module`` (what the handler inspects)."""
    namespace: dict[str, Any] = {"__name__": module, "sys": sys}
    exec(  # noqa: S102 - builds a function "defined in" another module, for the frame test
        f"def {qualname}():\n    return sys._getframe()\n", namespace
    )
    frame: FrameType = namespace[qualname]()
    return frame


@pytest.mark.parametrize(
    ("module", "wait"),
    [
        ("mlpace.loadgen.logs.summary", True),  # writing a log: never tear it
        ("mlpace.loadgen.results", True),  # computing the result
        ("mlpace.loadgen.engine", True),  # engine bookkeeping outside the issue loop
        ("mlpace.loadgen.scenarios.server", False),  # the issue loop: the engine catches it
        ("mlpace.workloads.runner", False),  # outside any test
        ("harness", False),
    ],
)
def test_where_a_stop_waits(module: str, wait: bool) -> None:
    assert sig._must_wait(_frame_in(module)) is wait


def test_sut_callbacks_and_the_response_sink() -> None:
    assert sig._must_wait(_frame_in("mlpace.loadgen.engine", "_call")) is False
    # the sink (ResponseRecorder) updates counters under a lock: it waits
    namespace: dict[str, Any] = {"__name__": "mlpace.loadgen.scenarios.base", "sys": sys}
    exec(  # noqa: S102
        "class ResponseRecorder:\n    def complete_ids(self):\n        return sys._getframe()\n",
        namespace,
    )
    frame = namespace["ResponseRecorder"]().complete_ids()
    assert sig._must_wait(frame) is True


def test_stop_raises_at_once_outside_a_run() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(StopRequested) as info, sig.stop_on_signals() as state:
        os.kill(os.getpid(), signal.SIGTERM)
        _idle_until(lambda: False)
    assert info.value.exit_code == 143
    assert info.value.reason == "stopped by SIGTERM"
    assert state.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before  # restored


def test_stop_waits_for_a_critical_block_then_raises() -> None:
    inside_done = False
    with pytest.raises(StopRequested) as info, sig.stop_on_signals():
        with sig.critical():
            os.kill(os.getpid(), signal.SIGHUP)
            end = time.monotonic() + 0.1  # several retries land in here and wait
            _idle_until(lambda: time.monotonic() > end)
            inside_done = True
        _idle_until(lambda: False)
    assert inside_done
    assert info.value.exit_code == 129


def test_a_stop_still_waiting_when_the_block_ends_is_raised_there() -> None:
    with pytest.raises(StopRequested), sig.stop_on_signals() as state, sig.critical():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.001)
    assert state is not None and state.raised


def test_second_signal_says_so_third_quits(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)

    monkeypatch.setattr(sig.os, "_exit", fake_exit)
    with sig.stop_on_signals():
        with pytest.raises(StopRequested):
            os.kill(os.getpid(), signal.SIGINT)
            _idle_until(lambda: False)
        os.kill(os.getpid(), signal.SIGINT)  # while "finishing the logs": a note only
        time.sleep(0.01)
        assert "already stopping" in capsys.readouterr().err
        os.kill(os.getpid(), signal.SIGINT)
        _idle_until(lambda: bool(codes))
    assert codes == [130]


def test_ignored_signals_stay_ignored_and_threads_install_nothing() -> None:
    old = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with sig.stop_on_signals():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, old)
    seen: list[bool] = []

    def worker() -> None:
        with sig.stop_on_signals() as state:
            seen.append(state.active)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [False]


def test_signal_while_the_logs_are_finished_leaves_them_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM lands in LogSession.finish (summary and trace not written yet): the stop waits
    until the files are complete, then ends the program."""
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.enums import TestScenario
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
    from mlpace.loadgen.logs.session import LogSession
    from mlpace.loadgen.null_sut import NullQSL, NullSUT
    from mlpace.loadgen.settings import TestSettings

    original = LogSession.finish

    def finish(self: LogSession, *args: Any, **kwargs: Any) -> str:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # several retries land here, inside the LoadGen's finishing
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LogSession, "finish", finish)
    settings = TestSettings(
        scenario=TestScenario.Offline, min_duration_ms=10, offline_expected_qps=10_000
    )
    logs = LogSettings(LogOutputSettings(outdir=str(tmp_path)))
    returned = []
    with pytest.raises(StopRequested), sig.stop_on_signals():
        returned.append(run_test(NullSUT(), NullQSL(64), settings, logs))
        _idle_until(lambda: False)
    assert returned, "the run was cut inside the LoadGen"
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert "Result is :" in summary and "encountered" in summary
    json.loads((tmp_path / "mlperf_log_trace.json").read_text())
    json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())


SIGNALS = [("SIGTERM", 143), ("SIGINT", 130), ("SIGHUP", 129)]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(("name", "exit_code"), SIGNALS)
def test_signal_ends_a_run_cleanly(tmp_path: Path, name: str, exit_code: int) -> None:
    out = tmp_path / "o"
    argv = ["--scenario", "Server", "--target-qps", "20000", "--min-duration", "30"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlpace.cli.main", "run", "--sut", "null", *argv, "--output"]
        + [str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: pass_started(out / "mlperf_log_detail.txt"), "the pass to start")
        proc.send_signal(getattr(signal, name))
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == exit_code, stderr
    assert "Traceback" not in stdout + stderr
    assert name in stderr and "the logs written so far are complete" in stderr
    files = {p.name for p in check_logs(out)}
    assert files == {
        "mlperf_log_summary.txt",
        "mlperf_log_detail.txt",
        "mlperf_log_accuracy.json",
        "mlperf_log_trace.json",
    }
    summary = (out / "mlperf_log_summary.txt").read_text()
    assert "Result is : INVALID" in summary
    reason = signal_reason(getattr(signal, name))
    assert f"The run was interrupted: {reason}." in summary
    assert detail_value(out, "result_validity") == "INVALID"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_during_compat_start_test_leaves_official_logs(tmp_path: Path) -> None:
    """A harness killed by SIGTERM: the logs are finished, then the process ends by SIGTERM
    as it would have without mlpace."""
    proc = harness(tmp_path, "server")
    try:
        wait_for(lambda: pass_started(tmp_path / "logs" / "mlperf_log_detail.txt"), "start")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGTERM, err
    assert "StartTest returned" not in out
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    check_logs(tmp_path / "logs")
    summary = (tmp_path / "logs" / "mlperf_log_summary.txt").read_text()
    assert "Result is : INVALID" in summary and "stopped by SIGTERM" in summary


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_nohup_keeps_sighup_ignored(tmp_path: Path) -> None:
    """``nohup`` ignores SIGHUP so a run survives a closed terminal; mlpace keeps it so."""
    from mlpace.signals import stop_on_signals

    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with stop_on_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, old)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_signal_outside_a_pass_ends_with_its_code_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while the model is calibrated (no log open yet), then SIGHUP between two
    scenarios of a null run (the first one's logs complete, the second not started)."""
    import mlpace.workloads.runner as runner

    real_calibrate = runner.calibrate

    def calibrate(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        return real_calibrate(*args, **kwargs)

    monkeypatch.setattr(runner, "calibrate", calibrate)
    code, text = run_cli([*TASK, "--scenario", "Offline", "--output", str(tmp_path / "t")], capsys)
    assert code == 143, text
    assert "mlpace: stopped by SIGTERM" in text and "Traceback" not in text
    assert not list((tmp_path / "t").rglob("mlperf_log_*"))

    import mlpace.cli.run_null as run_null

    real_report = run_null._report

    def report(*args: Any, **kwargs: Any) -> bool:
        ok = real_report(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGHUP)
        return ok

    monkeypatch.setattr(run_null, "_report", report)
    out = tmp_path / "n"
    argv = [*NULL, "--scenario", "Offline", "--scenario", "Server", "--min-duration", "0.05"]
    code, text = run_cli([*argv, "--output", str(out)], capsys)
    assert code == 129, text
    assert "stopped by SIGHUP" in text and "Traceback" not in text
    assert check_logs(out / "Offline")
    assert not (out / "Server").exists()
