"""Verdicts on real log pairs (tests/fixtures/audit/cases), written by the official LoadGen binding
and by mlpace; the expected verdicts are hard-coded here (make_fixtures.py regenerates the logs).

The ``official-*`` cases ran on the official binding in real time on a busy 2-core machine: the
performance verdicts of the SingleStream ones reflect that machine's noise, which is why some
"honest" systems fail the official performance check there (mlpace's check, on the same logs,
uses an interval and calls the difference noise)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "audit"))

from audit_helpers import CASES  # noqa: E402

from mlpace.audit import Verdict, VerifyOptions, verify, write_official_layout  # noqa: E402

# case, test, official checks (in order), strict findings that fail
EXPECTED: list[tuple[str, str, tuple[bool, ...], set[str]]] = [
    ("mlpace-offline-honest", "TEST01", (True, True), set()),
    ("mlpace-offline-honest", "TEST04", (True,), set()),
    ("mlpace-offline-honest", "TEST05", (True,), set()),
    ("mlpace-offline-seed-sniffer", "TEST05", (False,), {"other-seeds"}),
    ("mlpace-server-tokens", "TEST06", (True,), set()),
    ("mlpace-ss-cache", "TEST04", (True,), {"every-sample-once"}),
    ("mlpace-ss-honest", "TEST05", (True,), set()),
    ("official-offline-honest", "TEST01", (True, True), set()),
    ("official-offline-honest", "TEST04", (True,), set()),
    ("official-offline-tokens-count", "TEST06", (False,), {"tokens"}),
    ("official-server-tokens", "TEST06", (True,), set()),
    ("official-server-tokens-eos", "TEST06", (False,), {"tokens"}),
    ("official-server-tokens-placeholder", "TEST06", (True,), {"tokens"}),
    ("official-ss-elem0", "TEST01", (True, False), {"every-byte"}),
    ("official-ss-garbage", "TEST01", (False, False), {"every-byte"}),
    ("official-ss-honest", "TEST01", (True, False), set()),
    ("official-ss-honest", "TEST04", (False,), set()),
    ("official-ss-lastcache", "TEST04", (False,), {"same-sample"}),
    # The official binding ignores test05 keys in an audit.config: the "alternate-seed" run used
    # the round's seeds, which the official rule cannot see.
    ("official-ss-test05-ignored", "TEST05", (True,), {"applied-audit", "seeds"}),
]


def run_verify(case: str, test: str) -> Verdict:
    base = CASES / case
    unique = base / "TEST04-unique"
    return verify(
        test,
        reference=base / "reference" if test != "TEST06" else None,
        test_dir=base / test,
        options=VerifyOptions(unique_dir=unique if test == "TEST04" and unique.is_dir() else None),
    )


@pytest.mark.parametrize(("case", "test", "checks", "failing"), EXPECTED)
def test_fixture_verdicts(
    case: str, test: str, checks: tuple[bool, ...], failing: set[str]
) -> None:
    verdict = run_verify(case, test)
    assert tuple(c.passed for c in verdict.official.checks) == checks
    assert {f.name for f in verdict.findings if f.failed} == failing
    assert verdict.passed is (all(checks) and not failing)


def test_every_fixture_case_is_covered() -> None:
    covered = {(case, test) for case, test, _, _ in EXPECTED}
    present = {
        (d.name, t.name)
        for d in CASES.iterdir()
        for t in d.iterdir()
        if t.is_dir() and t.name in ("TEST01", "TEST04", "TEST05", "TEST06")
    }
    assert covered == present


def test_official_layout_holds_only_what_the_checker_expects(tmp_path: Path) -> None:
    for case, test in (("official-offline-honest", "TEST01"), ("official-server-tokens", "TEST06")):
        out = write_official_layout(run_verify(case, test), tmp_path / case)
        files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
        if test == "TEST01":
            assert files == [
                "accuracy/mlperf_log_accuracy.json",
                "performance/run_1/mlperf_log_detail.txt",
                "performance/run_1/mlperf_log_summary.txt",
                "verify_accuracy.txt",
                "verify_performance.txt",
            ]
            text = (out / "verify_accuracy.txt").read_text().splitlines()
            assert text[-2:] == ["TEST PASS", ""]
        else:
            assert files == ["accuracy/mlperf_log_accuracy.json", "verify_accuracy.txt"]
            assert (
                (out / "verify_accuracy.txt").read_text().endswith("TEST06 verification complete\n")
            )


def test_the_strict_verdict_explains_the_element0_loophole() -> None:
    verdict = run_verify("official-ss-elem0", "TEST01")
    finding = next(f for f in verdict.findings if f.name == "every-byte")
    assert "first element" in finding.official_missed
    assert finding.details[0].startswith("qsl_idx ")
    assert "first difference at byte 4" in finding.details[0]
