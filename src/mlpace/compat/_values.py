"""How the drop-in binding converts settings values: as the official binding's setters do."""

from __future__ import annotations

import os
from dataclasses import fields as _dc_fields
from typing import Any

from mlpace.compat._types import _to_mode, _to_scenario
from mlpace.loadgen import settings as _core_settings

# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

_CORE_FIELDS = {f.name: f for f in _dc_fields(_core_settings.TestSettings)}
_CORE_DEFAULTS = _core_settings.TestSettings()

# Fields that are C++ doubles in the official struct (anything else numeric is an integer).
_FLOAT_FIELDS = frozenset(
    {
        "single_stream_expected_latency_ns",
        "single_stream_target_latency_percentile",
        "multi_stream_expected_latency_ns",
        "multi_stream_target_latency_percentile",
        "server_target_qps",
        "server_target_latency_percentile",
        "server_find_peak_qps_boundary_step_size",
        "offline_expected_qps",
        "accuracy_log_probability",
    }
)
_SIGNED_INT_FIELDS = frozenset({"server_find_peak_qps_decimals_of_precision"})
_ENUM_FIELDS = {"scenario": _to_scenario, "mode": _to_mode}
# Fields our core settings type holds as integers although the official struct holds doubles.
_INT_IN_CORE = frozenset({"single_stream_expected_latency_ns", "multi_stream_expected_latency_ns"})

_MULTIPLE_CONF_MESSAGE = "Multiple conf files are used. This is not valid for official submission."


_UINT64_MAX = 2**64 - 1
_INT32_RANGE = (-(2**31), 2**31 - 1)


def _coerce(name: str, value: Any) -> Any:
    """Convert ``value`` for field ``name`` as the official pybind11 setter does.

    Booleans take anything with a truth value (0/1, NumPy scalars, None -> False) but not text;
    doubles take ints and anything with ``__float__`` or ``__index__``; integers take anything
    with ``__index__`` or ``__int__`` except floats, within the C++ type's range.
    """
    conv = _ENUM_FIELDS.get(name)
    if conv is not None:
        return conv(value)
    default = getattr(_CORE_DEFAULTS, name)
    if isinstance(default, bool):
        return _as_bool(f"TestSettings.{name}", value)
    if name in _FLOAT_FIELDS:
        return _as_double(name, value)
    return _as_integer(name, value)


def _as_bool(label: str, value: Any) -> bool:
    if value is None:
        return False
    if hasattr(type(value), "__bool__"):
        return bool(value)
    raise TypeError(f"{label} must be a bool (or 0/1), not {value!r}")


def _as_text(label: str, value: Any) -> str:
    """pybind11's std::string: str, or bytes decoded as UTF-8 (os.PathLike too, a courtesy)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    raise TypeError(f"{label} must be a str, not {value!r}")


def _as_double(name: str, value: Any) -> float:
    kind = type(value)
    try:
        if isinstance(value, float) or hasattr(kind, "__float__"):
            return float(value)
        if hasattr(kind, "__index__"):
            return float(value.__index__())
    except (TypeError, ValueError, OverflowError):
        pass
    raise TypeError(f"TestSettings.{name} must be a number, not {value!r}")


def _as_integer(name: str, value: Any, owner: str = "TestSettings") -> int:
    low, high = _INT32_RANGE if name in _SIGNED_INT_FIELDS else (0, _UINT64_MAX)
    what = "an integer" if low < 0 else "a non-negative integer"
    kind = type(value)
    number: int | None = None
    # A float (or float subclass, e.g. numpy.float64) is refused even when whole, like the
    # official; other numbers with __int__ (numpy.float32, Decimal) are truncated, like it too.
    if not isinstance(value, float) and getattr(value, "ndim", 0) == 0:
        try:
            if hasattr(kind, "__index__"):
                number = int(value.__index__())
            elif hasattr(kind, "__int__"):
                number = int(value)
        except (TypeError, ValueError, OverflowError):
            number = None
    if number is None or not low <= number <= high:
        raise TypeError(f"{owner}.{name} must be {what} in [{low}, {high}], not {value!r}")
    return number
