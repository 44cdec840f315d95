"""What each config-file key sets: its fields, units, scenarios and which files may hold it.

The table mirrors the order the official LoadGen looks keys up in; :mod:`mlpace.loadgen.config`
parses and applies files with it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ALL_FILES",
    "AUDIT_ONLY",
    "FILE_NAMES",
    "KEYS",
    "MLPERF_ONLY",
    "SCENARIOS",
    "UNREAD_KEYS",
    "VERIFIER_KEYS",
    "ConfType",
    "KeySpec",
    "Kind",
    "Use",
]


class ConfType(enum.IntEnum):
    """Which file a config is; the numbers are the official ``conf_type`` argument."""

    MLPERF = 0
    USER = 1
    AUDIT = 2


# --------------------------------------------------------------------------------------------
# What each key sets
# --------------------------------------------------------------------------------------------


class Kind(enum.Enum):
    UINT = "a whole number >= 0"
    BOOL = "0 or 1"
    MODE = "0 (submission), 1 (accuracy), 2 (performance) or 3 (find peak)"
    DOUBLE = "a number"
    PERCENT = "a number in percent"


@dataclass(frozen=True)
class Use:
    """One field a key sets, and the scenario name its lookup uses (None: the run's)."""

    field: str
    scenario: str | None
    kind: Kind
    int_scale: int = 1  # integer product, as the official uint64 lookup (ms -> ns)
    float_scale: float = 1.0  # double product (ms -> ns for the SS/MS latency hints)
    only_if: str | None = None  # a bool field that must already be true for the lookup


ALL_FILES = frozenset(ConfType)
MLPERF_ONLY = frozenset({ConfType.MLPERF})
AUDIT_ONLY = frozenset({ConfType.AUDIT})
# mlpace extension: the legacy TEST05 audit.config sets these; the official LoadGen reads them
# from mlperf.conf only (and silently ignores the audit.config lines).
MLPERF_OR_AUDIT = frozenset({ConfType.MLPERF, ConfType.AUDIT})
MS_TO_NS = 1_000_000


@dataclass(frozen=True)
class KeySpec:
    uses: tuple[Use, ...]
    files: frozenset[ConfType] = ALL_FILES
    unit: str = ""


def field_key(  # a key setting one field, looked up under the run's scenario
    field_name: str, kind: Kind, unit: str = "", files: frozenset[ConfType] = ALL_FILES
) -> KeySpec:
    return KeySpec((Use(field_name, None, kind),), files, unit)


# In the order the official FromConfig looks keys up: use_token_latencies before ttft/tpot and
# infer_token_latencies before the scaling factor matter, since those lookups depend on them.
KEYS: dict[str, KeySpec] = {
    "mode": field_key("mode", Kind.MODE),
    "qsl_rng_seed": field_key("qsl_rng_seed", Kind.UINT, files=MLPERF_ONLY),
    "sample_index_rng_seed": field_key("sample_index_rng_seed", Kind.UINT, files=MLPERF_ONLY),
    "schedule_rng_seed": field_key("schedule_rng_seed", Kind.UINT, files=MLPERF_ONLY),
    "accuracy_log_probability": field_key(
        "accuracy_log_probability", Kind.PERCENT, "percent", files=MLPERF_ONLY
    ),
    "test05": field_key("test05", Kind.BOOL, files=MLPERF_OR_AUDIT),
    "test05_qsl_rng_seed": field_key("test05_qsl_rng_seed", Kind.UINT, files=MLPERF_OR_AUDIT),
    "test05_sample_index_rng_seed": field_key(
        "test05_sample_index_rng_seed", Kind.UINT, files=MLPERF_OR_AUDIT
    ),
    "test05_schedule_rng_seed": field_key(
        "test05_schedule_rng_seed", Kind.UINT, files=MLPERF_OR_AUDIT
    ),
    "use_token_latencies": field_key("use_token_latencies", Kind.BOOL),
    "ttft_latency": KeySpec(
        (Use("ttft_latency", "Server", Kind.UINT, MS_TO_NS, only_if="use_token_latencies"),),
        unit="ms",
    ),
    "tpot_latency": KeySpec(
        (Use("tpot_latency", "Server", Kind.UINT, MS_TO_NS, only_if="use_token_latencies"),),
        unit="ms",
    ),
    "infer_token_latencies": field_key("infer_token_latencies", Kind.BOOL),
    "token_latency_scaling_factor": KeySpec(
        (
            Use(
                "token_latency_scaling_factor",
                None,
                Kind.UINT,
                only_if="infer_token_latencies",
            ),
        )
    ),
    "target_latency_percentile": KeySpec(
        (
            Use("single_stream_target_latency_percentile", "SingleStream", Kind.PERCENT),
            Use("multi_stream_target_latency_percentile", "MultiStream", Kind.PERCENT),
            Use("server_target_latency_percentile", "Server", Kind.PERCENT),
        ),
        unit="percent",
    ),
    "samples_per_query": KeySpec(
        (Use("multi_stream_samples_per_query", "MultiStream", Kind.UINT),)
    ),
    # SingleStream/MultiStream read it as a double, Server as an integer (fractions truncated).
    "target_latency": KeySpec(
        (
            Use(
                "single_stream_expected_latency_ns",
                "SingleStream",
                Kind.DOUBLE,
                float_scale=1e6,
            ),
            Use("multi_stream_expected_latency_ns", "MultiStream", Kind.DOUBLE, float_scale=1e6),
            Use("server_target_latency_ns", "Server", Kind.UINT, MS_TO_NS),
        ),
        unit="ms",
    ),
    "performance_issue_unique": field_key("performance_issue_unique", Kind.BOOL),
    "performance_issue_same": field_key("performance_issue_same", Kind.BOOL),
    "performance_issue_same_index": field_key("performance_issue_same_index", Kind.UINT),
    "sample_concatenate_permutation": field_key("sample_concatenate_permutation", Kind.BOOL),
    "coalesce_queries": KeySpec((Use("server_coalesce_queries", "Server", Kind.BOOL),)),
    "max_async_queries": KeySpec((Use("server_max_async_queries", "Server", Kind.UINT),)),
    "min_duration": field_key("min_duration_ms", Kind.UINT, "ms"),
    "max_duration": field_key("max_duration_ms", Kind.UINT, "ms"),
    "min_query_count": field_key("min_query_count", Kind.UINT),
    "max_query_count": field_key("max_query_count", Kind.UINT),
    "performance_sample_count_override": field_key("performance_sample_count_override", Kind.UINT),
    "accuracy_sample_count_override": field_key("accuracy_sample_count_override", Kind.UINT),
    "target_qps": KeySpec(
        (
            Use("server_target_qps", "Server", Kind.DOUBLE),
            Use("offline_expected_qps", "Offline", Kind.DOUBLE),
        ),
        unit="queries per second",
    ),
    "print_timestamps": field_key("print_timestamps", Kind.BOOL),
    "accuracy_log_rng_seed": field_key("accuracy_log_rng_seed", Kind.UINT),
    "accuracy_log_sampling_target": field_key("accuracy_log_sampling_target", Kind.UINT),
}

# Keys the LoadGen never reads but official files contain. target_duration is in the official
# mlperf.conf; the testNN_* keys in audit.config files are read by the compliance verify scripts.
UNREAD_KEYS: dict[str, KeySpec] = {
    "target_duration": KeySpec((), unit="ms"),
    "test07_accuracy_threshold": KeySpec((), AUDIT_ONLY),
    "test09_min_output_tokens": KeySpec((), AUDIT_ONLY),
    "test09_max_output_tokens": KeySpec((), AUDIT_ONLY),
}
VERIFIER_KEYS = frozenset(k for k in UNREAD_KEYS if k.startswith("test0"))

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
FILE_NAMES = {
    ConfType.MLPERF: "mlperf.conf",
    ConfType.USER: "user.conf",
    ConfType.AUDIT: "audit.config",
}

# --------------------------------------------------------------------------------------------
