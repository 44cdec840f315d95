"""``mlpace check-submission``: the submission checker that explains every finding.

It reads the tree the official checker reads (``<division>/<submitter>/...``, rules of one
version from ``rules/submission_<v>.json``) and never raises on a malformed tree: a missing
folder, an empty file, a truncated JSON, a wrong scenario name, a symlink out of the tree or
an unsafe name is each a finding with its rule id, path (and line), what was found, what is
required and how to fix it. Per-scenario checks are in :mod:`mlpace.submission._scenario`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.submission._files import read_json
from mlpace.submission._scenario import ScenarioContext, check_scenario
from mlpace.submission.findings import Finding, Findings, format_findings
from mlpace.submission.rules_data import SubmissionRules, load_rules

__all__ = ["CheckReport", "ResultRow", "check_tree", "format_findings"]

# Control characters, backslashes, "..", a leading "-": names that break tools or escape paths.
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\\]|\.\.|^-")


@dataclass(frozen=True)
class ResultRow:
    """One result the checker accepted or rejected (the results table reads these)."""

    division: str
    submitter: str
    system: str
    system_name: str
    availability: str
    benchmark: str  # the checker benchmark (after model_mapping)
    folder: str  # the benchmark folder as named in the tree
    scenario: str
    metric: float | None
    unit: str
    valid: bool
    accuracy: str
    errors: int = 0  # the checker's errors in this result's folder
    system_type: str = ""
    processor: str = ""
    accelerator: str = ""
    framework: str = ""


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    results: list[ResultRow] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def _dirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def _safety(root: Path, out: Findings) -> set[Path]:
    """Unsafe names and symlinks leaving the tree; returns the paths to skip."""
    skip: set[Path] = set()
    real_root = root.resolve()
    for here, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(here)
        for name in [*dirnames, *filenames]:
            path = base / name
            if _UNSAFE_NAME.search(name):
                out.add(
                    "unsafe-name",
                    path,
                    repr(name),
                    "a name without control characters, backslashes, '..' or a leading '-'",
                )
                skip.add(path)
            if path.is_symlink():
                target = Path(os.path.realpath(path))
                if target != real_root and real_root not in target.parents:
                    out.add("symlink-outside", path, f"a link to {target}", "files inside the tree")
                    skip.add(path)
        dirnames[:] = [d for d in dirnames if base / d not in skip]
    return skip


def check_tree(root: str | Path, version: str = "v6.1") -> CheckReport:
    """Check every result under ``root`` (which holds closed/, open/ or network/)."""
    rules = load_rules(version)
    top = Path(root)
    out = Findings(rules, top)
    report = CheckReport()
    if not top.is_dir():
        out.add("no-division", top, "no such folder", "a folder holding closed/, open/ or network/")
        report.findings = out.items
        return report
    skip = _safety(top, out)
    divisions = rules.names("divisions")
    seen = False
    for entry in sorted(top.iterdir()):
        if entry in skip:
            continue
        if entry.name not in divisions:
            out.add("unknown-top-level", entry, entry.name, f"one of {', '.join(divisions)}")
            continue
        for submitter in _dirs(entry):
            if submitter in skip:
                continue
            seen = True
            _check_submitter(entry.name, submitter, rules, out, report, skip)
    if not seen:
        out.add(
            "no-division",
            top,
            "no <division>/<submitter>/ folder",
            f"{'/, '.join(divisions)}/ holding a submitter folder",
        )
    report.findings = out.items
    return report


def _model_mapping(folder: Path, division: str, out: Findings) -> dict[str, str]:
    path = folder / "model_mapping.json"
    if division != "open" or not path.exists():
        return {}
    data, problem = read_json(path)
    if problem is not None:
        out.add("model-mapping-invalid", path, problem.what, "a JSON object", line=problem.line)
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        out.add("model-mapping-invalid", path, type(data).__name__, "an object of strings")
        return {}
    return {str(k): str(v) for k, v in data.items()}


def _check_submitter(
    division: str,
    folder: Path,
    rules: SubmissionRules,
    out: Findings,
    report: CheckReport,
    skip: set[Path],
) -> None:
    results = folder / "results"
    if not results.is_dir():
        out.add("results-missing", results, "no results/ folder", "results/<system>/<benchmark>/")
        return
    src = folder / "src"
    if not src.is_dir():
        out.add("src-missing", src, "no src/ folder", "src/ with the code that produced it")
    mapping = _model_mapping(folder, division, out)
    for system_dir in _dirs(results):
        if system_dir in skip:
            continue
        system = _check_system(division, folder, system_dir.name, rules, out)
        for bench_dir in _dirs(system_dir):
            if bench_dir in skip:
                continue
            _check_benchmark(division, folder, bench_dir, system, mapping, rules, out, report, skip)


def _check_system(
    division: str, folder: Path, system: str, rules: SubmissionRules, out: Findings
) -> dict[str, Any] | None:
    path = folder / "systems" / f"{system}.json"
    if not path.is_file():
        out.add("system-json-missing", path, "no such file", f"systems/{system}.json")
        return None
    data, problem = read_json(path)
    if problem is not None:
        out.add("system-json-invalid", path, problem.what, "a JSON object", line=problem.line)
        return None
    if not isinstance(data, dict):
        out.add("system-json-invalid", path, type(data).__name__, "a JSON object")
        return None
    is_network = str(data.get("is_network", "")).lower() == "true"
    required = rules.names("system_required_fields")
    if is_network:
        required += rules.names("network_fields")
    meaningful = set(rules.names("system_meaningful_fields"))
    for key in required:
        if key not in data:
            out.add("system-field-missing", path, f"no key {key!r}", f"key {key!r}")
        elif key in meaningful and not str(data[key]).strip():
            out.add(
                "system-field-empty",
                path,
                f"{key} is empty",
                f"a meaningful {key}",
                fix=f"mlpace describe-system --set {key}=VALUE",
            )
    for key, rule, allowed in (
        ("status", "system-status", rules.names("statuses")),
        ("system_type", "system-type", rules.names("system_types")),
    ):
        value = str(data.get(key, ""))
        if value and value not in allowed:
            out.add(rule, path, f"{key} {value!r}", f"one of {', '.join(allowed)}")
    for key, rule, expected in (
        ("division", "system-division", division),
        ("submitter", "system-submitter", folder.name),
    ):
        value = str(data.get(key, ""))
        if value and value.lower() != expected.lower():
            out.add(rule, path, f"{key} {value!r}", f"{key} {expected!r} (its folder)")
    wants_network = {"network": True, "closed": False}.get(division)
    if wants_network is not None and wants_network != is_network:
        out.add("network-mode", path, f"is_network {is_network}", f"{wants_network} in {division}")
    return data


def _check_benchmark(
    division: str,
    folder: Path,
    bench_dir: Path,
    system: dict[str, Any] | None,
    mapping: dict[str, str],
    rules: SubmissionRules,
    out: Findings,
    report: CheckReport,
    skip: set[Path],
) -> None:
    name = rules.benchmark_name(bench_dir.name, mapping)
    spec = rules.benchmark(name)
    if spec is None:
        out.add(
            "unknown-benchmark",
            bench_dir,
            f"benchmark {bench_dir.name!r}",
            f"one of {', '.join(rules.benchmarks)}"
            + (" or a model_mapping.json entry" if division == "open" else ""),
        )
        return
    scenario_dirs = [d for d in _dirs(bench_dir) if d not in skip]
    names = [d.name for d in scenario_dirs]
    system_type = str((system or {}).get("system_type", ""))
    if division in ("closed", "network") and system is not None:
        required = spec["required_scenarios"].get(system_type)
        if required is None:
            out.add(
                "scenarios-missing",
                bench_dir,
                f"{name} for system_type {system_type!r}",
                "a system_type this benchmark has in this version",
            )
        else:
            missing = [s for s in required if s not in names]
            if missing:
                out.add(
                    "scenarios-missing",
                    bench_dir,
                    f"missing {', '.join(missing)}",
                    f"{', '.join(required)} for a {system_type} system",
                )
    for scen in scenario_dirs:
        if scen.name not in rules.scenarios:
            out.add(
                "unknown-scenario", scen, repr(scen.name), f"one of {', '.join(rules.scenarios)}"
            )
            continue
        ctx = ScenarioContext(
            division=division,
            folder=scen,
            benchmark=name,
            spec=spec,
            rules=rules,
            src=folder / "src",
            system=system,
        )
        before = sum(1 for f in out.items if f.severity == "error")
        metric, unit, accuracy = check_scenario(ctx, out)
        errors = sum(1 for f in out.items if f.severity == "error") - before
        info = system or {}
        report.results.append(
            ResultRow(
                division=division,
                submitter=folder.name,
                system=scen.parent.parent.name,
                system_name=str(info.get("system_name", "")),
                availability=str(info.get("status", "")),
                benchmark=name,
                folder=bench_dir.name,
                scenario=scen.name,
                metric=metric,
                unit=unit,
                valid=errors == 0 and system is not None,
                accuracy=accuracy,
                errors=errors,
                system_type=str(info.get("system_type", "")),
                processor=str(info.get("host_processor_model_name", "")),
                accelerator=str(info.get("accelerator_model_name", "")),
                framework=str(info.get("framework", "")),
            )
        )
