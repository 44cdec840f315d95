"""Directory mode: every ``result_*.txt`` of a ``results/<system>/<benchmark>/`` tree.

Per benchmark folder: each log is checked; the number of logs must equal the benchmark's
required run count; up to ``max_dropped`` failing logs are allowed (olympic scoring drops
them) and reported as warnings at folder level; closed division only, the seed check: every
run logs an int-convertible ``seed`` with file/lineno metadata, and no two runs log the same
seed value from the same file and line (more than one seed in a run only warns).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.checker.engine import LogCheckResult, check_parsed
from mlpace.training.checker.findings import ERROR, WARNING, Finding
from mlpace.training.checker.rules import load_ruleset
from mlpace.training.mllog import ParsedLog, read_mllog


@dataclass(frozen=True)
class FolderCheckResult:
    folder: str
    benchmark: str
    logs: tuple[LogCheckResult, ...]
    findings: tuple[Finding, ...]  # folder-level: run count, drops, seeds

    allowed_failures: int = 1  # failed runs the olympic scoring drops (max_dropped)

    @property
    def passed(self) -> bool:
        return not any(f.is_error for f in self.findings)

    @property
    def failed_logs(self) -> tuple[LogCheckResult, ...]:
        return tuple(r for r in self.logs if not r.passed)

    @property
    def tolerated_failures(self) -> tuple[str, ...]:
        """Logs that fail compliance while the folder still passes: the rules let olympic
        scoring drop up to ``allowed_failures`` failed runs."""
        return tuple(r.path for r in self.failed_logs) if self.passed else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "benchmark": self.benchmark,
            "passed": self.passed,
            "allowed_failures": self.allowed_failures,
            "tolerated_failures": list(self.tolerated_failures),
            "findings": [f.to_dict() for f in self.findings],
            "logs": [r.to_dict() for r in self.logs],
        }


@dataclass(frozen=True)
class PackageCheckResult:
    root: str
    folders: tuple[FolderCheckResult, ...]

    @property
    def passed(self) -> bool:
        return bool(self.folders) and all(f.passed for f in self.folders)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "passed": self.passed,
            "folders": [f.to_dict() for f in self.folders],
        }


def _seed_findings(folder: str, parsed: Sequence[ParsedLog]) -> list[Finding]:
    out: list[Finding] = []
    where: dict[tuple[Any, Any, str], str] = {}
    for log in parsed:
        seeds = log.by_key(C.SEED)
        if not seeds:
            out.append(
                Finding("package.seed.missing", ERROR, "the run logs no seed", path=log.path)
            )
            continue
        if len(seeds) > 1:
            out.append(
                Finding(
                    "package.seed.multiple",
                    WARNING,
                    f"the run logs {len(seeds)} seeds",
                    path=log.path,
                    line=seeds[1].line,
                    index=seeds[1].index,
                    key=C.SEED,
                )
            )
        for rec in seeds:
            file, lineno = rec.metadata.get("file"), rec.metadata.get("lineno")
            if file is None or lineno is None:
                out.append(
                    Finding(
                        "package.seed.metadata",
                        ERROR,
                        "the seed line lacks file/lineno metadata (log it through MLLogger)",
                        path=log.path,
                        line=rec.line,
                        index=rec.index,
                        key=C.SEED,
                    )
                )
                continue
            try:
                value = str(int(rec.value))
            except (TypeError, ValueError):
                out.append(
                    Finding(
                        "package.seed.int",
                        ERROR,
                        f"seed {rec.value!r} is not an integer",
                        path=log.path,
                        line=rec.line,
                        index=rec.index,
                        key=C.SEED,
                    )
                )
                continue
            slot = (file, lineno, value)
            if slot in where and where[slot] != log.path:
                out.append(
                    Finding(
                        "package.seed.duplicate",
                        ERROR,
                        f"seed {value} from {file}:{lineno} is also logged by {where[slot]}; "
                        "every run needs its own seed",
                        path=log.path,
                        line=rec.line,
                        index=rec.index,
                        key=C.SEED,
                    )
                )
            where.setdefault(slot, log.path)
    return out


def check_folder(
    folder: str | Path,
    *,
    ruleset: str = C.DEFAULT_RULESET,
    benchmark: str | None = None,
) -> FolderCheckResult:
    """Check one ``<benchmark>/`` folder of result logs."""
    from mlpace.training.benchmarks_official import max_dropped, runs_required

    base = Path(folder)
    files = sorted(base.glob("result_*.txt"))
    parsed = [read_mllog(f) for f in files]
    name = benchmark or base.name
    rs = load_ruleset(ruleset)
    findings: list[Finding] = []
    if name not in rs.allowed_benchmarks:
        logged = {
            str(rec.value) for p in parsed if (rec := p.first(C.SUBMISSION_BENCHMARK)) is not None
        }
        findings.append(
            Finding(
                "package.benchmark_folder",
                WARNING,
                f"folder name {name!r} is not a benchmark of ruleset {ruleset}"
                + (f"; the logs say {', '.join(sorted(logged))}" if logged else ""),
                path=str(base),
            )
        )
        if len(logged) == 1:
            name = logged.pop()
    results = tuple(check_parsed(p, ruleset=rs, benchmark=name) for p in parsed)
    try:
        needed: int | None = runs_required(name)
    except TrainingError:
        needed = None
    if needed is not None and len(files) != needed:
        findings.append(
            Finding(
                "package.run_count",
                ERROR,
                f"found {len(files)} result_*.txt files, {name} requires exactly {needed}",
                path=str(base),
            )
        )
    if not files:
        findings.append(Finding("package.empty", ERROR, "no result_*.txt files", path=str(base)))
    failing = [r for r in results if not r.passed]
    allowed = max_dropped(name)
    if len(failing) > allowed:
        findings.append(
            Finding(
                "package.failed_runs",
                ERROR,
                f"{len(failing)} runs fail compliance; olympic scoring allows {allowed}: "
                + ", ".join(Path(r.path).name for r in failing),
                path=str(base),
            )
        )
    elif failing:
        findings.append(
            Finding(
                "package.failed_runs",
                WARNING,
                f"{len(failing)} run(s) fail compliance; tolerated: the rules let olympic "
                f"scoring drop up to {allowed} failed run(s): "
                + ", ".join(Path(r.path).name for r in failing),
                path=str(base),
            )
        )
    divisions = {r.division for r in results if r.division}
    if C.CLOSED in divisions:
        findings.extend(_seed_findings(str(base), parsed))
    return FolderCheckResult(str(base), name, results, tuple(findings), allowed)


def check_package(
    root: str | Path, *, ruleset: str = C.DEFAULT_RULESET, benchmark: str | None = None
) -> PackageCheckResult:
    """Check every folder under ``root`` that holds ``result_*.txt`` files."""
    base = Path(root)
    if not base.is_dir():
        raise TrainingError(f"no such results directory: {root}")
    groups: dict[Path, None] = defaultdict(lambda: None)
    for f in sorted(base.rglob("result_*.txt")):
        if "power" in f.relative_to(base).parts:
            continue  # power/result_<i>/ folders hold node logs, not runs
        groups[f.parent]
    if not groups:
        raise TrainingError(f"{root}: no result_*.txt files found")
    folders = tuple(check_folder(g, ruleset=ruleset, benchmark=benchmark) for g in groups)
    return PackageCheckResult(str(base), folders)
