"""Run compliance tests end to end: the runs each test needs, then its verdicts and layout.

:func:`run_audit` drives either a registered mlpace task (in-process, see
:mod:`mlpace.audit.tasks`) or a user's harness command (:mod:`mlpace.audit.harness`). Each run
gets its own working directory under ``<output>/audit/<label>/`` (``label`` is the scenario, or
``harness`` for a harness whose scenario is not known in advance):

* ``reference/accuracy/`` and ``reference/performance/run_1/``: the reference (submission) runs,
  shared by every test of the label; skipped with ``reference=DIR``;
* ``TEST01/``, ``TEST04/``, ``TEST05/``, ``TEST06/``: the audit runs, each with the test's
  audit.config placed in the directory;
* ``TEST04-unique/``: mlpace's every-sample-once run (strict TEST04);
* ``TEST0X.verdict.txt`` / ``.json``: the full verdict (official and strict).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlpace.audit.catalog import (
    ALL_TESTS,
    applicable_tests,
    audit_config_text,
    get_test,
    strict_rules,
)
from mlpace.audit.logs import ACCURACY_LOG, DETAIL_LOG, SUMMARY_LOG, read_accuracy, read_detail
from mlpace.audit.report import render_verdict
from mlpace.audit.verify import Verdict, VerifyOptions, verify, write_official_layout
from mlpace.clock import Clock
from mlpace.errors import MlpaceError

__all__ = ["AuditOptions", "AuditReport", "ScenarioAudit", "run_audit", "unique_run_config"]

Progress = Callable[[str], None]
HarnessCallable = Callable[[str, "str | None"], int]
REFERENCE_RUNS = ("reference-accuracy", "reference-performance")


@dataclass(frozen=True)
class AuditOptions:
    tests: tuple[str, ...]  # TEST01 ... or ("all",)
    output: Path
    task: str | None = None
    harness: str | HarnessCallable | None = None
    scenarios: tuple[str, ...] = ()
    logs_from: str | None = None
    reference: Path | None = None
    model: str | None = None
    system: str | None = None
    version: str | None = None
    dtype: str | None = None
    eos_token_id: int | None = None
    # TEST05: "fresh" (new random seeds, recorded), "published" (mlperf.conf's test05 seeds)
    # or the three seeds (qsl, sample index, schedule).
    test05_seeds: str | tuple[int, int, int] = "fresh"
    profile: str = "short"
    backend: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    user_conf: str | None = None
    clock: Clock | None = None
    timeout_s: float | None = None
    progress: Progress | None = None


@dataclass(frozen=True)
class ScenarioAudit:
    label: str
    scenario: str | None
    results_dir: Path | None
    verdicts: tuple[Verdict, ...]
    skipped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AuditReport:
    output: Path
    audits: tuple[ScenarioAudit, ...]

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(v for a in self.audits for v in a.verdicts)

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(v.passed for v in self.verdicts)


class Executor(Protocol):
    """Runs one pass of the system under audit into a working directory."""

    def run(
        self,
        label: str,
        scenario: str | None,
        run: str,
        mode: str,
        workdir: Path,
        config: str | None,
    ) -> None: ...


# ------------------------------------------------------------------------------ audit.configs
def unique_run_config(reference_detail: Any, factor: int, keys: dict[str, int]) -> str:
    """mlpace's every-sample-once run for TEST04, sized from the reference performance run.

    Its sample set is the first ``factor`` x performance_sample_count samples (capped at the data
    set), so half of it lies outside the performance set; every sample is issued exactly once.
    """
    scenario = reference_detail.get("effective_scenario")
    total = int(reference_detail.get("qsl_reported_total_count") or 0)
    psc = int(reference_detail.get("effective_performance_sample_count") or 0)
    spq = int(reference_detail.get("effective_samples_per_query") or 1)
    if (
        total <= 0
        or psc <= 0
        or scenario not in ("SingleStream", "MultiStream", "Server", "Offline")
    ):
        raise MlpaceError(
            f"{reference_detail.path}: the reference performance run does not say its scenario, "
            "data set size and performance sample count; cannot size the every-sample-once run"
        )
    size = min(total, factor * psc)
    queries = {"MultiStream": max(1, size // max(1, spq)), "Offline": 1}.get(scenario, size)
    lines = [
        "# mlpace strict TEST04: every sample of a set twice the performance set, issued once",
        *(f"*.{scenario}.{k} = {v}" for k, v in keys.items()),
        f"*.{scenario}.performance_sample_count_override = {size}",
        f"*.{scenario}.min_query_count = {queries}",
        "",
    ]
    return "\n".join(lines)


def test05_config(base: str, seeds: str | tuple[int, int, int]) -> tuple[str, str]:
    """The TEST05 audit.config for the chosen seeds, and a sentence that says which they are."""
    if seeds == "published":
        return base, "the published test05 seeds of mlperf.conf"
    if seeds == "fresh":
        chosen = (secrets.randbits(64), secrets.randbits(64), secrets.randbits(64))
        what = "fresh random seeds drawn for this audit"
    elif isinstance(seeds, tuple) and len(seeds) == 3:
        chosen = tuple(int(s) for s in seeds)  # type: ignore[assignment]
        what = "the seeds given"
    else:
        raise MlpaceError(f"TEST05 seeds must be 'fresh', 'published' or three numbers: {seeds!r}")
    names = ("qsl", "sample_index", "schedule")
    extra = [f"*.*.test05_{n}_rng_seed = {s}" for n, s in zip(names, chosen)]
    return base.rstrip("\n") + "\n" + "\n".join(extra) + "\n", f"{what}: {list(chosen)}"


# ------------------------------------------------------------------------------ the session
def _say(opts: AuditOptions, line: str) -> None:
    if opts.progress is not None:
        opts.progress(line)


def _resolve_tests(opts: AuditOptions, token_output: bool) -> tuple[str, ...]:
    if "all" in (t.lower() for t in opts.tests):
        return applicable_tests(opts.model, token_output=token_output, version=opts.version)
    return tuple(dict.fromkeys(get_test(t, opts.version).name for t in opts.tests))


def _run_dir(base: Path, run: str) -> Path:
    if run == "reference-accuracy":
        return base / "reference" / "accuracy"
    if run == "reference-performance":
        return base / "reference" / "performance" / "run_1"
    return base / run


def _is_token_output(reference_dir: Path) -> bool:
    path = reference_dir / "accuracy" / ACCURACY_LOG
    if not path.is_file():
        return False
    log = read_accuracy(path)
    return any(e.token_count is not None for e in log.entries[:50])


def _copy_reference(reference_dir: Path, results_dir: Path) -> None:
    """The reference runs' official files, into the results layout (checker-clean folders)."""
    perf = reference_dir / "performance" / "run_1"
    acc = reference_dir / "accuracy"
    for src_dir, names, dst in (
        (perf, (SUMMARY_LOG, DETAIL_LOG), results_dir / "performance" / "run_1"),
        (acc, (SUMMARY_LOG, DETAIL_LOG, ACCURACY_LOG, "accuracy.txt"), results_dir / "accuracy"),
    ):
        for name in names:
            if (src_dir / name).is_file():
                dst.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src_dir / name, dst / name)


class _Label:
    """One scenario (or one unknown-scenario harness) being audited."""

    def __init__(
        self, opts: AuditOptions, executor: Executor, label: str, scenario: str | None
    ) -> None:
        self.opts = opts
        self.executor = executor
        self.label = label
        self.scenario = scenario
        self.base = opts.output / "audit" / label
        self.ran_reference = False

    def run(self, run: str, mode: str, config: str | None = None) -> Path:
        workdir = _run_dir(self.base, run)
        what = " with its audit.config" if config is not None else ""
        _say(self.opts, f"mlpace audit: [{self.label}] {run} ({mode} mode{what}) -> {workdir}")
        self.executor.run(self.label, self.scenario, run, mode, workdir, config)
        return workdir

    def reference_dir(self, runs: set[str]) -> Path:
        if self.opts.reference is not None:
            return self.opts.reference
        for run in REFERENCE_RUNS:
            if run in runs:
                mode = "accuracy" if run == "reference-accuracy" else "performance"
                self.run(run, mode)
                self.ran_reference = True
        return self.base / "reference"


def _audit_one(
    opts: AuditOptions, executor: Executor, label: str, scenario: str | None
) -> ScenarioAudit:
    lab = _Label(opts, executor, label, scenario)
    explicit = "all" not in (t.lower() for t in opts.tests)
    wanted = _resolve_tests(opts, token_output=False) if explicit else ALL_TESTS
    runs = {r for t in wanted for r in get_test(t, opts.version).runs}
    if not explicit:
        runs |= set(REFERENCE_RUNS)
    reference = lab.reference_dir(runs)
    tests = wanted if explicit else _resolve_tests(opts, _is_token_output(reference))
    verdicts: list[Verdict] = []
    skipped = [] if explicit else [(t, _why_not(t)) for t in ALL_TESTS if t not in tests]
    for test in tests:
        verdicts.append(_run_test(lab, test, reference))
    detail_scenario = next((v.scenario for v in verdicts if v.scenario), scenario)
    results_dir = None
    if detail_scenario is not None:
        model = opts.model or (getattr(executor, "results_name", None) or "model")
        system = opts.system or getattr(executor, "system", None) or "harness"
        results_dir = opts.output / "results" / system / model / detail_scenario
        if lab.ran_reference:
            _copy_reference(reference, results_dir)
        for v in verdicts:
            write_official_layout(v, results_dir)
    return ScenarioAudit(label, detail_scenario, results_dir, tuple(verdicts), tuple(skipped))


def _why_not(test: str) -> str:
    if test == "TEST06":
        return "it checks LLM token outputs; this system logs none"
    return "not for this model: its outputs are LLM tokens (TEST06 checks those)"


def _run_test(lab: _Label, test: str, reference: Path) -> Verdict:
    opts = lab.opts
    spec = get_test(test, opts.version)
    config = audit_config_text(spec.name, opts.model, opts.version)
    notes: list[str] = []
    if spec.name == "TEST05":
        config, which = test05_config(config, opts.test05_seeds)
        notes.append(f"TEST05 ran with {which}")
    test_dir = lab.run(spec.name, "performance", config)
    unique_dir = None
    if spec.name == "TEST04":
        rules = strict_rules(opts.version)["unique_run"]
        detail = read_detail(reference / "performance" / "run_1" / DETAIL_LOG)
        unique = unique_run_config(detail, int(rules["set_size_factor"]), dict(rules["keys"]))
        unique_dir = lab.run("TEST04-unique", "performance", unique)
    verdict = verify(
        spec.name,
        reference=reference if spec.name != "TEST06" else None,
        test_dir=test_dir,
        options=VerifyOptions(
            version=opts.version,
            model=opts.model,
            dtype=opts.dtype if spec.name != "TEST06" else None,
            eos_token_id=opts.eos_token_id,
            scenario=lab.scenario,
            unique_dir=unique_dir,
        ),
    )
    if notes:
        verdict = dataclasses.replace(verdict, notes=(*verdict.notes, *notes))
    (lab.base / f"{spec.name}.verdict.txt").write_text(render_verdict(verdict) + "\n")
    (lab.base / f"{spec.name}.verdict.json").write_text(
        json.dumps(verdict.to_json(), indent=2, default=str)
    )
    return verdict


def run_audit(opts: AuditOptions) -> AuditReport:
    """Run the tests of ``opts`` on a task or a harness; see the module docstring."""
    from mlpace.audit.harness import CallableHarness, CommandHarness

    if (opts.task is None) == (opts.harness is None):
        raise MlpaceError("audit a task (e.g. digits) or a harness (--harness CMD), not both")
    executor: Any
    labels: list[tuple[str, str | None]]
    if opts.task is not None:
        from mlpace.audit.tasks import TaskTarget

        _check_task_tests(opts, opts.task)
        target = TaskTarget(
            opts.task,
            profile=opts.profile,
            backend=opts.backend,
            system=opts.system,
            clock=opts.clock,
            overrides=opts.overrides,
            user_conf=opts.user_conf,
            progress=opts.progress,
        )
        executor = _TaskExecutor(target)
        chosen = opts.scenarios or target.scenarios
        for s in chosen:
            target.task.check_scenario(s)
        labels = [(s, s) for s in chosen]
    else:
        assert opts.harness is not None
        if callable(opts.harness):
            executor = CallableHarness(opts.harness, logs_from=opts.logs_from)
        else:
            executor = CommandHarness(
                opts.harness,
                logs_from=opts.logs_from,
                timeout_s=opts.timeout_s,
                progress=opts.progress,
            )
        labels = [(s, s) for s in opts.scenarios] or [("harness", None)]
    audits = [_audit_one(opts, executor, label, scenario) for label, scenario in labels]
    return AuditReport(opts.output, tuple(audits))


def _check_task_tests(opts: AuditOptions, task: str) -> None:
    if "all" in (t.lower() for t in opts.tests):
        return
    for t in opts.tests:
        if get_test(t, opts.version).name == "TEST06":
            raise MlpaceError(
                f"TEST06 checks the token outputs of LLMs; {task!r} produces none. Audit a "
                "token-producing harness with --harness"
            )


class _TaskExecutor:
    def __init__(self, target: Any) -> None:
        self.target = target
        self.results_name = target.results_name
        self.system = target.system

    def run(
        self,
        label: str,
        scenario: str | None,
        run: str,
        mode: str,
        workdir: Path,
        config: str | None,
    ) -> None:
        assert scenario is not None
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        audit_path = None
        if config is not None:
            audit_path = workdir / "audit.config"
            audit_path.write_text(config)
        self.target.run(scenario, mode, workdir, audit_path)
