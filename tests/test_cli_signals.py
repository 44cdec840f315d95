"""``mlpace.signals``: where a stop signal may raise, where it waits, and what it leaves behind.

The real-process cases (SIGTERM/SIGINT/SIGHUP sent to ``mlpace run``) are in
``test_cli_bad_input.py``; these run in the test process and send the signal to themselves.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from mlpace import signals as sig
from mlpace.errors import StopRequested

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
