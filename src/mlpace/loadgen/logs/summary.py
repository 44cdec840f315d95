"""The summary, ``mlperf_log_summary.txt``, in the official layout (reference §12.1).

What every scenario's summary shares is here; each scenario's own lines (its headline metric,
its additional stats) come from its policy (``effective.policy``). The official part is
reproduced line for line (labels, padding, number formats: ``fixed`` for
rates, ``%g`` for raw doubles, 0/1 for booleans). mlpace's own lines (issue lag, the warning
when the load generator rather than the SUT dominates latency, incomplete samples, the reason
of an interrupt) follow in a separate, clearly titled block after the official trailer, where
no official parser looks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpace.loadgen.logs.formatting import fixed, general, summary_value
from mlpace.loadgen.results import ADVICE_MIN_QUERIES_SUMMARY, LAG_DOMINANCE_FRACTION, RunResult
from mlpace.loadgen.stats import LatencyStats, percentile_label

if TYPE_CHECKING:
    from mlpace.loadgen.effective import EffectiveSettings
    from mlpace.loadgen.tokens import TokenMetrics

RULE = "================================================"
MLPACE_TITLE = "mlpace Additional Stats (not part of the official summary)"


def _yes(ok: bool) -> str:
    return "Yes" if ok else "NO"


def stats_lines(stats: LatencyStats) -> list[str]:
    """Min/Max/Mean and the percentile list with the official padding."""
    return [
        f"Min latency (ns)                : {stats.min_ns}",
        f"Max latency (ns)                : {stats.max_ns}",
        f"Mean latency (ns)               : {stats.mean_ns}",
    ] + [f"{percentile_label(p)} percentile latency (ns)   : {v}" for p, v in stats.percentiles_ns]


def trailer(warnings: int, errors: int) -> str:
    """The official warning/error count lines (each preceded by an empty line)."""
    if warnings == 0:
        w = "No warnings encountered during test."
    elif warnings == 1:
        w = "1 warning encountered. See detailed log."
    else:
        w = f"{warnings} warnings encountered. See detailed log."
    if errors == 0:
        e = "No errors encountered during test."
    elif errors == 1:
        e = "1 ERROR encountered. See detailed log."
    else:
        e = f"{errors} ERRORS encountered. See detailed log."
    return f"\n{w}\n\n{e}\n"


def _parameters(eff: EffectiveSettings) -> list[str]:
    lines = [
        f"samples_per_query : {eff.samples_per_query}",
        f"target_qps : {general(eff.target_qps)}",
    ]
    if eff.use_token_latencies:
        lines += [
            f"ttft_latency (ns): {eff.ttft_latency_ns}",
            f"tpot_latency (ns): {eff.tpot_latency_ns}",
        ]
    else:
        lines.append(f"target_latency (ns): {eff.target_latency_ns}")
    values: list[tuple[str, object]] = [
        ("max_async_queries : ", eff.max_async_queries),
        ("min_duration (ms): ", eff.min_duration_ms),
        ("max_duration (ms): ", eff.max_duration_ms),
        ("min_query_count : ", eff.min_query_count),
        ("max_query_count : ", eff.max_query_count),
        ("qsl_rng_seed : ", eff.qsl_rng_seed),
        ("sample_index_rng_seed : ", eff.sample_index_rng_seed),
        ("schedule_rng_seed : ", eff.schedule_rng_seed),
        ("accuracy_log_rng_seed : ", eff.accuracy_log_rng_seed),
        ("accuracy_log_probability : ", float(eff.accuracy_log_probability)),
        ("accuracy_log_sampling_target : ", eff.accuracy_log_sampling_target),
        ("print_timestamps : ", bool(eff.print_timestamps)),
        ("performance_issue_unique : ", bool(eff.performance_issue_unique)),
        ("performance_issue_same : ", bool(eff.performance_issue_same)),
        ("performance_issue_same_index : ", eff.performance_issue_same_index),
        ("performance_sample_count : ", eff.official_performance_sample_count),
        ("accuracy_sample_count : ", eff.official_accuracy_sample_count),
    ]
    lines += [label + summary_value(v) for label, v in values]
    if eff.sample_concatenate_permutation:
        lines.append(
            "WARNING: sample_concatenate_permutation was set to true. \n"
            "Generated samples per query might be different as the one in the setting.\n"
            "Check the generated_samples_per_query line in the detailed log for the real\n"
            "samples_per_query value"
        )
    return lines


def _token_stats_lines(tok: TokenMetrics) -> list[str]:
    """First-token and time-per-output-token statistics (scenarios with a first token)."""
    t = tok.ttft
    lines = [
        f"Min First Token latency (ns)                : {t.min_ns}",
        f"Max First Token latency (ns)                : {t.max_ns}",
        f"Mean First Token latency (ns)               : {t.mean_ns}",
    ]
    lines += [
        f"{percentile_label(p)} percentile first token latency (ns)   : {v}"
        for p, v in t.percentiles_ns
    ]
    lines.append("")
    t = tok.tpot
    lines += [
        f"Min Time per Output Token (ns)                : {t.min_ns}",
        f"Max Time per Output Token (ns)                : {t.max_ns}",
        f"Mean Time per Output Token (ns)               : {t.mean_ns}",
    ]
    lines += [
        f"{percentile_label(p)} percentile time to output token (ns)   : {v}"
        for p, v in t.percentiles_ns
    ]
    return lines


def _verdict_lines(r: RunResult) -> list[str]:
    """``Result is`` with each official check and, when INVALID, the recommendations."""
    lines = [f"Result is : {'VALID' if r.valid else 'INVALID'}"]
    if r.has_check("perf_constraints"):
        lines.append(f"  Performance constraints satisfied : {_yes(r.passed('perf_constraints'))}")
    lines.append(f"  Min duration satisfied : {_yes(r.passed('min_duration'))}")
    lines.append(f"  Min queries satisfied : {_yes(r.passed('min_queries'))}")
    lines.append(f"  Early stopping satisfied: {_yes(r.passed('early_stopping'))}")
    if not r.valid:
        lines.append("Recommendations:")
        if not r.passed("perf_constraints"):
            lines.append(" * " + r.check("perf_constraints").advice)
        if not r.passed("min_duration"):
            lines.append(" * " + r.check("min_duration").advice)
        if not r.passed("min_queries"):
            lines.append(" * " + ADVICE_MIN_QUERIES_SUMMARY)
        for c in r.extension_failures:  # mlpace: why an otherwise valid run is INVALID
            lines.append(" * " + c.advice)
    return lines


def _early_stopping_lines(r: RunResult, tok: TokenMetrics | None) -> list[str]:
    if tok is None:
        return ["Early Stopping Result:", r.early_stopping.text if r.early_stopping else ""]
    return [
        "TTFT Early Stopping Result:",
        r.early_stopping_ttft.text if r.early_stopping_ttft else "",
        "TPOT Early Stopping Result:",
        r.early_stopping_tpot.text if r.early_stopping_tpot else "",
    ]


def _official_body(r: RunResult, eff: EffectiveSettings, sut_name: str) -> list[str]:
    policy = eff.policy
    tok = r.tokens if r.use_token_latencies else None
    lines = [RULE, "MLPerf Results Summary", RULE]
    lines += [f"SUT name : {sut_name}", f"Scenario : {r.scenario.value}"]
    lines.append(f"Mode     : {eff.mode.value}")
    lines += policy.summary_result_lines(r, tok)
    if r.inferred_tokens_per_second is not None:
        lines.append(f"Tokens per second (inferred): {general(r.inferred_tokens_per_second)}")
    if r.inferred_completed_tokens_per_second is not None:
        lines.append(
            "Completed tokens per second (inferred): "
            f"{fixed(r.inferred_completed_tokens_per_second)}"
        )
    lines += _verdict_lines(r)
    if policy.uses_early_stopping:
        lines += _early_stopping_lines(r, tok)
    lines += ["", RULE, "Additional Stats", RULE]
    lines += policy.summary_stats_lines(r)
    if tok is not None:
        lines.append("")
        lines += policy.summary_token_lines(r, tok)
        if policy.measures_first_token:
            lines += _token_stats_lines(tok)
    lines += ["", RULE, "Test Parameters Used", RULE]
    lines += _parameters(eff)
    return lines


def mlpace_lines(r: RunResult) -> list[str]:
    """mlpace's extra block (empty for a clean accuracy pass)."""
    body: list[str] = []
    if r.has_metrics:
        lag = r.issue_lag
        body += [
            f"Issue lag p50 (ns) : {lag.p50_ns}",
            f"Issue lag p99 (ns) : {lag.p99_ns}",
            f"Issue lag max (ns) : {lag.max_ns}",
        ]
        if lag.dominates_latency:
            body.append(
                "WARNING: the load generator dominates latency: issue-lag p99 "
                f"{lag.p99_ns} ns > {LAG_DOMINANCE_FRACTION:.0%} of latency p99 "
                f"{r.latency.at(0.99)} ns; the results measure the load generator, not the SUT."
            )
    if r.incomplete_samples or r.has_metrics:
        body.append(f"Incomplete samples : {r.incomplete_samples}")
    if r.unknown_id_responses:
        body.append(f"Responses for unknown sample ids : {r.unknown_id_responses}")
    if r.duplicate_responses:
        body.append(f"Duplicate responses : {r.duplicate_responses}")
    if r.token_error_count:
        body.append(f"Responses breaking the token rules : {r.token_error_count}")
    if r.interrupted:
        body.append(f"Interrupted : {r.interrupt_reason or 'yes'}")
    if not body:
        return []
    return ["", RULE, MLPACE_TITLE, RULE, *body]


def format_summary(
    result: RunResult,
    effective: EffectiveSettings,
    *,
    sut_name: str,
    warnings: int,
    errors: int,
) -> str:
    """The whole summary file's text. An accuracy pass gives only the trailer (as officially)."""
    text = ""
    if result.has_metrics:
        text = "\n".join(_official_body(result, effective, sut_name)) + "\n"
    text += trailer(warnings, errors)
    extra = mlpace_lines(result)
    if extra:
        text += "\n".join(extra) + "\n"
    return text
