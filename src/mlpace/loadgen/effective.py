"""From requested :class:`TestSettings` to the numbers a run actually uses.

:func:`effective_settings` applies the official normalisation (reference §5): test05, the
performance and accuracy sample counts, ``min_sample_count`` and the durations (converted to ns
here, once). What differs by scenario (the target QPS / latency / max-async table, the query size
and count rules such as Offline's big query and SingleStream's equal-issue rounding) comes from
the scenario's policy, which the result carries (``EffectiveSettings.policy``). It never raises
for a combination the official LoadGen merely logs; those become :class:`LogEvent` messages.
:func:`requested_log_items` and :func:`effective_log_items` give the detail-log key/value pairs in
the official order, with the official units and C++ value types (a ``double`` field is a float).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from mlpace.errors import SettingsError
from mlpace.loadgen.enums import TestMode, TestScenario
from mlpace.loadgen.raw import LogEvent
from mlpace.loadgen.scenarios import ScenarioPolicy, policy_for
from mlpace.loadgen.settings import TestSettings

__all__ = [
    "EffectiveSettings",
    "effective_log_items",
    "effective_settings",
    "requested_log_items",
]

_INVALID_SETTINGS = "error_invalid_test_settings"
_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class EffectiveSettings:
    """Every derived number of one run, fixed before it starts (see docs/architecture.md).

    Durations are held once, in nanoseconds (the issue path's unit); the ``*_ms`` properties
    convert them for the logs, which report milliseconds. ``policy`` is the scenario's rule set
    (:mod:`mlpace.loadgen.scenarios`), looked up once here so no later stage branches on the
    scenario name.
    """

    requested: TestSettings
    scenario: TestScenario
    mode: TestMode
    samples_per_query: int
    target_qps: float
    target_latency_ns: int
    target_latency_percentile: float
    max_async_queries: int
    min_query_count: int
    max_query_count: int
    min_sample_count: int
    qsl_rng_seed: int
    sample_index_rng_seed: int
    schedule_rng_seed: int
    accuracy_log_rng_seed: int
    accuracy_log_probability: float
    accuracy_log_sampling_target: int
    print_timestamps: bool
    performance_issue_unique: bool
    performance_issue_same: bool
    performance_issue_same_index: int
    # Capped at the QSL total (the sample pool the run really draws from); the detail log shows
    # the uncapped official values, see effective_log_items.
    performance_sample_count: int
    accuracy_sample_count: int
    sample_concatenate_permutation: bool
    use_token_latencies: bool
    ttft_latency_ns: int
    tpot_latency_ns: int
    infer_token_latencies: bool
    token_latency_scaling_factor: int
    qsl_total_sample_count: int
    qsl_performance_sample_count: int
    # 0 means "no limit" for max_duration and sample_timeout. target_duration is the duration
    # the run aims at (0 for Offline, which issues one query); generation_duration the span the
    # schedule is generated for.
    target_duration_ns: int
    min_duration_ns: int
    max_duration_ns: int
    sample_timeout_ns: int
    generation_duration_ns: int
    # Mean gap between arrivals (the schedule's unit): 1 s / target_qps.
    arrival_period_ns: float
    policy: ScenarioPolicy = field(repr=False, compare=False)
    messages: tuple[LogEvent, ...] = ()

    @property
    def target_duration_ms(self) -> int:
        return self.target_duration_ns // _NS_PER_MS

    @property
    def min_duration_ms(self) -> int:
        return self.min_duration_ns // _NS_PER_MS

    @property
    def max_duration_ms(self) -> int:
        return self.max_duration_ns // _NS_PER_MS

    @property
    def sample_timeout_ms(self) -> int:
        return self.sample_timeout_ns // _NS_PER_MS

    @property
    def official_performance_sample_count(self) -> int:
        """psc as the official LoadGen logs it: the override, else the QSL's count, uncapped."""
        return _official_psc(self.requested, self.qsl_performance_sample_count)

    @property
    def official_accuracy_sample_count(self) -> int:
        """asc as the official LoadGen logs it: the override, else the QSL total, uncapped."""
        override = self.requested.accuracy_sample_count_override
        return override if override != 0 else self.qsl_total_sample_count


def _official_psc(requested: TestSettings, qsl_performance_sample_count: int) -> int:
    override = requested.performance_sample_count_override
    return override if override != 0 else qsl_performance_sample_count


def _apply_test05(requested: TestSettings) -> TestSettings:
    """The settings the official run logs as "requested": test05 forces mode and seeds."""
    if not requested.test05:
        return requested
    return dataclasses.replace(
        requested,
        mode=TestMode.PerformanceOnly,
        qsl_rng_seed=requested.test05_qsl_rng_seed,
        sample_index_rng_seed=requested.test05_sample_index_rng_seed,
        schedule_rng_seed=requested.test05_schedule_rng_seed,
    )


def effective_settings(
    requested: TestSettings, *, total_sample_count: int, performance_sample_count: int
) -> EffectiveSettings:
    """Normalise ``requested`` for a QSL of ``total_sample_count`` samples, of which
    ``performance_sample_count`` fit in memory (both as the QSL reports them)."""
    for name, count in (
        ("total_sample_count", total_sample_count),
        ("performance_sample_count", performance_sample_count),
    ):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise SettingsError(
                f"the QSL must report at least 1 sample for {name}, got {count!r}; "
                "check the QuerySampleLibrary's counts",
                field=name,
                value=count,
            )
    messages: list[LogEvent] = []
    if requested.test05:
        messages.append(
            LogEvent(
                "warning_generic_message",
                "Test05 flag detected Overriding random seeds",
                is_error=False,
            )
        )
    s = _apply_test05(requested)
    scenario = s.scenario
    policy = policy_for(scenario)
    targets = policy.load_targets(s)
    psc = _official_psc(s, performance_sample_count)
    asc = s.accuracy_sample_count_override or total_sample_count
    # The one conversion of the requested duration into the unit every later stage uses.
    min_duration_ns = s.min_duration_ms * _NS_PER_MS
    sizing = policy.query_sizing(s, targets, min_duration_ns, psc, performance_sample_count)
    target_qps = targets.target_qps
    # A rate of 0 (only Offline's hint can be) still needs a finite gap between arrivals.
    arrival_period_ns = 1e9 / (target_qps if target_qps > 0 else 1.0)

    if s.performance_issue_same and s.performance_issue_same_index >= psc:
        messages.append(
            LogEvent(
                _INVALID_SETTINGS,
                "Sample Idx to be repeated in performance_issue_same mode cannot be greater "
                "than loaded performance_sample_count. performance_issue_same_index: "
                f"{s.performance_issue_same_index} performance_sample_count: {psc}",
                is_error=True,
            )
        )
    if s.performance_issue_unique and s.performance_issue_same:
        # Unreachable through TestSettings validation; kept so the official message exists.
        messages.append(
            LogEvent(
                _INVALID_SETTINGS,
                "Performance_issue_unique and performance_issue_same, both cannot be true at "
                "the same time. performance_issue_unique: 1 performance_issue_same: 1",
                is_error=True,
            )
        )

    return EffectiveSettings(
        requested=requested,
        scenario=scenario,
        mode=s.mode,
        samples_per_query=sizing.samples_per_query,
        target_qps=float(target_qps),
        target_latency_ns=targets.target_latency_ns,
        target_latency_percentile=float(targets.target_latency_percentile),
        max_async_queries=targets.max_async_queries,
        min_query_count=sizing.min_query_count,
        max_query_count=s.max_query_count,
        min_sample_count=sizing.min_query_count * sizing.samples_per_query,
        qsl_rng_seed=s.qsl_rng_seed,
        sample_index_rng_seed=s.sample_index_rng_seed,
        schedule_rng_seed=s.schedule_rng_seed,
        accuracy_log_rng_seed=s.accuracy_log_rng_seed,
        accuracy_log_probability=s.accuracy_log_probability,
        accuracy_log_sampling_target=s.accuracy_log_sampling_target,
        print_timestamps=s.print_timestamps,
        performance_issue_unique=s.performance_issue_unique,
        performance_issue_same=s.performance_issue_same,
        performance_issue_same_index=s.performance_issue_same_index,
        performance_sample_count=min(psc, total_sample_count),
        accuracy_sample_count=min(asc, total_sample_count),
        sample_concatenate_permutation=s.sample_concatenate_permutation,
        use_token_latencies=s.use_token_latencies,
        ttft_latency_ns=s.ttft_latency,
        tpot_latency_ns=s.tpot_latency,
        infer_token_latencies=s.infer_token_latencies,
        token_latency_scaling_factor=s.token_latency_scaling_factor,
        qsl_total_sample_count=total_sample_count,
        qsl_performance_sample_count=performance_sample_count,
        target_duration_ns=sizing.target_duration_ns,
        min_duration_ns=min_duration_ns,
        max_duration_ns=s.max_duration_ms * _NS_PER_MS,
        sample_timeout_ns=s.sample_timeout_ms * _NS_PER_MS,
        generation_duration_ns=policy.generation_duration_ns(sizing.target_duration_ns),
        arrival_period_ns=arrival_period_ns,
        policy=policy,
        messages=tuple(messages),
    )


def requested_log_items(requested: TestSettings) -> list[tuple[str, object]]:
    """The ``requested_*`` detail-log pairs, in official order (§12.2 items 4 and 5).

    As in the official run, test05 has already replaced the mode and seeds in what is logged
    as "requested". Doubles of the official struct come back as floats (the expected latencies
    included), integers as ints, enums as their official names.
    """
    s = _apply_test05(requested)
    items: list[tuple[str, object]] = [
        ("requested_scenario", s.scenario.value),
        ("requested_test_mode", s.mode.value),
    ]
    policy = policy_for(s.scenario)
    items += policy.requested_log_items(s)
    items += [
        ("requested_min_duration_ms", s.min_duration_ms),
        ("requested_max_duration_ms", s.max_duration_ms),
        ("requested_min_query_count", s.min_query_count),
        ("requested_max_query_count", s.max_query_count),
        ("requested_qsl_rng_seed", s.qsl_rng_seed),
        ("requested_sample_index_rng_seed", s.sample_index_rng_seed),
        ("requested_schedule_rng_seed", s.schedule_rng_seed),
        ("requested_accuracy_log_rng_seed", s.accuracy_log_rng_seed),
        ("requested_accuracy_log_probability", s.accuracy_log_probability),
        ("requested_accuracy_log_sampling_target", s.accuracy_log_sampling_target),
        ("requested_print_timestamps", s.print_timestamps),
        ("requested_performance_issue_unique", s.performance_issue_unique),
        ("requested_performance_issue_same", s.performance_issue_same),
        ("requested_performance_issue_same_index", s.performance_issue_same_index),
        ("requested_performance_sample_count_override", s.performance_sample_count_override),
        ("requested_accuracy_sample_count_override", s.accuracy_sample_count_override),
        ("requested_sample_concatenate_permutation", s.sample_concatenate_permutation),
    ]
    if s.use_token_latencies:
        items.append(("requested_use_token_latencies", True))
        if policy.measures_first_token:
            items += [
                ("requested_server_ttft_latency", s.ttft_latency),
                ("requested_server_tpot_latency", s.tpot_latency),
            ]
    return items


def effective_log_items(eff: EffectiveSettings) -> list[tuple[str, object]]:
    """The ``effective_*`` detail-log pairs, in official order (§12.2 item 6).

    Sample counts are the official (uncapped) values, so the log matches the official one even
    when an override exceeds the QSL's total.
    """
    return [
        ("effective_scenario", eff.scenario.value),
        ("effective_test_mode", eff.mode.value),
        ("effective_samples_per_query", eff.samples_per_query),
        ("effective_target_qps", eff.target_qps),
        ("effective_target_latency_ns", eff.target_latency_ns),
        ("effective_target_latency_percentile", eff.target_latency_percentile),
        ("effective_max_async_queries", eff.max_async_queries),
        ("effective_target_duration_ms", eff.target_duration_ms),
        ("effective_min_duration_ms", eff.min_duration_ms),
        ("effective_max_duration_ms", eff.max_duration_ms),
        ("effective_min_query_count", eff.min_query_count),
        ("effective_max_query_count", eff.max_query_count),
        ("effective_min_sample_count", eff.min_sample_count),
        ("effective_qsl_rng_seed", eff.qsl_rng_seed),
        ("effective_sample_index_rng_seed", eff.sample_index_rng_seed),
        ("effective_schedule_rng_seed", eff.schedule_rng_seed),
        ("effective_accuracy_log_rng_seed", eff.accuracy_log_rng_seed),
        ("effective_accuracy_log_probability", eff.accuracy_log_probability),
        ("effective_accuracy_log_sampling_target", eff.accuracy_log_sampling_target),
        ("effective_print_timestamps", eff.print_timestamps),
        ("effective_performance_issue_unique", eff.performance_issue_unique),
        ("effective_performance_issue_same", eff.performance_issue_same),
        ("effective_performance_issue_same_index", eff.performance_issue_same_index),
        ("effective_performance_sample_count", eff.official_performance_sample_count),
        ("effective_accuracy_sample_count", eff.official_accuracy_sample_count),
        ("effective_sample_concatenate_permutation", eff.sample_concatenate_permutation),
    ]
