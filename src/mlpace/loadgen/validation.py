"""Range and type checks for :class:`TestSettings`.

Every field has one rule. A value breaking it raises :class:`mlpace.errors.SettingsError` naming the
field, the value, what is allowed and what to change. The official LoadGen checks almost none of
this (a negative ``min_query_count`` from a config wraps to 2**64 - 1 there); we refuse it early.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlpace.errors import SettingsError
from mlpace.loadgen.enums import TestMode, TestScenario

if TYPE_CHECKING:
    from mlpace.loadgen.settings import TestSettings

UINT64_MAX = 2**64 - 1
INT32_MAX = 2**31 - 1

# Fields that are C++ ``bool`` / ``double`` in the official struct; the rest are integers
# (``uint64_t`` except the ``int`` decimals-of-precision) or enums.
BOOL_FIELDS = frozenset(
    {
        "server_coalesce_queries",
        "sample_concatenate_permutation",
        "test05",
        "print_timestamps",
        "performance_issue_unique",
        "performance_issue_same",
        "use_token_latencies",
        "infer_token_latencies",
    }
)
FLOAT_FIELDS = frozenset(
    {
        "single_stream_target_latency_percentile",
        "multi_stream_target_latency_percentile",
        "server_target_qps",
        "server_target_latency_percentile",
        "server_find_peak_qps_boundary_step_size",
        "offline_expected_qps",
        "accuracy_log_probability",
    }
)
ENUM_FIELDS: dict[str, type[TestScenario] | type[TestMode]] = {
    "scenario": TestScenario,
    "mode": TestMode,
}

_Rule = Callable[[str, object], None]


def _fail(field: str, value: object, allowed: str, hint: str = "") -> SettingsError:
    tail = f"; {hint}" if hint else ""
    return SettingsError(
        f"{field} must be {allowed}, got {value!r}{tail}", field=field, value=value
    )


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _uint(minimum: int = 0, maximum: int = UINT64_MAX, hint: str = "") -> _Rule:
    def rule(field: str, value: object) -> None:
        if not _is_int(value):
            raise _fail(field, value, "an integer", "pass an int, e.g. int(value)")
        number = int(value)  # type: ignore[call-overload]
        if not minimum <= number <= maximum:
            allowed = f"an integer from {minimum} to {maximum}"
            raise _fail(field, value, allowed, hint)

    return rule


def _real(*, low: float, high: float, low_open: bool, high_open: bool, hint: str = "") -> _Rule:
    def rule(field: str, value: object) -> None:
        if not _is_real(value):
            raise _fail(field, value, "a number", "pass an int or float")
        number = float(value)  # type: ignore[arg-type]
        below = number <= low if low_open else number < low
        above = number >= high if high_open else number > high
        if math.isnan(number) or below or above:
            lo = "(" if low_open else "["
            hi = ")" if high_open else "]"
            raise _fail(field, value, f"a number in {lo}{low:g}, {high:g}{hi}", hint)

    return rule


def _bool(field: str, value: object) -> None:
    if not isinstance(value, bool):
        raise _fail(field, value, "True or False", "pass a Python bool, e.g. bool(value)")


def _enum(field: str, value: object) -> None:
    enum_type = ENUM_FIELDS[field]
    if not isinstance(value, enum_type):
        names = ", ".join(f"{enum_type.__name__}.{m.name}" for m in enum_type)
        raise _fail(field, value, f"one of {names}", f"use {enum_type.__name__}[name]")


_PERCENTILE_HINT = "percentiles are fractions here (0.99 for p99); config files use percent"
_POSITIVE_RATE = _real(
    low=0.0,
    high=math.inf,
    low_open=True,
    high_open=True,
    hint="give the expected queries (samples) per second, a finite number above zero",
)
_PERCENTILE = _real(low=0.0, high=1.0, low_open=True, high_open=True, hint=_PERCENTILE_HINT)
_LATENCY_NS = _uint(1, hint="latencies are in nanoseconds and must be above zero")
_COUNT = _uint(hint="counts are whole numbers >= 0 (0 means 'unset' / 'unlimited' where allowed)")
_DURATION_MS = _uint(hint="durations are whole milliseconds >= 0")
_SEED = _uint(hint="seeds are unsigned 64-bit integers")

FIELD_RULES: dict[str, _Rule] = {
    "scenario": _enum,
    "mode": _enum,
    "single_stream_expected_latency_ns": _LATENCY_NS,
    "single_stream_target_latency_percentile": _PERCENTILE,
    "multi_stream_expected_latency_ns": _LATENCY_NS,
    "multi_stream_target_latency_percentile": _PERCENTILE,
    "multi_stream_samples_per_query": _uint(1, hint="a MultiStream query holds at least 1 sample"),
    "server_target_qps": _POSITIVE_RATE,
    # 0 is what mlperf.conf sets for token models, whose bound is TTFT/TPOT instead.
    "server_target_latency_ns": _uint(hint="nanoseconds >= 0 (0: no end-to-end bound)"),
    "server_target_latency_percentile": _PERCENTILE,
    "server_coalesce_queries": _bool,
    "server_find_peak_qps_decimals_of_precision": _uint(maximum=INT32_MAX),
    "server_find_peak_qps_boundary_step_size": _real(
        low=0.0, high=math.inf, low_open=True, high_open=True
    ),
    "server_max_async_queries": _uint(hint="0 means unlimited"),
    "server_num_issue_query_threads": _COUNT,
    "offline_expected_qps": _POSITIVE_RATE,
    "sample_concatenate_permutation": _bool,
    "min_duration_ms": _DURATION_MS,
    "max_duration_ms": _uint(hint="whole milliseconds; 0 means unlimited"),
    "min_query_count": _COUNT,
    "max_query_count": _uint(hint="0 means unlimited"),
    "qsl_rng_seed": _SEED,
    "sample_index_rng_seed": _SEED,
    "schedule_rng_seed": _SEED,
    "accuracy_log_rng_seed": _SEED,
    "accuracy_log_probability": _real(
        low=0.0,
        high=1.0,
        low_open=False,
        high_open=False,
        hint="a probability is a fraction (config files give it in percent)",
    ),
    "accuracy_log_sampling_target": _COUNT,
    "test05": _bool,
    "test05_qsl_rng_seed": _SEED,
    "test05_sample_index_rng_seed": _SEED,
    "test05_schedule_rng_seed": _SEED,
    "print_timestamps": _bool,
    "performance_issue_unique": _bool,
    "performance_issue_same": _bool,
    "performance_issue_same_index": _COUNT,
    "performance_sample_count_override": _uint(hint="0 means 'use the QSL's own count'"),
    "accuracy_sample_count_override": _uint(hint="0 means 'use the QSL's total count'"),
    "use_token_latencies": _bool,
    "ttft_latency": _LATENCY_NS,
    "tpot_latency": _LATENCY_NS,
    "infer_token_latencies": _bool,
    "token_latency_scaling_factor": _uint(1, hint="tokens per sample, at least 1"),
    "sample_timeout_ms": _uint(hint="whole milliseconds; 0 disables the timeout"),
}


def check_field(field: str, value: object) -> None:
    """Raise :class:`SettingsError` if ``value`` is not allowed for ``field`` on its own."""
    rule = FIELD_RULES.get(field)
    if rule is None:
        raise SettingsError(f"TestSettings has no field {field!r}", field=field, value=value)
    rule(field, value)


def validate_test_settings(settings: TestSettings) -> None:
    """Raise :class:`mlpace.errors.SettingsError` naming the first field with a wrong value."""
    for name in settings.field_names():
        check_field(name, getattr(settings, name))
    s = settings
    if s.max_duration_ms != 0 and s.max_duration_ms < s.min_duration_ms:
        raise SettingsError(
            f"max_duration_ms ({s.max_duration_ms}) is below min_duration_ms "
            f"({s.min_duration_ms}); raise max_duration_ms, or set it to 0 for no limit",
            field="max_duration_ms",
            value=s.max_duration_ms,
        )
    if s.max_query_count != 0 and s.max_query_count < s.min_query_count:
        raise SettingsError(
            f"max_query_count ({s.max_query_count}) is below min_query_count "
            f"({s.min_query_count}); raise max_query_count, or set it to 0 for no limit",
            field="max_query_count",
            value=s.max_query_count,
        )
    if s.performance_issue_unique and s.performance_issue_same:
        raise SettingsError(
            "performance_issue_unique and performance_issue_same cannot both be True; "
            "set at most one of them",
            field="performance_issue_same",
            value=True,
        )


def normalized_values(settings: TestSettings) -> dict[str, object]:
    """Fields whose (already valid) value should be stored as a plain ``int`` or ``float``.

    Lets callers pass ``numpy`` scalars or an ``int`` for a rate while the frozen object always
    holds the official C++ types.
    """
    out: dict[str, object] = {}
    for name in settings.field_names():
        value = getattr(settings, name)
        if name in FLOAT_FIELDS:
            if type(value) is not float:
                out[name] = float(value)
        elif name not in BOOL_FIELDS and name not in ENUM_FIELDS and type(value) is not int:
            out[name] = int(value)
    return out
