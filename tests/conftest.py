"""Shared test setup: no test writes to the user's own run history."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_history(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    path = tmp_path_factory.mktemp("history") / "history.sqlite"
    monkeypatch.setenv("MLPACE_HISTORY", str(path))
    return path


def pytest_configure(config: pytest.Config) -> None:
    # A shell that starts a job in the background without job control (`cmd &` in a script,
    # nohup) leaves SIGINT ignored, and the signal tests would then test that, not Ctrl-C.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
