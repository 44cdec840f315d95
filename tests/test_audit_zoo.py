"""The cheat zoo: dishonest systems written against the drop-in API, each flagged; an honest
one passing every test in every scenario. All on a virtual clock (exact, no sleeps)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "audit"))

import zoo_harness  # noqa: E402

from mlpace.audit import AuditOptions, AuditReport, render_verdict, run_audit  # noqa: E402

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
SMALL = ["--total", "128", "--psc", "16", "--min-query-count", "400", "--min-duration-ms", "300"]


def _audit(
    tmp_path: Path,
    sut: str,
    scenario: str,
    tests: tuple[str, ...],
    *,
    seeds: str | tuple[int, int, int] = (101, 202, 303),
    extra: tuple[str, ...] = (),
) -> AuditReport:
    return run_audit(
        AuditOptions(
            tests=tests,
            output=tmp_path,
            harness=zoo_harness.as_callable(["--sut", sut, *SMALL, *extra]),
            scenarios=(scenario,),
            test05_seeds=seeds,
        )
    )


def _failed(report: AuditReport, test: str) -> set[str]:
    verdict = next(v for v in report.verdicts if v.test == test)
    return {f.name for f in verdict.findings if f.failed}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_an_honest_system_passes_every_test(tmp_path: Path, scenario: str) -> None:
    report = _audit(tmp_path, "honest", scenario, ("TEST01", "TEST04", "TEST05"))
    for verdict in report.verdicts:
        assert verdict.official.passed, render_verdict(verdict)
        assert verdict.strict_passed, render_verdict(verdict)
    results = tmp_path / "results" / "harness" / "model" / scenario
    assert (results / "TEST01" / "verify_accuracy.txt").read_text().splitlines()[-2] == "TEST PASS"
    assert "TEST PASS" in (results / "TEST04" / "verify_performance.txt").read_text()
    assert (results / "performance" / "run_1" / "mlperf_log_detail.txt").is_file()
    assert sorted(p.name for p in (results / "TEST04" / "performance" / "run_1").iterdir()) == [
        "mlperf_log_detail.txt",
        "mlperf_log_summary.txt",
    ]


@pytest.mark.parametrize("scenario", ("Server", "Offline"))
def test_an_honest_llm_passes_test06(tmp_path: Path, scenario: str) -> None:
    report = _audit(tmp_path, "tokens", scenario, ("TEST06",))
    (verdict,) = report.verdicts
    assert verdict.passed, render_verdict(verdict)
    text = tmp_path / "results" / "harness" / "model" / scenario / "TEST06" / "verify_accuracy.txt"
    first = "Skipped" if scenario == "Offline" else "True"
    assert text.read_text().splitlines() == [
        f"First token check pass: {first}",
        "EOS check pass: True",
        "Sample length check pass: True",
        "TEST06 verification complete",
    ]


# (sut, scenario, test, official verdict, strict findings that must fail)
CHEATS = [
    # A cache keyed by sample index: the official TEST04 ratio passes it; the run that issues
    # every sample once does not.
    ("cache", "SingleStream", "TEST04", True, {"every-sample-once"}),
    ("cache", "Offline", "TEST04", True, {"every-sample-once"}),
    # Server: the official rule compares throughput, which the schedule fixes.
    ("cache", "Server", "TEST04", True, {"every-sample-once"}),
    ("garbage-perf", "SingleStream", "TEST01", False, {"every-byte"}),
    ("elem0-perf", "Offline", "TEST01", True, {"every-byte"}),
    ("elem0-perf", "MultiStream", "TEST01", True, {"every-byte"}),
    ("set-tuned", "SingleStream", "TEST04", True, {"every-sample-once", "set-bias"}),
    ("set-tuned", "Server", "TEST04", True, {"set-bias"}),
    ("seed-sniffer", "Offline", "TEST05", False, {"other-seeds"}),
    ("seed-sniffer", "SingleStream", "TEST04", True, {"every-sample-once"}),
    ("tokens-placeholder", "Server", "TEST06", True, {"tokens"}),
    ("tokens-eos", "Server", "TEST06", False, {"tokens"}),
    ("tokens-count", "Offline", "TEST06", False, {"tokens"}),
]


@pytest.mark.parametrize(("sut", "scenario", "test", "official", "must_fail"), CHEATS)
def test_each_cheat_is_flagged(
    tmp_path: Path, sut: str, scenario: str, test: str, official: bool, must_fail: set[str]
) -> None:
    report = _audit(tmp_path, sut, scenario, (test,))
    (verdict,) = report.verdicts
    text = render_verdict(verdict)
    assert verdict.official.passed is official, text
    assert not verdict.strict_passed, text
    assert must_fail <= _failed(report, test), text
    assert not report.passed
    if official:
        # The output says that the official rule lets this system through.
        assert f"the official {test} rule passes this system" in text
        assert "the official rule lets this through" in text


def test_published_alternate_seeds_let_a_seed_sniffer_through(tmp_path: Path) -> None:
    # mlperf.conf publishes the test05 seeds: a system that knows them passes the legacy test;
    # mlpace says so, and its default (fresh seeds) catches the system.
    report = _audit(tmp_path / "p", "seed-sniffer", "Offline", ("TEST05",), seeds="published")
    (verdict,) = report.verdicts
    assert verdict.official.passed
    fresh = next(f for f in verdict.findings if f.name == "fresh-seeds")
    assert fresh.status == "warn" and "test05 seeds" in fresh.observed
    caught = _audit(tmp_path / "f", "seed-sniffer", "Offline", ("TEST05",), seeds="fresh")
    assert not caught.passed
    notes = " ".join(caught.verdicts[0].notes)
    assert "fresh random seeds" in notes


def test_every_run_has_its_own_working_directory_and_audit_config(tmp_path: Path) -> None:
    report = _audit(tmp_path, "honest", "Offline", ("TEST01", "TEST04"))
    assert report.passed
    base = tmp_path / "audit" / "Offline"
    assert not (base / "reference" / "accuracy" / "audit.config").exists()
    assert not (base / "reference" / "performance" / "run_1" / "audit.config").exists()
    assert "accuracy_log_sampling_target = 4096" in (base / "TEST01" / "audit.config").read_text()
    assert "performance_issue_same = 1" in (base / "TEST04" / "audit.config").read_text()
    unique = (base / "TEST04-unique" / "audit.config").read_text()
    assert "performance_issue_unique = 1" in unique
    assert "performance_sample_count_override = 32" in unique  # 2 x the performance set
    for test in ("TEST01", "TEST04"):
        assert (base / f"{test}.verdict.txt").read_text().startswith(f"== {test}")
        assert (base / f"{test}.verdict.json").is_file()


def test_all_on_an_llm_runs_test06_and_says_why_not_the_others(tmp_path: Path) -> None:
    report = run_audit(
        AuditOptions(
            tests=("all",),
            output=tmp_path,
            harness=zoo_harness.as_callable(["--sut", "tokens", *SMALL]),
            scenarios=("Server",),
        )
    )
    assert [v.test for v in report.verdicts] == ["TEST06"]
    assert report.passed
    skipped = dict(report.audits[0].skipped)
    assert set(skipped) == {"TEST01", "TEST04", "TEST05"}
    assert "LLM tokens" in skipped["TEST01"]


def test_an_existing_reference_is_used_instead_of_new_reference_runs(tmp_path: Path) -> None:
    reference = Path(__file__).parent / "fixtures/audit/cases/mlpace-offline-honest/reference"
    report = run_audit(
        AuditOptions(
            tests=("TEST04",),
            output=tmp_path,
            harness=zoo_harness.as_callable(
                # the settings the fixture's reference runs used
                ["--sut", "honest", "--total", "64", "--psc", "16", "--min-query-count", "200"]
                + ["--min-duration-ms", "200"]
            ),
            scenarios=("Offline",),
            reference=reference,
        )
    )
    assert report.passed, render_verdict(report.verdicts[0])
    assert not (tmp_path / "audit" / "Offline" / "reference").exists()
    results = tmp_path / "results" / "harness" / "model" / "Offline"
    assert (results / "TEST04" / "verify_performance.txt").is_file()
    assert not (results / "performance").exists()  # the given reference is not copied around
