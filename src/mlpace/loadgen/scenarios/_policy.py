"""What a scenario decides, as one interface: :class:`ScenarioPolicy`.

Each scenario module (single_stream, multi_stream, server, offline) holds, below its issue loop,
a policy object with the scenario's whole rule set: how the requested settings become effective
ones, how queries are laid out and when they arrive, which latency base, throughput, early
stopping and validity checks its result has, and which lines its summary and detail log carry.
:func:`mlpace.loadgen.scenarios.policy_for` looks one up once (when the effective settings are
fixed, which carry it); the shared stages (effective.py, schedule.py, results.py, logs/) only
call it and never branch on the scenario name.

:class:`SharedPolicy` holds the rules that most scenarios have in common; a scenario overrides
what it does differently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.schedule import I64, SampleSet, constant_arrivals, shuffled_passes

if TYPE_CHECKING:
    from mlpace.loadgen.early_stopping import EarlyStoppingResult
    from mlpace.loadgen.effective import EffectiveSettings
    from mlpace.loadgen.raw import RawRun
    from mlpace.loadgen.results import Measured, RunResult, ScenarioRates, ValidityCheck
    from mlpace.loadgen.scenarios.base import Scenario
    from mlpace.loadgen.scenarios.server import PeakSearchHost
    from mlpace.loadgen.settings import TestSettings
    from mlpace.loadgen.stats import LatencyStats
    from mlpace.loadgen.tokens import TokenMetrics

__all__ = ["LoadTargets", "QuerySizing", "ScenarioPolicy", "SharedPolicy"]

_NS_PER_S = 1_000_000_000


class LoadTargets(NamedTuple):
    """The official per-scenario table: rate, latency bound, percentile, outstanding queries."""

    target_qps: float
    target_latency_ns: int
    target_latency_percentile: float
    max_async_queries: int


class QuerySizing(NamedTuple):
    """Query size, minimum query count and target duration after the scenario's rules."""

    samples_per_query: int
    min_query_count: int
    target_duration_ns: int


class ScenarioPolicy(Protocol):
    """One scenario's rules; see the module docstring. Implementations are stateless."""

    scenario: TestScenario
    # False where there is no first token to measure (Offline answers in one piece).
    measures_first_token: bool
    # Whether a query's samples are a contiguous run of the loaded set (the set is then padded).
    contiguous_queries: bool
    # Whether this scenario has an early-stopping estimate (and its summary block).
    uses_early_stopping: bool
    # Whether the trace has a per-sample "Latency" counter (issue delay, issue to done).
    trace_latency_counter: bool
    min_duration_advice: str

    # ---- issue loop and FindPeakPerformance
    def issuer(self) -> Scenario: ...
    def supports_find_peak(self) -> bool: ...
    def find_peak(
        self, host: PeakSearchHost, effective: EffectiveSettings
    ) -> tuple[Any, float | None, tuple[tuple[float, bool], ...]]: ...

    # ---- effective settings
    def load_targets(self, s: TestSettings) -> LoadTargets: ...
    def query_sizing(
        self,
        s: TestSettings,
        targets: LoadTargets,
        min_duration_ns: int,
        psc: int,
        qsl_performance_count: int,
    ) -> QuerySizing: ...
    def generation_duration_ns(self, target_duration_ns: int) -> int: ...
    def expected_sample_count(self, effective: EffectiveSettings) -> float: ...
    def requested_log_items(self, s: TestSettings) -> list[tuple[str, object]]: ...

    # ---- schedule
    def arrivals(
        self,
        rng: np.random.RandomState,
        period_ns: float,
        gen_duration_ns: int,
        min_queries: int,
        multiple: int,
    ) -> I64: ...
    def accuracy_queries(
        self, sample_set: SampleSet, rng: np.random.RandomState, spq: int
    ) -> tuple[I64, I64 | None]: ...
    def performance_query_bounds(
        self, effective: EffectiveSettings, size: int, spq: int, equal_issue: bool
    ) -> tuple[int, int, int]:
        """(minimum queries, query-count multiple, generation duration ns) of a performance
        pass over a loaded set of ``size`` samples."""
        ...

    def performance_queries(
        self,
        effective: EffectiveSettings,
        sample_set: SampleSet,
        rng: np.random.RandomState,
        n: int,
        spq: int,
        equal_issue: bool,
    ) -> tuple[I64, I64 | None]:
        """Sample indices of ``n`` performance queries and their lengths (None: ``spq`` each)."""
        ...

    # ---- results
    def latency_base_ns(self, raw: RawRun) -> I64: ...
    def query_latency(
        self, raw: RawRun, query_done_ns: I64, percentile: float
    ) -> tuple[LatencyStats | None, I64]: ...
    def rates(self, m: Measured, effective: EffectiveSettings) -> ScenarioRates: ...
    def early_stopping(
        self, values_sorted: I64, threshold_ns: int, m: Measured
    ) -> EarlyStoppingResult: ...
    def early_stopping_latencies(self, es: EarlyStoppingResult) -> tuple[int | None, int | None]:
        """The (SingleStream, MultiStream) estimates a passed result stores (None: unchanged)."""
        ...

    def performance_check(
        self, m: Measured, effective: EffectiveSettings, tokens: TokenMetrics | None
    ) -> ValidityCheck | None: ...
    def duration_ns(self, m: Measured) -> int:
        """The run's duration as the min-duration check measures it."""
        ...

    def primary_metric(
        self,
        m: Measured,
        rates: ScenarioRates,
        tokens: TokenMetrics | None,
        es_latencies: tuple[int, int],
    ) -> tuple[str, str, float, str]:
        """The primary metric: (name, detail-log key, value, unit)."""
        ...

    # ---- logs
    def summary_result_lines(self, r: RunResult, tokens: TokenMetrics | None) -> list[str]: ...
    def summary_stats_lines(self, r: RunResult) -> list[str]: ...
    def summary_token_lines(self, r: RunResult, tokens: TokenMetrics) -> list[str]: ...
    def detail_result_items(self, r: RunResult) -> list[tuple[str, object]]: ...


class SharedPolicy:
    """Rules most scenarios share (one sample per query, constant arrivals, no peak search)."""

    scenario: TestScenario
    measures_first_token = True
    contiguous_queries = False
    uses_early_stopping = True
    trace_latency_counter = False
    min_duration_advice = ""

    def supports_find_peak(self) -> bool:
        return False

    def find_peak(
        self, host: PeakSearchHost, effective: EffectiveSettings
    ) -> tuple[Any, float | None, tuple[tuple[float, bool], ...]]:
        raise NotImplementedError(f"no FindPeakPerformance for {self.scenario.value}")

    # ---- effective settings
    def query_sizing(
        self,
        s: TestSettings,
        targets: LoadTargets,
        min_duration_ns: int,
        psc: int,
        qsl_performance_count: int,
    ) -> QuerySizing:
        return QuerySizing(1, s.min_query_count, min_duration_ns)

    def generation_duration_ns(self, target_duration_ns: int) -> int:
        # Twice the target, so a SUT up to twice as fast as its hint still has queries.
        return 2 * target_duration_ns

    def expected_sample_count(self, effective: EffectiveSettings) -> float:
        spq = int(effective.samples_per_query)
        return max(
            float(effective.target_qps) * (effective.min_duration_ns / _NS_PER_S) * spq,
            float(int(effective.min_query_count) * spq),
        )

    # ---- schedule
    def arrivals(
        self,
        rng: np.random.RandomState,
        period_ns: float,
        gen_duration_ns: int,
        min_queries: int,
        multiple: int,
    ) -> I64:
        return constant_arrivals(period_ns, gen_duration_ns, min_queries, multiple)

    def accuracy_queries(
        self, sample_set: SampleSet, rng: np.random.RandomState, spq: int
    ) -> tuple[I64, I64 | None]:
        size = int(sample_set.distribution_end)
        return sample_set.real[rng.permutation(size)], None

    def performance_query_bounds(
        self, effective: EffectiveSettings, size: int, spq: int, equal_issue: bool
    ) -> tuple[int, int, int]:
        """(minimum queries, query-count multiple, generation duration) of a performance pass."""
        if effective.performance_issue_unique:
            return max(1, size // spq), 0, 0
        multiple = size if equal_issue else 0
        return int(effective.min_query_count), multiple, effective.generation_duration_ns

    def performance_queries(
        self,
        effective: EffectiveSettings,
        sample_set: SampleSet,
        rng: np.random.RandomState,
        n: int,
        spq: int,
        equal_issue: bool,
    ) -> tuple[I64, I64 | None]:
        real = sample_set.real
        size = int(sample_set.distribution_end)
        if effective.performance_issue_unique:
            return real[rng.permutation(size)][: n * spq], None
        if equal_issue:
            return shuffled_passes(rng, real, n * spq), None
        return self.random_queries(sample_set, rng, n, spq), None

    def random_queries(
        self, sample_set: SampleSet, rng: np.random.RandomState, n: int, spq: int
    ) -> I64:
        """``n`` queries of ``spq`` samples drawn uniformly (with replacement)."""
        size = int(sample_set.distribution_end)
        picked: I64 = sample_set.real[rng.randint(0, size, size=n * spq).astype(np.int64)]
        return picked

    # ---- results
    def latency_base_ns(self, raw: RawRun) -> I64:
        return raw.issued_ns

    def query_latency(
        self, raw: RawRun, query_done_ns: I64, percentile: float
    ) -> tuple[LatencyStats | None, I64]:
        return None, np.zeros(0, dtype=np.int64)

    def early_stopping_latencies(self, es: EarlyStoppingResult) -> tuple[int | None, int | None]:
        return None, None

    def performance_check(
        self, m: Measured, effective: EffectiveSettings, tokens: TokenMetrics | None
    ) -> ValidityCheck | None:
        return None

    def duration_ns(self, m: Measured) -> int:
        return m.final_query_issued_ns

    def summary_token_lines(self, r: RunResult, tokens: TokenMetrics) -> list[str]:
        return []
