"""``LogSession``: the four official log files of one ``run_test`` call.

Opens the output directory and files at once, streams the detail log (flushed per line) and the
accuracy log (flushed in batches) during the run, and at the end writes the result keys, the
summary and the trace. ``close()`` is idempotent and safe after a crash: call it in ``finally``.
"""

from __future__ import annotations

import os
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import mlpace
from mlpace.loadgen.log_settings import LogSettings
from mlpace.loadgen.logs.accuracy import AccuracyLog
from mlpace.loadgen.logs.detail import DetailLog
from mlpace.loadgen.logs.summary import format_summary
from mlpace.loadgen.logs.trace import write_trace
from mlpace.loadgen.raw import RawRun
from mlpace.loadgen.results import IssueLagStats, RunResult
from mlpace.loadgen.stats import percentile_label

if TYPE_CHECKING:
    from mlpace.loadgen.effective import EffectiveSettings
    from mlpace.loadgen.scenarios import ScenarioPolicy
    from mlpace.loadgen.settings import TestSettings

# The official LoadGen logs these contention counters after every pass; ours are always 0.
LOGGER_COUNTER_KEYS = (
    "logger_swap_request_slots_retry_count",
    "logger_swap_request_slots_retry_retry_count",
    "logger_swap_request_slots_retry_reencounter_count",
    "logger_start_reading_entries_retry_count",
    "logger_tls_total_log_cas_fail_count",
    "logger_tls_total_swap_buffers_slot_retry_count",
)


def power_time(wall_ns: int) -> str:
    """UTC ``MM-DD-YYYY HH:MM:SS.mmm`` as ``power_begin``/``power_end`` use."""
    seconds, rest_ns = divmod(int(wall_ns), 1_000_000_000)
    return time.strftime("%m-%d-%Y %H:%M:%S", time.gmtime(seconds)) + f".{rest_ns // 1_000_000:03d}"


def test_datetime(wall_ns: int) -> str:
    """Local time with a literal ``Z``, exactly like the official ``test_datetime``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.localtime(wall_ns // 1_000_000_000))


test_datetime.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def result_items(result: RunResult, policy: ScenarioPolicy) -> list[tuple[str, object]]:
    """The ``result_*`` detail keys of a performance pass, in official order (§12.2 9-11);
    ``policy`` (the scenario's) gives its own keys."""
    r = result
    tok = r.tokens if r.use_token_latencies else None
    items: list[tuple[str, object]] = [("result_validity", "VALID" if r.valid else "INVALID")]
    if r.has_check("perf_constraints"):
        items.append(("result_perf_constraints_met", r.passed("perf_constraints")))
    items += [
        ("result_min_duration_met", r.passed("min_duration")),
        ("result_min_queries_met", r.passed("min_queries")),
        ("early_stopping_met", r.passed("early_stopping")),
    ]
    if not r.valid:
        items.append(("result_invalid_reason", r.invalid_reason))
    if tok is None:
        items.append(
            ("early_stopping_result", r.early_stopping.detail_text if r.early_stopping else "")
        )
    else:
        items += [
            (
                "early_stopping_ttft_result",
                r.early_stopping_ttft.detail_text if r.early_stopping_ttft else "",
            ),
            (
                "early_stopping_tpot_result",
                r.early_stopping_tpot.detail_text if r.early_stopping_tpot else "",
            ),
        ]
    items.append(("result_query_count", r.queries_issued))
    items += policy.detail_result_items(r)
    lat = r.latency
    items += [
        ("result_min_latency_ns", lat.min_ns),
        ("result_max_latency_ns", lat.max_ns),
        ("result_mean_latency_ns", lat.mean_ns),
    ]
    items += [
        (f"result_{percentile_label(p)}_percentile_latency_ns", v) for p, v in lat.percentiles_ns
    ]
    if tok is not None:
        if policy.measures_first_token:
            t = tok.ttft
            items += [
                ("result_first_token_min_latency_ns", t.min_ns),
                ("result_first_token_max_latency_ns", t.max_ns),
                ("result_first_token_mean_latency_ns", t.mean_ns),
            ]
            items += [
                (f"result_first_token_{percentile_label(p)}_percentile_latency_ns", v)
                for p, v in t.percentiles_ns
            ]
            items += [
                ("result_token_throughput_with_loadgen_overhead", tok.tps_with_loadgen_overhead),
                ("result_token_throughput", tok.token_throughput_as_logged),
            ]
            items += [
                (f"result_time_per_output_token_{percentile_label(p)}_percentile_ns", v)
                for p, v in tok.tpot.percentiles_ns
            ]
            items += [
                ("result_time_to_output_token_min", tok.tpot.min_ns),
                ("result_time_to_output_token_max", tok.tpot.max_ns),
                ("result_time_to_output_token_mean", tok.tpot.mean_ns),
                ("result_completed_tokens_per_second", tok.completed_tokens_per_second),
            ]
        else:
            items.append(("result_tokens_per_second", tok.tokens_per_second))
    if r.inferred_completed_tokens_per_second is not None:
        items.append(
            ("result_inferred_completed_tokens_per_second", r.inferred_completed_tokens_per_second)
        )
    if r.inferred_tokens_per_second is not None:
        items.append(("result_inferred_tokens_per_second", r.inferred_tokens_per_second))
    return items


def mlpace_result_items(result: RunResult) -> list[tuple[str, object]]:
    """mlpace's extra detail keys (official parsers ignore unknown keys)."""
    items: list[tuple[str, object]] = [
        ("mlpace_incomplete_samples", result.incomplete_samples),
        ("mlpace_unknown_id_responses", result.unknown_id_responses),
        ("mlpace_duplicate_responses", result.duplicate_responses),
    ]
    if result.use_token_latencies:
        items.append(("mlpace_token_error_count", result.token_error_count))
    if result.interrupted:
        items.append(("mlpace_interrupt_reason", result.interrupt_reason))
    for c in result.checks:
        if not c.passed:
            items.append((f"mlpace_check_failed_{c.name}", c.advice))
    return items


class LogSession:
    """The open log files of one test; see the module docstring."""

    def __init__(
        self,
        log_settings: LogSettings,
        *,
        now_ns: Callable[[], int],
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.log_settings = log_settings
        self._now_ns = now_ns
        self._wall_ns = wall_ns
        self._start_wall_ns = wall_ns()
        out = log_settings.log_output
        tag = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self._start_wall_ns // 10**9))
        kinds = ["summary", "detail", "accuracy"] + (["trace"] if log_settings.enable_trace else [])
        self.paths: dict[str, Path] = {k: out.path(k, tag) for k in kinds}
        Path(out.outdir).mkdir(parents=True, exist_ok=True)
        self._closed = False
        self._finished = False
        # Passes already closed, by identity: an id() could be reused by a later pass once an
        # earlier probe's record is freed (FindPeakPerformance), so keep weak references.
        self._passes_ended: list[weakref.ref[RawRun]] = []
        self.detail = DetailLog(
            self.paths["detail"], now_ns=now_ns, copy_to_stdout=out.copy_detail_to_stdout
        )
        self.accuracy = AccuracyLog(self.paths["accuracy"])
        self._summary: IO[str] | None = open(  # noqa: SIM115 - closed in close()
            self.paths["summary"], "w", encoding="utf-8"
        )

    # ------------------------------------------------------------------ events
    def event(self, key: str, value: object) -> None:
        self.detail.event(key, value)

    def message(self, text: str) -> None:
        self.detail.event("generic_message", text)

    def error(self, key: str, text: str) -> None:
        self.detail.event(key, text, is_error=True)

    def warning(self, text: str, key: str = "warning_generic_message") -> None:
        self.detail.event(key, text, is_warning=True)

    def header(
        self,
        sut_name: str,
        qsl_name: str,
        qsl_total: int,
        qsl_perf: int,
        *,
        sut_name_duration_ns: int = 0,
    ) -> None:
        """The first keys: version, date, SUT and QSL (§12.2 items 1-3)."""
        self.event("loadgen_version", f"mlpace {mlpace.__version__}")
        self.event("test_datetime", test_datetime(self._start_wall_ns))
        self.event("sut_name", sut_name)
        self.event("get_sut_name_duration_ns", int(sut_name_duration_ns))
        self.event("qsl_name", qsl_name)
        self.event("qsl_reported_total_count", int(qsl_total))
        self.event("qsl_reported_performance_count", int(qsl_perf))

    def settings(self, requested: TestSettings, effective: EffectiveSettings) -> None:
        """Settings errors/warnings, then the requested_* and effective_* keys (items 4-6)."""
        from mlpace.loadgen.effective import effective_log_items, requested_log_items

        for m in effective.messages:
            if m.is_error:
                self.error(m.key, m.message)
            else:
                self.warning(m.message, key=m.key)
        for key, value in requested_log_items(requested):
            self.event(key, value)
        for key, value in effective_log_items(effective):
            self.event(key, value)

    def issue_lag(self, lag: IssueLagStats) -> None:
        """mlpace's issue-lag keys."""
        self.event("mlpace_issue_lag_p50_ns", lag.p50_ns)
        self.event("mlpace_issue_lag_p99_ns", lag.p99_ns)
        self.event("mlpace_issue_lag_max_ns", lag.max_ns)
        self.event("mlpace_issue_lag_dominates_latency", lag.dominates_latency)

    def end_pass(self, raw: RawRun) -> None:
        """Contention counters and power_begin/power_end after a pass (once per pass)."""
        if any(ended() is raw for ended in self._passes_ended):
            return
        self._passes_ended.append(weakref.ref(raw))
        for key in LOGGER_COUNTER_KEYS:
            self.event(key, 0)
        done = raw.completed_ns[raw.completed_ns >= 0]
        # Official: power_end = start + (last completion - start); fall back to the window end.
        end_wall = raw.start_wall_ns + int(done.max()) if done.size else raw.end_wall_ns
        self.event("power_begin", power_time(raw.start_wall_ns))
        self.event("power_end", power_time(end_wall))

    # ------------------------------------------------------------------ the end
    def finish(
        self, raw: RawRun, result: RunResult, effective: EffectiveSettings, *, sut_name: str
    ) -> str:
        """Result keys, num_errors, summary and trace; returns the summary text."""
        self.end_pass(raw)
        if result.has_metrics:
            for key, value in result_items(result, effective.policy):
                self.event(key, value)
            self.event("num_errors", self.detail.error_count)
            self.issue_lag(result.issue_lag)
        for key, value in mlpace_result_items(result):
            self.event(key, value)
        self.accuracy.close()
        text = format_summary(
            result,
            effective,
            sut_name=sut_name,
            warnings=self.detail.warning_count,
            errors=self.detail.error_count,
        )
        if self._summary is not None:
            self._summary.write(text)
            self._summary.flush()
        if self.log_settings.log_output.copy_summary_to_stdout:
            sys.stdout.write(text)
            sys.stdout.flush()
        if "trace" in self.paths:
            write_trace(
                self.paths["trace"],
                raw,
                effective.policy,
                origin_wall_ns=raw.start_wall_ns,
                pid=os.getpid(),
            )
        self._finished = True
        return text

    def close(self) -> None:
        """Close every file (idempotent; after a crash the logs stay readable)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.accuracy.close()
            self.detail.close()
        finally:
            if self._summary is not None:
                self._summary.close()
                self._summary = None

    def __enter__(self) -> LogSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LogSession", "power_time", "result_items", "test_datetime"]
