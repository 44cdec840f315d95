"""The checks of one ``results/<system>/<benchmark>/<Scenario>/`` folder: measurement files,
the performance run, the accuracy run and the compliance (audit) folders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpace.submission._files import DetailLog, read_detail, read_json
from mlpace.submission.findings import Findings
from mlpace.submission.rules_data import SubmissionRules

__all__ = ["ScenarioContext", "check_scenario"]


@dataclass(frozen=True)
class ScenarioContext:
    division: str
    folder: Path
    benchmark: str
    spec: dict[str, Any]
    rules: SubmissionRules
    src: Path
    system: dict[str, Any] | None

    @property
    def scenario(self) -> str:
        return self.folder.name


def check_scenario(ctx: ScenarioContext, out: Findings) -> tuple[float | None, str, str]:
    """Every check of the folder; returns (metric, unit, accuracy text) for the table."""
    _measurement_files(ctx, out)
    metric, unit = _performance(ctx, out)
    accuracy = _accuracy(ctx, out)
    if ctx.division == "closed":
        _compliance(ctx, out)
    return metric, unit, accuracy


def _file_ok(path: Path, out: Findings) -> bool:
    if not path.is_file():
        out.add("file-missing", path, "no such file", f"{path.name} present")
        return False
    try:
        if path.stat().st_size == 0:
            out.add("file-empty", path, "an empty file", f"{path.name} with content")
            return False
    except OSError as exc:
        out.add("unreadable", path, str(exc.strerror), "a readable file")
        return False
    return True


def _measurement_files(ctx: ScenarioContext, out: Findings) -> None:
    for name in ctx.rules.names("measurement_files"):
        _file_ok(ctx.folder / name, out)
    path = ctx.folder / "measurements.json"
    if not path.is_file():
        out.add("measurements-missing", path, "no such file", "measurements.json")
        return
    data, problem = read_json(path)
    if problem is not None or not isinstance(data, dict):
        what = problem.what if problem else f"a JSON {type(data).__name__}"
        out.add(
            "measurements-missing",
            path,
            what,
            "a JSON object",
            line=problem.line if problem else None,
        )
        return
    for key in ctx.rules.names("measurements_required_fields"):
        if not str(data.get(key, "")).strip():
            found = "missing" if key not in data else "empty"
            out.add("measurements-field", path, f"{key} {found}", f"a value for {key}")


def _detail(path: Path, out: Findings) -> DetailLog | None:
    if not _file_ok(path, out):
        return None
    log, problem = read_detail(path)
    if log is None:
        out.add(
            "log-unreadable",
            path,
            problem.what if problem else "unreadable",
            "an MLPerf detail log (:::MLLOG lines)",
            line=problem.line if problem else None,
        )
    return log


def _show(value: float | None) -> str:
    return "missing" if value is None else f"{value:g}"


def _num(log: DetailLog, key: str) -> float | None:
    value = log.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _performance(ctx: ScenarioContext, out: Findings) -> tuple[float | None, str]:
    run = ctx.folder / "performance" / "run_1"
    detail = run / "mlperf_log_detail.txt"
    _file_ok(run / "mlperf_log_summary.txt", out)
    log = _detail(detail, out)
    if log is None:
        return None, ""
    for message, line in log.errors:
        out.add("loadgen-errors", detail, message, "no LoadGen error", line=line)
    rules, spec, scen = ctx.rules, ctx.spec, ctx.scenario
    psc, required_psc = (
        _num(log, "effective_performance_sample_count"),
        spec["performance_sample_count"],
    )
    if psc is None or psc < required_psc:
        out.add(
            "performance-sample-count",
            detail,
            f"effective_performance_sample_count {_show(psc)}",
            f">= {required_psc} for {ctx.benchmark}",
            line=log.line("effective_performance_sample_count"),
        )
    for seed, expected in rules.seeds.items():
        value = log.get(f"effective_{seed}")
        if value != expected:
            out.add(
                "seeds",
                detail,
                f"effective_{seed} {value}",
                f"{expected}",
                line=log.line(f"effective_{seed}"),
            )
    bound = spec["latency_ns"].get(scen)
    if scen in rules.names("early_stopping_scenarios"):
        if log.get("early_stopping_met") is not True:
            msg = " ".join(str(log.get("early_stopping_result", "")).split())
            out.add(
                "early-stopping",
                detail,
                f"early_stopping_met {log.get('early_stopping_met')}: {msg}",
                "true",
                line=log.line("early_stopping_met"),
            )
        target = _num(log, "effective_target_latency_ns")
        if bound and (target is None or target > bound):
            out.add(
                "latency-bound",
                detail,
                f"effective_target_latency_ns {_show(target)}",
                f"<= {bound} ns",
                line=log.line("effective_target_latency_ns"),
            )
    else:
        p99 = _num(log, "result_99.00_percentile_latency_ns")
        if bound and (p99 is None or p99 > bound):
            out.add("latency-bound", detail, f"p99 latency {_show(p99)} ns", f"<= {bound} ns")
        needed = spec["min_queries"].get(scen)
        found = _num(log, "effective_min_query_count")
        if needed and (found is None or found < needed):
            out.add(
                "min-queries",
                detail,
                f"effective_min_query_count {_show(found)}",
                f">= {needed}",
                line=log.line("effective_min_query_count"),
            )
    spq = _num(log, "effective_samples_per_query")
    need_spq = spec.get("offline_min_samples_per_query")
    if scen == "Offline" and ctx.division == "closed" and need_spq and (spq or 0) < need_spq:
        out.add(
            "offline-samples-per-query",
            detail,
            f"effective_samples_per_query {_show(spq)}",
            f">= {need_spq}",
            line=log.line("effective_samples_per_query"),
        )
    duration = _num(log, "effective_min_duration_ms")
    if duration is None or duration < rules.min_duration_ms:
        out.add(
            "min-duration",
            detail,
            f"effective_min_duration_ms {_show(duration)}",
            f">= {rules.min_duration_ms}",
            line=log.line("effective_min_duration_ms"),
        )
    if log.get("result_validity") not in (None, "VALID"):
        out.add(
            "result-invalid",
            detail,
            f"result_validity {log.get('result_validity')}",
            "VALID",
            line=log.line("result_validity"),
        )
    key, factor, unit = rules.result_field(scen)
    value = _num(log, key)
    if value is None:
        out.add("metric-missing", detail, f"no numeric {key}", f"{key} in the log")
        return None, unit
    return value * factor, unit


def _accuracy(ctx: ScenarioContext, out: Findings) -> str:
    acc = ctx.folder / "accuracy"
    if not acc.is_dir():
        out.add("accuracy-missing", acc, "no accuracy/ folder", "accuracy/ with the accuracy run")
        return ""
    for name in ("mlperf_log_summary.txt",):
        _file_ok(acc / name, out)
    log = _detail(acc / "mlperf_log_detail.txt", out)
    if log is not None:
        for message, line in log.errors:
            out.add(
                "loadgen-errors",
                acc / "mlperf_log_detail.txt",
                message,
                "no LoadGen error",
                line=line,
            )
        count = log.get("effective_accuracy_sample_count", log.get("qsl_reported_total_count"))
        size = ctx.spec["dataset_size"]
        if count != size:
            out.add(
                "accuracy-sample-count",
                acc / "mlperf_log_detail.txt",
                f"{count} accuracy samples",
                f"the whole data set: {size} for {ctx.benchmark}",
                line=log.line("effective_accuracy_sample_count"),
            )
    json_log = acc / "mlperf_log_accuracy.json"
    if _file_ok(json_log, out):
        size_b = json_log.stat().st_size
        limit = int(ctx.rules.data["max_accuracy_log_bytes"])
        if size_b > limit:
            out.add("accuracy-not-truncated", json_log, f"{size_b} bytes", f"<= {limit} bytes")
    return _accuracy_text(ctx, acc / "accuracy.txt", out)


def _accuracy_text(ctx: ScenarioContext, path: Path, out: Findings) -> str:
    if not _file_ok(path, out):
        return ""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        out.add("unreadable", path, str(exc.strerror), "a readable file")
        return ""
    if not any(re.match(r"^hash=([\w\d]+)$", ln) for ln in lines):
        out.add("accuracy-hash", path, "no hash= line", "hash=<sha256 of the accuracy log>")
    shown = []
    for metric, target in ctx.spec["accuracy"]:
        pattern = re.compile(ctx.rules.data["accuracy_patterns"][metric])
        value, number = None, None
        for i, line in enumerate(lines, start=1):
            m = pattern.match(line)
            if m:
                value, number = float(m.group(1)), i
                break
        if value is None:
            if ctx.division != "open":
                out.add(
                    "accuracy-metric",
                    path,
                    f"no line matching {metric}",
                    f"a {metric} line as the accuracy script prints it",
                )
            continue
        shown.append(f"{metric}={value:g}")
        if ctx.division != "open" and value < float(target):
            out.add(
                "accuracy-target", path, f"{metric} {value:g}", f">= {float(target):g}", line=number
            )
    return ", ".join(shown)


def _compliance(ctx: ScenarioContext, out: Findings) -> None:
    for test in ctx.spec.get("compliance_tests", []):
        folder = ctx.folder / test
        if not folder.is_dir():
            out.add(
                "compliance-missing",
                folder,
                f"no {test}/ folder",
                f"{test} results (mlpace audit {test})",
            )
            continue
        verdicts = sorted(folder.glob("verify_*.txt"))
        if not verdicts:
            out.add("compliance-missing", folder, "no verify_*.txt", "the audit's verify files")
        for v in verdicts:
            try:
                text = v.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            if "TEST PASS" not in text:
                out.add("compliance-failed", v, "no 'TEST PASS'", "TEST PASS")
