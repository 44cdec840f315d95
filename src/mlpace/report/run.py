"""One run as the report sees it: read back from its log folder, whoever wrote it.

:func:`find_runs` walks folders for detail logs; :func:`read_run` assembles a :class:`RunLog`
from the detail log (settings, results, errors), the summary (recommendations), the per-sample
timing (``mlpace_samples.npz``, else the trace), the accuracy log and ``accuracy.txt``, and the
system description. The validity checks are rebuilt from the logged verdicts with what was
observed, what was required and what to do, so an official LoadGen run reads like ours.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.loadgen.early_stopping import queries_needed
from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.results import ADVICE_EARLY_STOPPING, ADVICE_MIN_QUERIES, ADVICE_PERF
from mlpace.report.logs import (
    AccuracyLog,
    DetailLog,
    LogReadError,
    SummaryLog,
    read_accuracy,
    read_detail,
    read_summary,
)
from mlpace.report.samples import SAMPLES_FILE, SamplesError, SampleTimes, read_samples_npz
from mlpace.report.samples import read_trace as read_trace_samples

PERCENTILE_LABELS = ("50.00", "90.00", "95.00", "97.00", "99.00", "99.90")
# The official recommendation when the minimum duration was missed (the summary's wording wins
# when the run has a summary).
MIN_DURATION_ADVICE = {
    "SingleStream": "Decrease the expected latency so the loadgen pre-generates more queries.",
    "MultiStream": "Decrease the expected latency so the loadgen pre-generates more queries.",
    "Server": "Increase the target QPS so the loadgen pre-generates more queries.",
    "Offline": "Increase expected QPS so the loadgen pre-generates a larger (coalesced) query.",
}
_DETAIL_NAME = re.compile(r"detail(?=[^/]*\.txt$)")


@dataclass(frozen=True)
class Check:
    """One validity rule as read back: verdict (None: not logged), observed, required, advice."""

    name: str
    label: str
    passed: bool | None
    observed: str
    required: str
    advice: str = ""
    official: bool = True


@dataclass(frozen=True)
class RunLog:
    """Everything the report and the history know about one pass's log folder."""

    path: Path
    detail: DetailLog
    summary: SummaryLog | None
    samples: SampleTimes | None
    samples_note: str
    accuracy_log: AccuracyLog | None
    accuracy_text: str
    system: dict[str, Any]
    sut: dict[str, Any]
    notes: tuple[str, ...] = ()
    label: str = ""
    checks: tuple[Check, ...] = field(default=())

    # --------------------------------------------------------------- identity
    @property
    def scenario(self) -> str:
        return str(self.detail.get("effective_scenario") or self.detail.get("requested_scenario"))

    @property
    def mode(self) -> str:
        return str(self.detail.get("effective_test_mode") or self.detail.get("requested_test_mode"))

    @property
    def generator(self) -> str:
        version = str(self.detail.get("loadgen_version", ""))
        return version if version else "unknown LoadGen"

    @property
    def is_official_loadgen(self) -> bool:
        return not self.generator.startswith("mlpace")

    @property
    def has_performance(self) -> bool:
        return self.detail.get("result_validity") is not None

    @property
    def validity(self) -> str:
        return str(self.detail.get("result_validity") or "n/a")

    @property
    def valid(self) -> bool:
        return self.validity == "VALID"

    @property
    def token_run(self) -> bool:
        return bool(self.detail.get("requested_use_token_latencies", False)) or (
            self.detail.get("result_first_token_mean_latency_ns") is not None
            or self.detail.get("result_tokens_per_second") is not None
        )

    @property
    def settings(self) -> dict[str, Any]:
        return self.detail.prefixed("effective_")

    @property
    def requested(self) -> dict[str, Any]:
        return self.detail.prefixed("requested_")

    @property
    def results(self) -> dict[str, Any]:
        out = {k: v for k, v in self.detail.values.items() if k.startswith("result_")}
        for key in ("early_stopping_latency_ss", "early_stopping_latency_ms", "num_errors"):
            if key in self.detail.values:
                out[key] = self.detail.values[key]
        return out

    # --------------------------------------------------------------- metrics
    def primary_metric(self) -> tuple[str, float | None, str]:
        """(name, value, unit) of the scenario's reported metric, read from the detail log."""
        d = self.detail
        pct = float(d.get("effective_target_latency_percentile", 0.9) or 0.9)
        sc = self.scenario
        if sc == TestScenario.SingleStream.value:
            key, name = "early_stopping_latency_ss", f"p{pct * 100:g} latency (early stopping)"
            return name, _num(d.get(key)), "ns"
        if sc == TestScenario.MultiStream.value:
            key, name = (
                "early_stopping_latency_ms",
                f"p{pct * 100:g} query latency (early stopping)",
            )
            return name, _num(d.get(key)), "ns"
        if sc == TestScenario.Server.value:
            if d.get("result_completed_tokens_per_second") is not None and self.token_run:
                return "completed tokens/s", _num(d.get("result_completed_tokens_per_second")), "/s"
            return "completed samples/s", _num(d.get("result_completed_samples_per_sec")), "/s"
        if d.get("result_tokens_per_second") is not None:
            return "tokens/s", _num(d.get("result_tokens_per_second")), "/s"
        return "samples/s", _num(d.get("result_samples_per_second")), "/s"

    def throughput(self) -> float | None:
        """Samples (MultiStream: queries) per second as the logs state it."""
        d = self.detail
        for key in (
            "result_completed_samples_per_sec",
            "result_samples_per_second",
            "result_qps_with_loadgen_overhead",
        ):
            if d.get(key) is not None:
                return _num(d.get(key))
        return None

    def latency_percentiles(self, kind: str = "latency") -> list[tuple[str, int | None]]:
        """[(label, ns)] for min, mean, the fixed percentiles and max, from the detail log.

        ``kind``: ``latency``, ``query`` (MultiStream per query), ``ttft`` or ``tpot``.
        """
        d = self.detail
        if kind == "latency":
            keys = ("result_min_latency_ns", "result_mean_latency_ns", "result_max_latency_ns")
            pct = "result_{}_percentile_latency_ns"
        elif kind == "query":
            keys = (
                "result_min_query_latency_ns",
                "result_mean_query_latency_ns",
                "result_max_query_latency_ns",
            )
            pct = "result_{}_percentile_per_query_latency_ns"
        elif kind == "ttft":
            keys = (
                "result_first_token_min_latency_ns",
                "result_first_token_mean_latency_ns",
                "result_first_token_max_latency_ns",
            )
            pct = "result_first_token_{}_percentile_latency_ns"
        else:
            keys = (
                "result_time_to_output_token_min",
                "result_time_to_output_token_mean",
                "result_time_to_output_token_max",
            )
            pct = "result_time_per_output_token_{}_percentile_ns"
        rows: list[tuple[str, int | None]] = [("min", _int(d.get(keys[0])))]
        rows.append(("mean", _int(d.get(keys[1]))))
        rows += [(f"p{float(p):g}", _int(d.get(pct.format(p)))) for p in PERCENTILE_LABELS]
        rows.append(("max", _int(d.get(keys[2]))))
        return rows


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    x = _num(value)
    return None if x is None or x != x else int(x)


# ------------------------------------------------------------------------------- checks
def _fmt_ns(ns: float | None) -> str:
    if ns is None:
        return "n/a"
    if abs(ns) >= 1e9:
        return f"{ns / 1e9:.3f} s"
    if abs(ns) >= 1e6:
        return f"{ns / 1e6:.3f} ms"
    if abs(ns) >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def _duration_s(run: DetailLog, samples: SampleTimes | None) -> float | None:
    sc = str(run.get("effective_scenario"))
    n = _num(run.get("result_query_count"))
    if sc == TestScenario.Offline.value:
        mx = _num(run.get("result_max_latency_ns"))
        return None if mx is None else mx / 1e9
    rate_key = {
        TestScenario.Server.value: "result_scheduled_samples_per_sec",
        TestScenario.SingleStream.value: "result_qps_with_loadgen_overhead",
    }.get(sc)
    rate = _num(run.get(rate_key)) if rate_key else None
    if n is not None and rate:
        return (n - 1) / rate
    if samples is not None and samples.count:
        return float(samples.base_ns.max()) / 1e9
    return None


def _early_stopping_counts(text: str) -> tuple[str, str]:
    m = re.search(r"Processed at least (\d+) queries \((\d+)\)", text)
    if m:
        return m.group(2), m.group(1)
    m = re.search(r"Only processed (\d+) queries.*?at least (\d+) queries", text)
    if m:
        return m.group(1), m.group(2)
    m = re.search(r"Processed (\d+) queries.*?at least (\d+) more", text)
    if m:
        return m.group(1), str(int(m.group(1)) + int(m.group(2)))
    return "", ""


def _server_early_stopping(d: DetailLog) -> tuple[str, str]:
    """Server: queries issued, and the H(t) + t they had to reach (t = overlatency count)."""
    seen = _int(d.get("result_query_count"))
    t = _int(d.get("result_overlatency_query_count"))
    pct = _num(d.get("effective_target_latency_percentile"))
    if seen is None or t is None or pct is None or not 0.0 < pct < 1.0:
        return ("" if seen is None else str(seen)), ""
    if d.get("requested_use_token_latencies"):
        return str(seen), ""  # the token rule counts TTFT/TPOT overruns, not logged per kind
    return str(seen), str(queries_needed(t, pct))


def build_checks(
    detail: DetailLog, summary: SummaryLog | None, samples: SampleTimes | None
) -> list[Check]:
    """The validity checks of a performance pass, rebuilt from its logs."""
    d = detail
    if d.get("result_validity") is None:
        return []
    sc = str(d.get("effective_scenario"))
    checks: list[Check] = []
    if "result_perf_constraints_met" in d.values:
        pct = float(d.get("effective_target_latency_percentile", 0.99) or 0.99)
        label = f"{pct * 100:.2f}"
        if d.get("requested_use_token_latencies"):
            ttft = _num(d.get(f"result_first_token_{label}_percentile_latency_ns"))
            tpot = _num(d.get(f"result_time_per_output_token_{label}_percentile_ns"))
            observed = f"TTFT {_fmt_ns(ttft)}, TPOT {_fmt_ns(tpot)}"
            required = (
                f"TTFT ≤ {_fmt_ns(_num(d.get('requested_server_ttft_latency')))}, "
                f"TPOT ≤ {_fmt_ns(_num(d.get('requested_server_tpot_latency')))}"
            )
        else:
            observed = (
                f"p{pct * 100:g} {_fmt_ns(_num(d.get(f'result_{label}_percentile_latency_ns')))}"
            )
            required = f"≤ {_fmt_ns(_num(d.get('effective_target_latency_ns')))}"
        ok = bool(d.get("result_perf_constraints_met"))
        checks.append(
            Check("perf_constraints", "Performance constraints", ok, observed, required,
                  "" if ok else ADVICE_PERF)
        )  # fmt: skip
    ok = bool(d.get("result_min_duration_met"))
    duration = _duration_s(d, samples)
    min_ms = _num(d.get("effective_min_duration_ms"))
    checks.append(
        Check(
            "min_duration",
            "Min duration",
            ok,
            "n/a" if duration is None else f"{duration:.3f} s",
            "n/a" if min_ms is None else f"≥ {min_ms / 1000:g} s",
            "" if ok else MIN_DURATION_ADVICE.get(sc, ""),
        )
    )
    ok = bool(d.get("result_min_queries_met"))
    checks.append(
        Check(
            "min_queries",
            "Min queries",
            ok,
            str(d.get("result_query_count", "n/a")),
            f"≥ {d.get('effective_min_query_count', 'n/a')}",
            "" if ok else ADVICE_MIN_QUERIES,
        )
    )
    es_text = str(
        d.get("early_stopping_result")
        or d.get("early_stopping_ttft_result")
        or d.get("early_stopping_tpot_result")
        or ""
    )
    ok = bool(d.get("early_stopping_met", sc == TestScenario.Offline.value))
    seen, needed = _early_stopping_counts(es_text)
    if sc == TestScenario.Server.value and not needed:
        seen, needed = _server_early_stopping(d)
    checks.append(
        Check(
            "early_stopping",
            "Early stopping",
            ok,
            f"{seen} queries" if seen else es_text.strip(" *") or "n/a",
            f"≥ {needed} queries" if needed else ("not required" if sc == "Offline" else "n/a"),
            "" if ok else ADVICE_EARLY_STOPPING,
        )
    )
    # mlpace's extension checks, logged only when they fail
    for key, value in d.values.items():
        if key.startswith("mlpace_check_failed_"):
            name = key[len("mlpace_check_failed_") :]
            observed = ""
            if name == "all_samples_completed":
                observed = f"{d.get('mlpace_incomplete_samples', '?')} incomplete"
            elif name == "not_interrupted":
                observed = str(d.get("mlpace_interrupt_reason", "interrupted"))
            checks.append(
                Check(name, name.replace("_", " ").capitalize(), False, observed, "", str(value),
                      official=False)
            )  # fmt: skip
    if summary is not None and summary.recommendations:
        # The summary's own wording wins where it has one (the official texts).
        texts = list(summary.recommendations)
        checks = [
            _with_summary_advice(c, texts) if c.passed is False and c.official else c
            for c in checks
        ]
    return checks


def _with_summary_advice(check: Check, texts: list[str]) -> Check:
    for text in texts:
        if check.advice and text.startswith(check.advice[:24]):
            return Check(check.name, check.label, check.passed, check.observed, check.required,
                         text, check.official)  # fmt: skip
    return check


# ------------------------------------------------------------------------------- discovery
def sibling(detail_path: Path, kind: str) -> Path:
    """The ``kind`` log (summary, accuracy, trace) named like ``detail_path``."""
    ext = ".txt" if kind == "summary" else ".json"
    name = detail_path.name
    idx = name.rfind("detail")
    stem = name[:idx] + kind + name[idx + len("detail") :]
    return detail_path.with_name(stem[: stem.rfind(".")] + ext)


def _is_detail_log(path: Path) -> bool:
    if not path.is_file() or not _DETAIL_NAME.search(path.name):
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().lstrip().startswith(MLLOG_START)
    except OSError:
        return False


MLLOG_START = ":::MLLOG"


def find_runs(path: Path) -> list[Path]:
    """Detail logs in ``path`` (a detail log itself, a run folder, or a tree of them)."""
    if path.is_file():
        return [path] if _is_detail_log(path) else []
    if not path.is_dir():
        return []
    direct = sorted(p for p in path.glob("*detail*.txt") if _is_detail_log(p))
    if direct:
        return direct
    return sorted(p for p in path.rglob("*detail*.txt") if _is_detail_log(p))


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _system_description(folder: Path) -> dict[str, Any]:
    """``system_description.json`` in the folder or above, else the MLPerf ``systems/`` one."""
    parts = folder.resolve().parts
    for up in [folder, *folder.parents][:8]:
        found = _json_file(up / "system_description.json")
        if found:
            return found
    if "results" in parts:
        i = len(parts) - 1 - parts[::-1].index("results")
        if i + 1 < len(parts):
            root, system = Path(*parts[:i]), parts[i + 1]
            found = _json_file(root / "systems" / f"{system}.json")
            if found:
                return found
    return {}


def _accuracy_text(folder: Path) -> str:
    for candidate in (
        folder / "accuracy.txt",
        folder.parent / "accuracy" / "accuracy.txt",
        folder.parent.parent / "accuracy" / "accuracy.txt",
    ):
        try:
            return candidate.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
    return ""


def _samples(detail_path: Path, detail: DetailLog) -> tuple[SampleTimes | None, str, list[str]]:
    notes: list[str] = []
    npz = detail_path.with_name(SAMPLES_FILE)
    if npz.exists():
        try:
            return read_samples_npz(npz), f"every sample, from {npz.name}", notes
        except SamplesError as exc:
            notes.append(str(exc))
    trace = sibling(detail_path, "trace")
    if trace.exists():
        try:
            s = read_trace_samples(trace)
        except SamplesError as exc:
            notes.append(str(exc))
        else:
            if s.complete:
                return s, f"every sample, from {trace.name}", notes
            return (
                s,
                f"the first {s.count:,} of {s.total_samples:,} samples, from {trace.name} "
                "(the trace is capped; plots over the run stop there)",
                notes,
            )
    if detail.get("result_validity") is None:
        return None, "", notes
    return (
        None,
        "no per-query timing: the run wrote neither mlpace_samples.npz nor a trace "
        "(enable_trace off). Percentiles come from the detail log; the CDF and the plots over "
        "the run are not available.",
        notes,
    )


def read_run(path: Path, label: str = "") -> RunLog:
    """Read one run: ``path`` is its detail log or the folder holding it."""
    if path.is_dir():
        detail_paths = sorted(p for p in path.glob("*detail*.txt") if _is_detail_log(p))
    else:
        detail_paths = [path]
    if not detail_paths:
        raise LogReadError(f"{path}: no LoadGen detail log (mlperf_log_detail.txt) here")
    detail_path = detail_paths[0]
    detail = read_detail(detail_path)
    folder = detail_path.parent
    notes = list(detail.notes)
    summary = None
    summary_path = sibling(detail_path, "summary")
    if summary_path.exists():
        try:
            summary = read_summary(summary_path)
        except LogReadError as exc:
            notes.append(str(exc))
    samples, samples_note, sample_notes = _samples(detail_path, detail)
    notes += sample_notes
    accuracy = None
    acc_path = sibling(detail_path, "accuracy")
    if acc_path.exists():
        try:
            accuracy = read_accuracy(acc_path)
        except LogReadError as exc:
            notes.append(str(exc))
    return RunLog(
        path=folder,
        detail=detail,
        summary=summary,
        samples=samples,
        samples_note=samples_note,
        accuracy_log=accuracy,
        accuracy_text=_accuracy_text(folder),
        system=_system_description(folder),
        sut=_json_file(folder / "mlpace_sut.json"),
        notes=tuple(notes),
        label=label or default_label(folder, detail),
        checks=tuple(build_checks(detail, summary, samples)),
    )


def default_label(folder: Path, detail: DetailLog) -> str:
    scenario = str(detail.get("effective_scenario", ""))
    parts = [p for p in folder.parts[-4:] if p not in ("performance", "run_1", scenario)]
    tail = "/".join(parts[-2:]) if parts else folder.name
    return tail or scenario


def read_runs(paths: list[Path]) -> list[RunLog]:
    """Every run under ``paths`` (folders are searched), in the order given."""
    runs: list[RunLog] = []
    for p in paths:
        if not p.exists():
            raise LogReadError(f"{p}: no such file or folder")
        found = find_runs(p)
        if not found:
            raise LogReadError(f"{p}: no LoadGen detail log (mlperf_log_detail.txt) found")
        for detail_path in found:
            runs.append(read_run(detail_path))
    # An accuracy-only pass next to a performance pass of the same scenario (the MLPerf layout's
    # <scenario>/accuracy) is already shown with it, through its accuracy.txt.
    with_perf = {r.scenario for r in runs if r.has_performance}
    return [r for r in runs if r.has_performance or r.scenario not in with_perf]


__all__ = [
    "Check",
    "RunLog",
    "build_checks",
    "find_runs",
    "read_run",
    "read_runs",
    "sibling",
]
