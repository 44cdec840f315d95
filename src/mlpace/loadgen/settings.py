"""``TestSettings``: what the user asks for, with the official field names, defaults and units.

Every field of the official ``mlperf::TestSettings`` is here, spelled as the Python binding spells
it (durations in ms, latencies in ns, percentiles as fractions). It is frozen: derive a changed
copy with :func:`dataclasses.replace`. Values are checked on construction; a wrong one raises
:class:`mlpace.errors.SettingsError` naming the field. The normalised view the load generator
runs on is :class:`mlpace.loadgen.effective.EffectiveSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from mlpace.loadgen.enums import TestMode, TestScenario


@dataclass(frozen=True)
class TestSettings:
    __test__ = False  # not a pytest test class

    scenario: TestScenario = TestScenario.SingleStream
    mode: TestMode = TestMode.PerformanceOnly

    single_stream_expected_latency_ns: int = 1_000_000
    single_stream_target_latency_percentile: float = 0.90

    multi_stream_expected_latency_ns: int = 8_000_000
    multi_stream_target_latency_percentile: float = 0.99
    multi_stream_samples_per_query: int = 8

    server_target_qps: float = 1.0
    server_target_latency_ns: int = 100_000_000
    server_target_latency_percentile: float = 0.99
    server_coalesce_queries: bool = False
    server_find_peak_qps_decimals_of_precision: int = 1
    server_find_peak_qps_boundary_step_size: float = 1.0
    server_max_async_queries: int = 0
    server_num_issue_query_threads: int = 0

    offline_expected_qps: float = 1.0
    sample_concatenate_permutation: bool = False

    min_duration_ms: int = 10_000
    max_duration_ms: int = 0
    min_query_count: int = 100
    max_query_count: int = 0

    qsl_rng_seed: int = 0
    sample_index_rng_seed: int = 0
    schedule_rng_seed: int = 0
    accuracy_log_rng_seed: int = 0
    accuracy_log_probability: float = 0.0
    accuracy_log_sampling_target: int = 0

    test05: bool = False
    test05_qsl_rng_seed: int = 0
    test05_sample_index_rng_seed: int = 0
    test05_schedule_rng_seed: int = 0

    print_timestamps: bool = False
    performance_issue_unique: bool = False
    performance_issue_same: bool = False
    performance_issue_same_index: int = 0
    performance_sample_count_override: int = 0
    accuracy_sample_count_override: int = 0

    use_token_latencies: bool = False
    ttft_latency: int = 100_000_000
    tpot_latency: int = 100_000_000
    infer_token_latencies: bool = False
    # Uninitialised in the official C++; we default to 1 so inferred token metrics are defined.
    token_latency_scaling_factor: int = 1

    # --- mlpace extensions (not in the official struct) ---
    # How long the run waits with no completion at all before it gives up on the samples still
    # outstanding and names them. 0 (the default, as in the official LoadGen): wait as long as it
    # takes, because minutes to a first answer is legitimate (a big Offline batch, an LLM).
    sample_timeout_ms: int = 0

    def __post_init__(self) -> None:
        from mlpace.loadgen.validation import normalized_values, validate_test_settings

        validate_test_settings(self)
        # Store plain int/float even when given numpy scalars or an int for a rate.
        for name, value in normalized_values(self).items():
            object.__setattr__(self, name, value)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
