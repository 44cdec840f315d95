"""Verify one compliance test from log directories: the official verdict and mlpace's strict one.

``verify(test, reference=..., test_dir=...)`` reads the logs the way the official
``run_verification.py`` of that test does (``reference`` is a results scenario directory with
``accuracy/`` and ``performance/run_1/``; ``test_dir`` holds the audit run's logs directly, or is
a ``TEST0X/`` directory of the official layout), applies the official rule
(:mod:`mlpace.audit.official`) and mlpace's checks (:mod:`mlpace.audit.strict`), and returns a
:class:`Verdict`. :func:`write_official_layout` writes the ``TEST0X/`` folder the submission
checker reads.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpace.audit import official, strict
from mlpace.audit.catalog import TestSpec, audit_config_text, get_test, strict_rules
from mlpace.audit.logs import (
    ACCURACY_LOG,
    DETAIL_LOG,
    SUMMARY_LOG,
    DetailLog,
    read_accuracy,
    read_detail,
    read_raw_samples,
    read_summary,
)
from mlpace.audit.official import OfficialVerdict
from mlpace.audit.stats import scenario_estimate
from mlpace.audit.strict import Finding
from mlpace.errors import LogFormatError, MlpaceError

__all__ = ["Verdict", "VerifyOptions", "expected_settings", "verify", "write_official_layout"]

AUDIT_CONFIG = "audit.config"


@dataclass(frozen=True)
class VerifyOptions:
    version: str | None = None
    model: str | None = None  # picks the model's TEST01 audit.config when the run kept none
    dtype: str | None = None  # TEST01: the official --dtype (byte); TEST06: token dtype (int32)
    eos_token_id: int | None = None
    scenario: str | None = None  # TEST06 needs it when the run has no detail log
    unique_dir: Path | None = None  # TEST04: mlpace's every-sample-once run


@dataclass(frozen=True)
class Verdict:
    test: str
    title: str
    scenario: str | None
    official: OfficialVerdict
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    legacy: bool = False
    test_dir: str = ""

    @property
    def strict_passed(self) -> bool:
        return not any(f.failed for f in self.findings)

    @property
    def passed(self) -> bool:
        return self.official.passed and self.strict_passed

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["official_passed"] = self.official.passed
        data["strict_passed"] = self.strict_passed
        data["passed"] = self.passed
        return data


# ------------------------------------------------------------------------------ locating logs
def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise LogFormatError(f"{what} not found", path=str(path))
    return path


def _test_run_dir(test_dir: Path) -> tuple[Path, Path]:
    """(directory of the detail/summary logs, directory of the accuracy log) of an audit run."""
    if not test_dir.is_dir():
        raise LogFormatError("audit-run directory not found", path=str(test_dir))
    if (test_dir / DETAIL_LOG).is_file() or (test_dir / ACCURACY_LOG).is_file():
        return test_dir, test_dir
    layout = test_dir / "performance" / "run_1"
    if layout.is_dir() or (test_dir / "accuracy").is_dir():
        return layout, test_dir / "accuracy"
    raise LogFormatError(
        f"no {DETAIL_LOG} or {ACCURACY_LOG} here (nor a TEST0X layout with performance/run_1)",
        path=str(test_dir),
    )


def _reference_dirs(reference: Path | None, test: str) -> tuple[Path, Path]:
    if reference is None:
        raise LogFormatError(
            f"{test} compares with the reference (submission) runs: pass --reference DIR, the "
            "results/<system>/<model>/<scenario> folder with accuracy/ and performance/run_1/",
            path="--reference",
        )
    if not reference.is_dir():
        raise LogFormatError("reference results directory not found", path=str(reference))
    return reference / "performance" / "run_1", reference / "accuracy"


def expected_settings(config_text: str, scenario: str) -> tuple[dict[str, Any], dict[str, int]]:
    """What an audit.config sets for ``scenario``: changed fields, and the seeds it implies."""
    from mlpace.loadgen.config import (
        ConfType,
        apply_config,
        builtin_mlperf_conf_text,
        parse_config,
    )
    from mlpace.loadgen.enums import TestScenario
    from mlpace.loadgen.settings import TestSettings

    base = TestSettings(scenario=TestScenario(scenario))
    mlperf = parse_config(
        builtin_mlperf_conf_text(), path="<built-in mlperf.conf>", conf_type=ConfType.MLPERF
    )
    base, _ = apply_config(base, mlperf, model="*", scenario=scenario)
    audit = parse_config(config_text, path=AUDIT_CONFIG, conf_type=ConfType.AUDIT)
    after, _ = apply_config(base, audit, model="*", scenario=scenario)
    changed = {
        name: getattr(after, name)
        for name in after.field_names()
        if getattr(after, name) != getattr(base, name) and not name.startswith("test05")
    }
    seeds: dict[str, int] = {}
    if after.test05:
        seeds = {
            "qsl_rng_seed": after.test05_qsl_rng_seed,
            "sample_index_rng_seed": after.test05_sample_index_rng_seed,
            "schedule_rng_seed": after.test05_schedule_rng_seed,
        }
    return changed, seeds


def _config_used(run_dir: Path, spec: TestSpec, model: str | None) -> str:
    kept = run_dir / AUDIT_CONFIG
    if kept.is_file():
        return kept.read_text(encoding="utf-8")
    return audit_config_text(spec.name, model, spec.version)


def _applied(detail: DetailLog, config_text: str, scenario: str | None, run: str) -> Finding:
    if scenario is None:
        return Finding(f"applied-{run}", f"the {run} run used its audit.config", "n/a", "")
    try:
        expected, seeds = expected_settings(config_text, scenario)
    except MlpaceError as exc:
        return Finding(f"applied-{run}", f"the {run} run used its audit.config", "warn", f"{exc}")
    return strict.audit_config_applied(detail, expected, run, seeds=seeds)


def _scenario(detail: DetailLog, fallback: str | None) -> str | None:
    return detail.scenario or fallback


# ------------------------------------------------------------------------------ per test
def _verify_test01(
    spec: TestSpec, reference: Path | None, test_dir: Path, opts: VerifyOptions
) -> Verdict:
    perf_dir, acc_dir = _reference_dirs(reference, spec.name)
    run_dir, run_acc_dir = _test_run_dir(test_dir)
    ref_acc = read_accuracy(_need(acc_dir / ACCURACY_LOG, "reference accuracy log"))
    test_acc = read_accuracy(_need(run_acc_dir / ACCURACY_LOG, "audit-run accuracy log"))
    ref_detail = read_detail(_need(perf_dir / DETAIL_LOG, "reference detail log"))
    test_detail = read_detail(_need(run_dir / DETAIL_LOG, "audit-run detail log"))
    dtype = opts.dtype or str(spec.accuracy.get("dtype", "byte"))
    if dtype not in official.TEST01_DTYPES:
        raise MlpaceError(f"--dtype {dtype!r}: TEST01 takes {', '.join(official.TEST01_DTYPES)}")
    assert spec.performance is not None
    acc = official.test01_accuracy(ref_acc, test_acc, dtype)
    perf = official.test01_performance(ref_detail, test_detail, spec.performance)
    verdict = OfficialVerdict(
        spec.name,
        (acc, perf),
        (
            f"Accuracy check pass: {acc.passed}",
            f"Performance check pass: {perf.passed}",
            "TEST01 verification complete",
        ),
    )
    scenario = _scenario(test_detail, opts.scenario)
    findings = [
        _applied(test_detail, _config_used(run_dir, spec, opts.model), scenario, "audit"),
        strict.no_loadgen_errors(ref_detail, "reference"),
        strict.no_loadgen_errors(test_detail, "audit"),
        strict.run_valid(test_detail, "audit"),
        *strict.every_byte(ref_acc, test_acc, dtype),
    ]
    findings.append(
        _speed(
            spec,
            scenario,
            (perf_dir, ref_detail),
            (run_dir, test_detail),
            perf.threshold,
            lower=True,
            upper=True,
            official_passed=perf.passed,
            advice="the timed run with accuracy logging performs differently from the "
            "submission run: logging a few responses should cost almost nothing",
        )
    )
    return Verdict(
        spec.name, spec.title, scenario, verdict, tuple(findings), test_dir=str(test_dir)
    )


def _speed(
    spec: TestSpec,
    scenario: str | None,
    reference: tuple[Path, DetailLog],
    test: tuple[Path, DetailLog],
    threshold: float | None,
    *,
    lower: bool,
    upper: bool,
    official_passed: bool,
    advice: str,
    name: str = "speed",
    title: str = "performance matches the reference run",
    official_missed: str = "",
) -> Finding:
    """Strict speed comparison of two runs: the official threshold, on raw latencies."""
    confidence = float(strict_rules(spec.version)["confidence"])
    if scenario is None or spec.performance is None:
        return Finding(name, title, "n/a", "the scenario is unknown")
    if reference[1].scenario != test[1].scenario:
        return Finding(
            name,
            title,
            "fail",
            f"the reference run is {reference[1].scenario}, this run {test[1].scenario}",
            "runs of the same scenario",
            "compare with the reference run of the same system, model and scenario",
        )
    th = spec.performance.threshold if threshold is None else threshold
    ref_est = scenario_estimate(
        scenario, read_raw_samples(reference[0]), reference[1], confidence=confidence
    )
    test_est = scenario_estimate(
        scenario, read_raw_samples(test[0]), test[1], confidence=confidence
    )
    higher = ref_est.higher_is_better if ref_est is not None else True
    # The official bounds on scores, as bounds on speed (test speed / reference speed).
    slow_bound = (1.0 - th) if higher else 1.0 / (1.0 + th)
    fast_bound = (1.0 + th) if higher else (1.0 / (1.0 - th) if th < 1.0 else None)
    missed = official_missed or (
        "the official rule passed this comparison" if official_passed else ""
    )
    advice += (
        " (the interval covers the sampling noise within each run, not a machine whose load "
        "changed between the runs: on a shared machine, rerun before concluding)"
    )
    finding, _ = strict.speed_check(
        name,
        title,
        ref_est,
        test_est,
        lower=slow_bound if lower else None,
        upper=fast_bound if upper else None,
        confidence=confidence,
        advice=advice,
        official_missed=missed,
    )
    return finding


def _verify_test04(
    spec: TestSpec, reference: Path | None, test_dir: Path, opts: VerifyOptions
) -> Verdict:
    perf_dir, _ = _reference_dirs(reference, spec.name)
    run_dir, _ = _test_run_dir(test_dir)
    ref_summary = read_summary(_need(perf_dir / SUMMARY_LOG, "reference summary log"))
    test_summary = read_summary(_need(run_dir / SUMMARY_LOG, "audit-run summary log"))
    ref_detail = read_detail(_need(perf_dir / DETAIL_LOG, "reference detail log"))
    test_detail = read_detail(_need(run_dir / DETAIL_LOG, "audit-run detail log"))
    assert spec.performance is not None
    perf = official.test04_performance(ref_summary, test_summary, spec.performance)
    verdict = OfficialVerdict(
        spec.name,
        (perf,),
        (f"Performance check pass: {perf.passed}", "TEST04 verification complete"),
    )
    scenario = _scenario(test_detail, opts.scenario)
    th = perf.threshold
    findings = [
        _applied(test_detail, _config_used(run_dir, spec, opts.model), scenario, "audit"),
        strict.no_loadgen_errors(ref_detail, "reference"),
        strict.no_loadgen_errors(test_detail, "audit"),
        strict.run_valid(test_detail, "audit"),
        _speed(
            spec,
            scenario,
            (perf_dir, ref_detail),
            (run_dir, test_detail),
            th,
            lower=False,
            upper=True,
            official_passed=perf.passed,
            name="same-sample",
            title="repeating one sample is not much faster than the reference run",
            advice="the system answers a repeated sample faster than a fresh one: it reuses "
            "results (a cache keyed by sample index or content) or keeps that sample's data "
            "closer than the rest",
        ),
    ]
    findings += _unique_findings(
        spec, scenario, (perf_dir, ref_detail), opts.unique_dir, th, perf.passed
    )
    return Verdict(
        spec.name, spec.title, scenario, verdict, tuple(findings), test_dir=str(test_dir)
    )


def _unique_findings(
    spec: TestSpec,
    scenario: str | None,
    reference: tuple[Path, DetailLog],
    unique_dir: Path | None,
    threshold: float | None,
    official_passed: bool,
) -> list[Finding]:
    title = "a run that issues every sample once is as fast as the reference run"
    if unique_dir is None:
        return [
            Finding(
                "every-sample-once",
                title,
                "n/a",
                "not run (mlpace audit TEST04 runs it; with audit verify pass --unique DIR)",
            )
        ]
    run_dir, _ = _test_run_dir(unique_dir)
    detail = read_detail(_need(run_dir / DETAIL_LOG, "every-sample-once run detail log"))
    kept = run_dir / AUDIT_CONFIG
    out: list[Finding] = []
    if kept.is_file():
        out.append(
            _applied(detail, kept.read_text(encoding="utf-8"), scenario, "every-sample-once")
        )
    out.append(strict.no_loadgen_errors(detail, "every-sample-once"))
    missed = (
        "the official TEST04 rule passed this system: a cache keyed by sample index speeds the "
        "reference run up as much as the same-sample run"
        if official_passed
        else ""
    )
    out.append(
        _speed(
            spec,
            scenario,
            reference,
            (run_dir, detail),
            threshold,
            lower=True,
            upper=False,
            official_passed=official_passed,
            name="every-sample-once",
            title=title,
            official_missed=missed,
            advice="the reference run, which repeats the samples of a small performance set "
            "many times, is faster than a run where no sample repeats: the system reuses "
            "results by sample (caching), or it is tuned to the performance set",
        )
    )
    psc = reference[1].get("effective_performance_sample_count")
    if scenario is not None and isinstance(psc, int) and spec.performance is not None:
        rules = strict_rules(spec.version)
        out.append(
            strict.sample_set_bias(
                scenario,
                read_raw_samples(run_dir),
                detail,
                psc,
                threshold=spec.performance.threshold if threshold is None else threshold,
                confidence=float(rules["confidence"]),
            )
        )
    return out


def _verify_test05(
    spec: TestSpec, reference: Path | None, test_dir: Path, opts: VerifyOptions
) -> Verdict:
    perf_dir, _ = _reference_dirs(reference, spec.name)
    run_dir, _ = _test_run_dir(test_dir)
    ref_summary = read_summary(_need(perf_dir / SUMMARY_LOG, "reference summary log"))
    test_summary = read_summary(_need(run_dir / SUMMARY_LOG, "audit-run summary log"))
    ref_detail = read_detail(_need(perf_dir / DETAIL_LOG, "reference detail log"))
    test_detail = read_detail(_need(run_dir / DETAIL_LOG, "audit-run detail log"))
    assert spec.performance is not None
    perf = official.test05_performance(ref_summary, test_summary, spec.performance)
    literal = official.test05_performance(ref_summary, test_summary, spec.performance, literal=True)
    notes = [
        f"TEST05 is a legacy test (required up to {spec.last_required_in}); its rule is "
        "applied to today's summary wording"
    ]
    if literal.passed != perf.passed:
        notes.append(
            "the legacy TEST05 script itself looks for 'Early stopping 90th percentile "
            "estimate', which summaries now print as '90.0th', so on these logs it would "
            f"report Performance check pass: {literal.passed}"
        )
    verdict = OfficialVerdict(
        spec.name,
        (perf,),
        (f"Performance check pass: {perf.passed}", "TEST05 verification complete"),
    )
    scenario = _scenario(test_detail, opts.scenario)
    config = _config_used(run_dir, spec, opts.model)
    findings = [
        _applied(test_detail, config, scenario, "audit"),
        _seeds_changed(ref_detail, test_detail),
        _seeds_unpublished(test_detail),
        strict.no_loadgen_errors(ref_detail, "reference"),
        strict.no_loadgen_errors(test_detail, "audit"),
        _speed(
            spec,
            scenario,
            (perf_dir, ref_detail),
            (run_dir, test_detail),
            perf.threshold,
            lower=True,
            upper=False,
            official_passed=perf.passed,
            name="other-seeds",
            title="performance with other seeds matches the reference run",
            advice="the system is faster with the round's seeds than with others: it "
            "recognises the official sample order or arrival schedule (precomputed "
            "schedule, seed-specific tuning)",
        ),
    ]
    return Verdict(
        spec.name,
        spec.title,
        scenario,
        verdict,
        tuple(findings),
        tuple(notes),
        legacy=True,
        test_dir=str(test_dir),
    )


_SEEDS = ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed")


def _seeds_changed(reference: DetailLog, test: DetailLog) -> Finding:
    ref = [reference.get(f"effective_{s}") for s in _SEEDS]
    new = [test.get(f"effective_{s}") for s in _SEEDS]
    title = "the audit run used other seeds than the reference"
    if ref != new:
        return Finding("seeds", title, "pass", f"seeds {new} instead of {ref}")
    return Finding(
        "seeds",
        title,
        "fail",
        f"the audit run used the reference's seeds {ref}",
        "other qsl/sample-index/schedule seeds",
        "the test05 keys of the audit.config were not applied: the official LoadGen reads them "
        "only from mlperf.conf, which is compiled into its wheel since v4.1, so TEST05 cannot "
        "run on it; run the harness on mlpace.compat.loadgen",
        official_missed="the official TEST05 rule compares only scores, never the seeds",
    )


def _seeds_unpublished(test: DetailLog) -> Finding:
    """Published alternate seeds are as public as the round's: a system can know both."""
    from mlpace.loadgen.config import ConfType, apply_config, builtin_mlperf_conf_text, parse_config
    from mlpace.loadgen.settings import TestSettings

    conf = parse_config(builtin_mlperf_conf_text(), path="mlperf.conf", conf_type=ConfType.MLPERF)
    s, _ = apply_config(TestSettings(), conf, model="*", scenario="Offline")
    published = {
        "the round's seeds": [s.qsl_rng_seed, s.sample_index_rng_seed, s.schedule_rng_seed],
        "mlperf.conf's test05 seeds": [
            s.test05_qsl_rng_seed,
            s.test05_sample_index_rng_seed,
            s.test05_schedule_rng_seed,
        ],
    }
    used = [test.get(f"effective_{n}") for n in _SEEDS]
    title = "the audit run's seeds were not published in advance"
    for name, seeds in published.items():
        if used == seeds:
            return Finding(
                "fresh-seeds",
                title,
                "warn",
                f"the run used {name}",
                advice="a system can recognise any published seed as well as the round's; "
                "mlpace audit TEST05 draws fresh seeds unless told otherwise",
            )
    return Finding("fresh-seeds", title, "pass", f"seeds {used} are in no published set")


def _verify_test06(
    spec: TestSpec, reference: Path | None, test_dir: Path, opts: VerifyOptions
) -> Verdict:
    run_dir, acc_dir = _test_run_dir(test_dir)
    test_acc = read_accuracy(_need(acc_dir / ACCURACY_LOG, "audit-run accuracy log"))
    detail_path = run_dir / DETAIL_LOG
    detail = read_detail(detail_path) if detail_path.is_file() else None
    scenario = opts.scenario or (detail.scenario if detail is not None else None)
    if scenario is None:
        raise LogFormatError(
            "TEST06 needs the scenario: the run has no detail log, so pass --scenario",
            path=str(detail_path),
        )
    dtype = opts.dtype or str(spec.accuracy.get("dtype", "int32"))
    if dtype not in official.TEST06_DTYPES:
        raise MlpaceError(f"--dtype {dtype!r}: TEST06 takes {', '.join(official.TEST06_DTYPES)}")
    eos = (
        opts.eos_token_id
        if opts.eos_token_id is not None
        else int(spec.accuracy.get("eos_token_id", 2))
    )
    check = official.test06_accuracy(test_acc, scenario, dtype, eos)
    verdict = OfficialVerdict(spec.name, (check,), check.output)
    findings: list[Finding] = []
    if detail is not None:
        findings += [
            _applied(detail, _config_used(run_dir, spec, opts.model), scenario, "audit"),
            strict.no_loadgen_errors(detail, "audit"),
        ]
    findings.append(strict.token_consistency(test_acc, scenario, dtype, eos, check.passed))
    return Verdict(
        spec.name, spec.title, scenario, verdict, tuple(findings), test_dir=str(test_dir)
    )


_VERIFIERS = {
    "TEST01": _verify_test01,
    "TEST04": _verify_test04,
    "TEST05": _verify_test05,
    "TEST06": _verify_test06,
}


def verify(
    test: str,
    *,
    reference: str | Path | None,
    test_dir: str | Path,
    options: VerifyOptions | None = None,
) -> Verdict:
    """Verify ``test`` on existing logs (see the module docstring for the directories)."""
    opts = options or VerifyOptions()
    spec = get_test(test, opts.version)
    verifier = _VERIFIERS[spec.name]
    ref = Path(reference) if reference is not None else None
    return verifier(spec, ref, Path(test_dir), opts)


# ------------------------------------------------------------------------------ layout
def _copy(src: Path, dst_dir: Path) -> None:
    if src.is_file():
        dst_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst_dir / src.name)


def write_official_layout(verdict: Verdict, scenario_dir: str | Path) -> Path:
    """Write ``<scenario_dir>/TEST0X/`` as the official run_verification.py leaves it.

    Only the files the submission checker expects go there: ``verify_accuracy.txt`` and/or
    ``verify_performance.txt`` (the official check's lines), ``accuracy/mlperf_log_accuracy.json``
    and ``performance/run_1/mlperf_log_{summary,detail}.txt`` copied from the audit run.
    """
    out = Path(scenario_dir) / verdict.test
    out.mkdir(parents=True, exist_ok=True)
    run_dir, acc_dir = _test_run_dir(Path(verdict.test_dir))
    for check in verdict.official.checks:
        (out / f"verify_{check.name}.txt").write_text("\n".join(check.output) + "\n")
    if verdict.test in ("TEST01", "TEST06"):
        _copy(acc_dir / ACCURACY_LOG, out / "accuracy")
    if verdict.test in ("TEST01", "TEST04", "TEST05"):
        for name in (SUMMARY_LOG, DETAIL_LOG):
            _copy(run_dir / name, out / "performance" / "run_1")
    return out
