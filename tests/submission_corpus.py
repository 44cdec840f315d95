"""A good submission tree built from full-size fixtures, and the broken variants of it.

Every broken tree differs from the good one in exactly one documented way. ``CASES`` says
what mlpace's checker must report (its rule ids) and what the official v6.1 checker does:
"fail" (reports errors), "crash" (a traceback instead of a verdict) or "pass" (it misses
the problem; the reason is in ``note``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpace.submission.rules_data import load_rules
from mlpace.system import describe_system

SUBMITTER = "acme"
SYSTEM = "box"
BENCH = "resnet"
SEEDS = load_rules("v6.1").seeds


def mllog_lines(values: dict[str, Any], errors: tuple[str, ...] = ()) -> str:
    """A detail log in the LoadGen's line format (only the keys the checkers read)."""

    def line(key: str, value: Any, is_error: bool = False) -> str:
        entry = {
            "key": key, "value": value, "time_ms": 0.0, "namespace": "mlperf::logging",
            "event_type": "POINT_IN_TIME",
            "metadata": {"is_error": is_error, "is_warning": False, "file": "f.cc",
                         "line_no": 1, "pid": 1, "tid": 1},
        }  # fmt: skip
        return ":::MLLOG " + json.dumps(entry)

    out = [line(k, v) for k, v in values.items()]
    out += [line("error_runtime", e, True) for e in errors]
    return "\n".join(out) + "\n"


def perf_values(scenario: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sut_name": "mlpace fixture SUT",
        "effective_scenario": scenario,
        "effective_test_mode": "PerformanceOnly",
        "effective_performance_sample_count": 1024,
        "effective_min_duration_ms": 600000,
        "effective_min_query_count": 1024 if scenario != "Offline" else 1,
        "effective_samples_per_query": 24576 if scenario == "Offline" else 1,
        "effective_target_latency_ns": 0,
        "effective_sample_concatenate_permutation": False,
        "early_stopping_met": True,
        "early_stopping_result": " * Processed at least 64 queries (1024).",
        "result_99.00_percentile_latency_ns": 1000000,
        "result_validity": "VALID",
        "early_stopping_latency_ss": 1000000,
        "early_stopping_latency_ms": 8000000,
        "result_samples_per_second": 2000.5,
        "result_completed_samples_per_sec": 1000.0,
    }
    for seed, value in SEEDS.items():
        values[f"effective_{seed}"] = value
    if scenario == "MultiStream":
        values["effective_samples_per_query"] = 8
        values["effective_min_query_count"] = 662
    return values


def acc_values(scenario: str) -> dict[str, Any]:
    return {
        "effective_scenario": scenario,
        "effective_test_mode": "AccuracyOnly",
        "effective_accuracy_sample_count": 50000,
        "qsl_reported_total_count": 50000,
        "result_validity": "VALID",
    }


def system_json(division: str = "open") -> dict[str, str]:
    return describe_system(
        submitter=SUBMITTER, division=division, status="available", system_type="edge",
        system_name="Box 1", cooling="air", host_memory_configuration="2x 12 GiB",
    )  # fmt: skip


def build_good(root: Path, division: str = "open") -> Path:
    """``root/<division>/acme/...`` with one resnet result per edge scenario; returns root."""
    sub = root / division / SUBMITTER
    (sub / "systems").mkdir(parents=True)
    (sub / "systems" / f"{SYSTEM}.json").write_text(json.dumps(system_json(division), indent=2))
    (sub / "src").mkdir()
    (sub / "src" / "README.md").write_text("harness code\n")
    for scenario in ("SingleStream", "MultiStream", "Offline"):
        scen = sub / "results" / SYSTEM / BENCH / scenario
        perf = scen / "performance" / "run_1"
        perf.mkdir(parents=True)
        (perf / "mlperf_log_detail.txt").write_text(mllog_lines(perf_values(scenario)))
        (perf / "mlperf_log_summary.txt").write_text("Result is : VALID\n")
        acc = scen / "accuracy"
        acc.mkdir()
        (acc / "mlperf_log_detail.txt").write_text(mllog_lines(acc_values(scenario)))
        (acc / "mlperf_log_summary.txt").write_text("accuracy run\n")
        (acc / "mlperf_log_accuracy.json").write_text(
            '[\n{"seq_id": 0, "qsl_idx": 0, "data": "00"}\n]\n'
        )
        (acc / "accuracy.txt").write_text(
            "accuracy=76.500%, good=38250, total=50000\nhash=" + "ab" * 32 + "\n"
        )
        (scen / "user.conf").write_text(f"resnet50.{scenario}.target_qps = 1000\n")
        (scen / "README.md").write_text("how it was run\n")
        (scen / "measurements.json").write_text(json.dumps({
            "input_data_types": "fp32", "retraining": "no", "weight_data_types": "fp32",
            "starting_weights_filename": "resnet50_v1.onnx", "weight_transformations": "none",
        }))  # fmt: skip
    return root


def _scen(root: Path, scenario: str = "Offline") -> Path:
    return root / "open" / SUBMITTER / "results" / SYSTEM / BENCH / scenario


def _system(root: Path) -> Path:
    return root / "open" / SUBMITTER / "systems" / f"{SYSTEM}.json"


def _edit_system(root: Path, **changes: str) -> None:
    data = json.loads(_system(root).read_text())
    data.update(changes)
    _system(root).write_text(json.dumps(data))


def _edit_perf(root: Path, **changes: Any) -> None:
    path = _scen(root) / "performance" / "run_1" / "mlperf_log_detail.txt"
    values = perf_values("Offline")
    values.update(changes)
    path.write_text(mllog_lines(values))


def _loadgen_error(root: Path) -> None:
    path = _scen(root) / "performance" / "run_1" / "mlperf_log_detail.txt"
    path.write_text(mllog_lines(perf_values("Offline"), errors=("SUT never completed 3 samples",)))


def _symlink_out(root: Path) -> None:
    conf = _scen(root) / "user.conf"
    conf.unlink()
    os.symlink("/etc/hostname", conf)


def _big_accuracy_log(root: Path) -> None:
    entries = [{"seq_id": i, "qsl_idx": i, "data": "00" * 8} for i in range(2000)]
    (_scen(root) / "accuracy" / "mlperf_log_accuracy.json").write_text(json.dumps(entries))


@dataclass(frozen=True)
class Case:
    name: str
    how: str  # the one way this tree is broken
    mutate: Callable[[Path], None]
    rules: frozenset[str]  # mlpace's findings (rule ids, errors and warnings)
    official: str  # "fail", "crash" or "pass"
    note: str = ""  # where the official checker crashes or misses the problem


def _case(name: str, how: str, mutate: Callable[[Path], None], rules: set[str], official: str,
          note: str = "") -> Case:  # fmt: skip
    return Case(name, how, mutate, frozenset(rules), official, note)


CASES = (
    _case("no-system-json", "systems/box.json deleted", lambda r: _system(r).unlink(),
          {"system-json-missing"}, "crash",
          "official: AttributeError ('NoneType' object has no attribute 'get')"),
    _case("truncated-system-json", "systems/box.json cut in the middle",
          lambda r: _system(r).write_text(_system(r).read_text()[:40]),
          {"system-json-invalid"}, "crash", "official: JSONDecodeError traceback"),
    _case("empty-cooling", "system key cooling is empty", lambda r: _edit_system(r, cooling=""),
          {"system-field-empty"}, "fail"),
    _case("bad-status", "status is not available/preview/rdi",
          lambda r: _edit_system(r, status="Available soon"), {"system-status"}, "fail"),
    _case("no-accuracy-folder", "Offline/accuracy/ deleted",
          lambda r: shutil.rmtree(_scen(r) / "accuracy"), {"accuracy-missing"}, "crash",
          "official: TypeError ('NoneType' object is not subscriptable)"),
    _case("empty-user-conf", "Offline/user.conf is empty",
          lambda r: (_scen(r) / "user.conf").write_text(""), {"file-empty"}, "fail"),
    _case("no-measurements", "Offline/measurements.json deleted",
          lambda r: (_scen(r) / "measurements.json").unlink(), {"measurements-missing"}, "fail"),
    _case("truncated-detail-log", "the Offline performance detail log cut mid-line",
          lambda r: (p := _scen(r) / "performance" / "run_1" / "mlperf_log_detail.txt")
          .write_text(p.read_text()[:700]),
          {"log-unreadable"}, "crash", "official: RuntimeError 'Encountered invalid line'"),
    _case("lowercase-scenario", "folder Offline renamed offline",
          lambda r: _scen(r).rename(_scen(r).with_name("offline")), {"unknown-scenario"}, "pass",
          "official: accepts any scenario folder name in the open division"),
    _case("symlink-out-of-tree", "Offline/user.conf is a link to /etc/hostname",
          _symlink_out, {"symlink-outside"}, "pass",
          "official: follows the link and accepts the file"),
    _case("path-traversal-name", "a file named '..\\\\..\\\\etc' in the Offline folder",
          lambda r: (_scen(r) / "..\\..\\etc").write_text("x"), {"unsafe-name"}, "pass",
          "official: never looks at names it does not expect"),
    _case("accuracy-log-not-truncated", "Offline accuracy log of 60 KB",
          _big_accuracy_log, {"accuracy-not-truncated"}, "fail"),
    _case("no-hash-line", "accuracy.txt without its hash= line",
          lambda r: (_scen(r) / "accuracy" / "accuracy.txt").write_text("accuracy=76.5%\n"),
          {"accuracy-hash"}, "pass",
          "official: logs 'not hash value' but passes it in the open division"),
    _case("wrong-seed", "a non-official qsl_rng_seed",
          lambda r: _edit_perf(r, effective_qsl_rng_seed=1), {"seeds"}, "fail"),
    _case("short-run", "effective_min_duration_ms 60000",
          lambda r: _edit_perf(r, effective_min_duration_ms=60000), {"min-duration"}, "fail"),
    _case("loadgen-error", "an error line in the performance detail log", _loadgen_error,
          {"loadgen-errors"}, "pass",
          "official: the performance path fails on LoadGen errors only with "
          "--submission-exceptions"),
    _case("no-src", "src/ deleted", lambda r: shutil.rmtree(r / "open" / SUBMITTER / "src"),
          {"src-missing"}, "fail"),
    _case("unknown-benchmark", "benchmark folder resnet51 with no model_mapping.json",
          lambda r: _scen(r).parent.rename(_scen(r).parent.with_name("resnet51")),
          {"unknown-benchmark"}, "fail"),
)  # fmt: skip
