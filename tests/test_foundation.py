"""The foundation: clocks, the error tree, the CLI shell."""

from __future__ import annotations

import threading

import pytest

from mlpace.clock import VirtualClock
from mlpace.errors import ConfigError, SutTimeoutError


def test_virtual_clock_runs_timers_in_time_order() -> None:
    clock = VirtualClock()
    seen: list[tuple[int, str]] = []
    clock.call_at(30, lambda: seen.append((clock.now_ns(), "c")))
    clock.call_at(10, lambda: seen.append((clock.now_ns(), "a")))
    clock.call_at(10, lambda: seen.append((clock.now_ns(), "b")))
    clock.sleep_until(20)
    assert seen == [(10, "a"), (10, "b")]
    assert clock.now_ns() == 20
    clock.sleep_until(100)
    assert seen[-1] == (30, "c")


def test_virtual_clock_wait_returns_false_when_nothing_can_set_the_event() -> None:
    clock = VirtualClock()
    event = threading.Event()
    assert clock.wait(event, timeout_ns=5_000) is False
    assert clock.now_ns() == 5_000
    clock.call_later(100, event.set)
    assert clock.wait(event) is True
    assert clock.now_ns() == 5_100


def test_config_error_names_file_line_key_and_value() -> None:
    err = ConfigError("unknown key", path="user.conf", line=3, key="*.Server.target_qsp", value="5")
    assert str(err) == "user.conf:3: unknown key (key '*.Server.target_qsp', value '5')"


def test_timeout_error_lists_missing_ids() -> None:
    err = SutTimeoutError("no response in 1 s", missing_ids=range(25))
    assert "0, 1, 2" in str(err) and "and 5 more" in str(err)
    assert err.missing_ids[-1] == 24


@pytest.mark.parametrize("argv", [["--version"]])
def test_cli_version(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from mlpace.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "mlpace" in capsys.readouterr().out
