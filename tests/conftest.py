"""Shared test setup: no test writes to the user's own run history."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_history(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    path = tmp_path_factory.mktemp("history") / "history.sqlite"
    monkeypatch.setenv("MLPACE_HISTORY", str(path))
    return path
