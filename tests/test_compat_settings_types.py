"""The drop-in ``TestSettings`` accepts exactly what the official binding accepts, field by field.

Official harnesses write ``settings.infer_token_latencies = 1`` or ``server_target_qps = 100``
or pass NumPy scalars; pybind11 converts those, so the facade must too (and refuse what pybind11
refuses: text for a number, a float for an integer, a negative count).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import mlpace.compat.loadgen as mlg


class _Index:
    def __index__(self) -> int:
        return 7


class _Float:
    def __float__(self) -> float:
        return 2.5


class _Int:
    def __int__(self) -> int:
        return 9


class _Truth:
    def __bool__(self) -> bool:
        return False


CANDIDATES: list[Any] = [
    True, False, 0, 1, 2, -1, 1.5, 2.0, -2.5, "1", "", None, [], [1], complex(1, 0),
    np.int64(3), np.int32(-4), np.uint64(5), np.float64(2.5), np.float32(2.5), np.bool_(True),
    np.array(3), np.array([3]), Decimal("2.5"), Fraction(5, 2), _Index(), _Float(), _Int(),
    _Truth(), 2**31, -(2**31) - 1, 2**40, 2**63, 2**64 - 1, 2**64, float("inf"),
]  # fmt: skip


def _official() -> ModuleType:
    return pytest.importorskip("mlperf_loadgen")


# mlpace extensions the official struct does not have.
EXTENSIONS = {"sample_timeout_ms"}


def _field_names(settings: Any) -> list[str]:
    return [
        n for n in dir(settings) if not n.startswith("_") and n not in ("FromConfig", "to_core")
    ]


FIELDS = sorted(set(_field_names(mlg.TestSettings())) - EXTENSIONS)


def _set(lg: Any, name: str, value: Any) -> tuple[str, Any]:
    settings = lg.TestSettings()
    try:
        setattr(settings, name, value)
    except TypeError:
        return ("refused", None)
    got = getattr(settings, name)
    return ("accepted", (type(got).__name__, got if got == got else "nan"))


@pytest.mark.official
def test_every_official_field_is_in_the_facade() -> None:
    official = _official()
    assert sorted(_field_names(official.TestSettings())) == FIELDS


@pytest.mark.official
@pytest.mark.parametrize("name", FIELDS)
def test_field_accepts_and_refuses_what_the_official_does(name: str) -> None:
    official = _official()
    if name in ("scenario", "mode"):
        # The official takes only its own enum members; the facade takes those (by name) too,
        # its own members, their names and their integer values.
        enum_type = type(getattr(official.TestSettings(), name))
        for member in enum_type.__members__.values():
            settings = mlg.TestSettings()
            setattr(settings, name, member)
            assert getattr(settings, name).name == member.name
        return
    mismatches = []
    for value in CANDIDATES:
        ours, theirs = _set(mlg, name, value), _set(official, name, value)
        if ours != theirs:
            mismatches.append((value, ours, theirs))
    assert not mismatches, f"{name}: (value, mlpace, official): {mismatches}"


def test_official_idioms_work_without_the_official_installed() -> None:
    s = mlg.TestSettings()
    s.infer_token_latencies = 1
    s.use_token_latencies = 0
    s.server_target_qps = 100
    s.min_duration_ms = np.int64(1000)
    s.offline_expected_qps = np.float32(2.5)
    assert s.infer_token_latencies is True and s.use_token_latencies is False
    assert s.server_target_qps == 100.0 and isinstance(s.server_target_qps, float)
    assert s.min_duration_ms == 1000 and type(s.min_duration_ms) is int
    with pytest.raises(TypeError, match="min_query_count must be a non-negative integer"):
        s.min_query_count = 2.0
    with pytest.raises(TypeError, match=r"\[0, 18446744073709551615\]"):
        s.min_query_count = 2**64
    with pytest.raises(TypeError, match="use_token_latencies must be a bool"):
        s.use_token_latencies = "yes"
    core = s.to_core()
    assert core.infer_token_latencies is True and core.min_duration_ms == 1000


LOG_FIELDS = [
    ("LogSettings", "enable_trace"),
    ("LogSettings", "log_mode_async_poll_interval_ms"),
    ("LogOutputSettings", "outdir"),
    ("LogOutputSettings", "prefix"),
    ("LogOutputSettings", "suffix"),
    ("LogOutputSettings", "prefix_with_datetime"),
    ("LogOutputSettings", "copy_detail_to_stdout"),
    ("LogOutputSettings", "copy_summary_to_stdout"),
]


def _set_on(lg: Any, cls: str, name: str, value: Any) -> tuple[str, Any]:
    obj = getattr(lg, cls)()
    try:
        setattr(obj, name, value)
    except TypeError:
        return ("refused", None)
    got = getattr(obj, name)
    return ("accepted", (type(got).__name__, got if got == got else "nan"))


@pytest.mark.official
@pytest.mark.parametrize(("cls", "name"), LOG_FIELDS)
def test_log_settings_accept_what_the_official_does(cls: str, name: str) -> None:
    official = _official()
    candidates = [*CANDIDATES, "out", b"out"]
    missing = []
    for value in candidates:
        theirs = _set_on(official, cls, name, value)
        ours = _set_on(mlg, cls, name, value)
        # Everything the official takes is taken, with the same value; the facade may take a
        # little more (a pathlib.Path for a directory), never less.
        if theirs[0] == "accepted" and ours != theirs:
            missing.append((value, ours, theirs))
    assert not missing, f"{cls}.{name}: (value, mlpace, official): {missing}"
