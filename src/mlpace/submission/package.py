"""``mlpace package``: build the official submission tree from mlpace run folders.

    <output>/<division>/<submitter>/
        systems/<system>.json                       (mlpace.system; --set / --from win)
        src/                                        (a snapshot of the mlpace sources)
        results/<system>/<benchmark>/<Scenario>/
            user.conf README.md measurements.json
            performance/run_1/mlperf_log_{summary,detail}.txt
            accuracy/ (summary, detail, accuracy.txt with hash=, truncated accuracy log)
            TEST0X/ (as ``mlpace audit`` left them)
        model_mapping.json                          (open division: task -> benchmark)

Closed division refuses, with the reason, a run that is INVALID, shorter than the rules'
minimum duration, from a short profile, or of a task that is no MLPerf benchmark.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.errors import MlpaceError
from mlpace.submission._files import (
    read_detail,
    read_json,
    sha256_file,
    truncate_accuracy_log,
)
from mlpace.submission.rules_data import SubmissionRules, load_rules

__all__ = ["PackageError", "PackageRequest", "PackageResult", "RunSource", "find_runs", "package"]

SHORT_PROFILE_MARK = "not valid for submission"
ACCURACY_LOG = "mlperf_log_accuracy.json"


class PackageError(MlpaceError):
    """The runs cannot be packaged as asked (the reason and the fix are in the message)."""


@dataclass(frozen=True)
class RunSource:
    """One scenario folder of an mlpace run: ``results/<system>/<task>/<Scenario>``."""

    system: str
    task: str
    scenario: str
    folder: Path


@dataclass(frozen=True)
class PackageRequest:
    results: Sequence[Path]
    output: Path
    division: str
    submitter: str
    system_values: Mapping[str, str] = field(default_factory=dict)  # --from then --set
    model_map: Mapping[str, str] = field(default_factory=dict)  # --map task=benchmark
    version: str = "v6.1"
    include_src: bool = True


@dataclass(frozen=True)
class PackageResult:
    root: Path  # <output>/<division>/<submitter>
    results: tuple[Path, ...]  # the scenario folders written
    notes: tuple[str, ...]


def find_runs(paths: Sequence[Path], rules: SubmissionRules) -> list[RunSource]:
    """Every scenario folder under ``paths`` (a run's --output, its results/ or deeper)."""
    found: dict[Path, RunSource] = {}
    scenarios = set(rules.scenarios)
    for base in paths:
        if not base.exists():
            raise PackageError(f"{base}: no such folder (give a folder mlpace run wrote)")
        for detail in sorted(base.rglob("mlperf_log_detail.txt")):
            parts = detail.relative_to(base).parts
            if any(p in ("previous", "peak_search", "audit-runs") for p in parts):
                continue
            if detail.parent.name == "run_1" and detail.parent.parent.name == "performance":
                scen = detail.parents[2]
            elif detail.parent.name == "accuracy":
                scen = detail.parents[1]
            else:
                continue
            if scen.name not in scenarios or scen.name.startswith("TEST"):
                continue
            task_dir = scen.parent
            found[scen] = RunSource(task_dir.parent.name, task_dir.name, scen.name, scen)
    if not found:
        raise PackageError(
            f"no run found under {', '.join(map(str, paths))}: expected "
            "results/<system>/<task>/<Scenario>/performance/run_1/mlperf_log_detail.txt"
        )
    return sorted(
        found.values(), key=lambda r: (r.system, r.task, rules.scenarios.index(r.scenario))
    )


def _benchmark(task: str, req: PackageRequest, rules: SubmissionRules) -> str:
    """The checker benchmark name of an mlpace task (closed) or its open mapping."""
    if task in req.model_map:
        return req.model_map[task]
    name = rules.benchmark_name(task)
    if rules.benchmark(name) is not None:
        return name
    if req.division != "open":
        raise PackageError(
            f"task {task!r} is not an MLPerf {rules.version} benchmark, so it cannot go into "
            f"the {req.division} division; package it with --division open"
        )
    mapped = rules.data.get("open_model_mapping", {}).get(task)
    if mapped is None:
        raise PackageError(
            f"task {task!r} maps to no checker benchmark; give --map {task}=BENCHMARK "
            f"(one of {', '.join(rules.benchmarks)})"
        )
    return str(mapped)


def _closed_refusal(run: RunSource, rules: SubmissionRules) -> str | None:
    """Why this run cannot be a closed-division result, or None."""
    perf = run.folder / "performance" / "run_1" / "mlperf_log_detail.txt"
    log, problem = read_detail(perf)
    if log is None:
        why = problem.what if problem else "missing"
        return f"{perf}: no readable performance log ({why})"
    if log.get("result_validity") != "VALID":
        return f"{perf}: the performance run is {log.get('result_validity')}"
    duration = log.get("effective_min_duration_ms")
    if not isinstance(duration, int) or duration < rules.min_duration_ms:
        return (
            f"{perf}: effective_min_duration_ms {duration} < {rules.min_duration_ms}; "
            "rerun with --profile official"
        )
    sut, _ = read_json(perf.parent / "mlpace_sut.json")
    profile = str(sut.get("profile", "")) if isinstance(sut, dict) else ""
    if SHORT_PROFILE_MARK in profile:
        return f"{perf}: ran with the {profile}; rerun with --profile official"
    return None


def _user_conf(log: Any, model: str, scenario: str) -> str:
    """The settings this run asked for, as user.conf lines (the checker requires the file)."""
    lines = [f"# settings of the mlpace run that produced these logs ({scenario})"]
    keys = {
        "Server": (("target_qps", "effective_target_qps"),),
        "Offline": (("target_qps", "effective_target_qps"),),
        "SingleStream": (("target_latency", "requested_single_stream_expected_latency_ns"),),
        "MultiStream": (("target_latency", "requested_multi_stream_expected_latency_ns"),),
    }.get(scenario, ())
    for conf_key, log_key in keys:
        value = log.get(log_key) if log is not None else None
        if value is None:
            continue
        if conf_key == "target_latency":
            value = f"{float(value) / 1e6:g}"  # user.conf takes milliseconds
        lines.append(f"{model}.{scenario}.{conf_key} = {value}")
    if log is not None and log.get("effective_min_duration_ms") is not None:
        lines.append(f"{model}.{scenario}.min_duration = {log.get('effective_min_duration_ms')}")
    return "\n".join(lines) + "\n"


def _readme(run: RunSource, benchmark: str, sut: Mapping[str, Any]) -> str:
    backend = sut.get("backend", "?")
    return (
        f"# {benchmark} {run.scenario} on {run.system}\n\n"
        f"Produced by mlpace (task `{run.task}`, backend `{backend}`, "
        f"{sut.get('workers', '?')} worker(s), {sut.get('intra_op_threads', '?')} intra-op "
        f"thread(s), {sut.get('profile', 'profile unknown')}).\n\n"
        "Reproduce:\n\n"
        f"    mlpace run {run.task} --backend {backend} --scenario {run.scenario} "
        "--profile official --output OUT\n"
    )


def _measurements(sut: Mapping[str, Any]) -> dict[str, str]:
    model = str(sut.get("model", "model"))
    return {
        "input_data_types": "fp32",
        "retraining": "no",
        "starting_weights_filename": f"{model} (shipped with mlpace)",
        "weight_data_types": "fp32",
        "weight_transformations": "none",
    }


def _copy_accuracy(src: Path, dst: Path, rules: SubmissionRules, notes: list[str]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt"):
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    log = src / ACCURACY_LOG
    if not log.is_file():
        notes.append(f"{src}: no {ACCURACY_LOG}; accuracy folder incomplete")
        return
    digest = sha256_file(log)
    text = (
        (src / "accuracy.txt").read_text(encoding="utf-8")
        if (src / "accuracy.txt").is_file()
        else ""
    )
    hashes = [ln[5:].strip() for ln in text.splitlines() if ln.startswith("hash=")]
    if digest not in hashes:  # as the official truncation does: append the hash line
        text = text + f"\nhash={digest}\n"
        if hashes:
            notes.append(f"{src}/accuracy.txt: its hash= line did not match the log; appended")
    (dst / "accuracy.txt").write_text(text, encoding="utf-8")
    truncate_accuracy_log(log, dst / ACCURACY_LOG, int(rules.data["accuracy_log_view_bytes"]))


def _system_description(
    runs: Sequence[RunSource], system: str, req: PackageRequest, notes: list[str]
) -> dict[str, str]:
    from mlpace.system import describe_system, load_description

    captured: dict[str, str] = {}
    for run in runs:
        candidate = run.folder.parent / "system_description.json"
        if run.system == system and candidate.is_file():
            captured = load_description(candidate, flag="the run's system_description.json")
            break
    if captured:
        desc = describe_system(captured, version=req.version)
    else:
        notes.append(f"{system}: the run captured no system description; described this machine")
        desc = describe_system(version=req.version)
    desc.update(req.system_values)
    desc.update({"division": req.division, "submitter": req.submitter})
    if not desc.get("system_name"):
        desc["system_name"] = system
    return desc


def _snapshot_src(dst: Path) -> None:
    import mlpace

    pkg = Path(mlpace.__file__).parent
    shutil.copytree(
        pkg,
        dst / "mlpace",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    (dst / "README.md").write_text(
        f"# mlpace {getattr(mlpace, '__version__', '')}\n\nThe harness that produced these "
        "results: a snapshot of the `mlpace` Python package (LoadGen, workloads, SUT).\n"
        "Install it with `pip install -e .` from the mlpace repository.\n",
        encoding="utf-8",
    )


def package(req: PackageRequest) -> PackageResult:
    """Build the tree; raise PackageError (nothing written) when the runs cannot go in."""
    from mlpace.system import needs_user, validate_description

    rules = load_rules(req.version)
    if req.division not in rules.names("divisions"):
        raise PackageError(
            f"--division {req.division!r}: choose {', '.join(rules.names('divisions'))}"
        )
    if not req.submitter or "/" in req.submitter or req.submitter.startswith("."):
        raise PackageError(f"--submitter {req.submitter!r}: a plain folder name is required")
    runs = find_runs(req.results, rules)
    seen: dict[tuple[str, str, str], Path] = {}
    for r in runs:
        key = (r.system, r.task, r.scenario)
        if key in seen:
            raise PackageError(
                f"two runs of {'/'.join(key)}: {seen[key]} and {r.folder}; give only one of them"
            )
        seen[key] = r.folder
    benchmarks = {r.task: _benchmark(r.task, req, rules) for r in runs}
    if req.division in ("closed", "network"):
        refusals = [why for r in runs if (why := _closed_refusal(r, rules))]
        if refusals:
            raise PackageError(
                f"refusing to package into the {req.division} division: " + "; ".join(refusals)
            )
    notes: list[str] = []
    descriptions = {}
    for system in sorted({r.system for r in runs}):
        desc = _system_description(runs, system, req, notes)
        problems = validate_description(desc, req.version)
        missing = needs_user(desc, req.version)
        if problems or missing:
            parts = [p.format() for p in problems]
            if missing:
                parts.append(
                    f"the checker requires these keys non-empty: {', '.join(missing)}; give "
                    + " ".join(f"--set {k}=..." for k in missing)
                )
            raise PackageError(f"system {system}: " + "; ".join(parts))
        descriptions[system] = desc

    root = req.output / req.division / req.submitter
    (root / "systems").mkdir(parents=True, exist_ok=True)
    for system, desc in descriptions.items():
        (root / "systems" / f"{system}.json").write_text(
            json.dumps(desc, indent=2) + "\n", encoding="utf-8"
        )
    if req.include_src:
        _snapshot_src(root / "src")
    written = []
    for run in runs:
        written.append(_package_run(run, benchmarks[run.task], root, rules, notes))
    if req.division == "open":
        mapping = {t: b for t, b in benchmarks.items() if t != b}
        if mapping:
            (root / "model_mapping.json").write_text(
                json.dumps(mapping, indent=2) + "\n", encoding="utf-8"
            )
    return PackageResult(root, tuple(written), tuple(notes))


def _package_run(
    run: RunSource, benchmark: str, root: Path, rules: SubmissionRules, notes: list[str]
) -> Path:
    from mlpace.workloads.registry import get_task

    folder_name = benchmark if run.task == benchmark or rules.benchmark(run.task) else run.task
    dst = root / "results" / run.system / folder_name / run.scenario
    if dst.exists():
        shutil.rmtree(dst)
    perf_src = run.folder / "performance" / "run_1"
    perf_dst = dst / "performance" / "run_1"
    perf_dst.mkdir(parents=True)
    for name in rules.names("performance_files"):
        if (perf_src / name).is_file():
            shutil.copyfile(perf_src / name, perf_dst / name)
        else:
            notes.append(f"{perf_src}: no {name}")
    acc_src = run.folder / "accuracy"
    if acc_src.is_dir():
        _copy_accuracy(acc_src, dst / "accuracy", rules, notes)
    else:
        notes.append(f"{run.folder}: no accuracy run (performance only)")
    for test in sorted(run.folder.glob("TEST0*")):
        if test.is_dir():
            shutil.copytree(test, dst / test.name)
    sut, _ = read_json(perf_src / "mlpace_sut.json")
    sut = sut if isinstance(sut, dict) else {}
    log, _ = read_detail(perf_src / "mlperf_log_detail.txt")
    try:
        model = get_task(run.task).loadgen_model
    except MlpaceError:
        model = run.task
    (dst / "user.conf").write_text(_user_conf(log, model, run.scenario), encoding="utf-8")
    (dst / "README.md").write_text(_readme(run, benchmark, sut), encoding="utf-8")
    (dst / "measurements.json").write_text(
        json.dumps(_measurements(sut), indent=2) + "\n", encoding="utf-8"
    )
    return dst
