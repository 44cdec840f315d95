"""mlpace's submission checker on the corpus: one good tree and one broken tree per way of
breaking it (tests/submission_corpus.py), compared with the official v6.1 checker's verdict
when a checkout of mlcommons/inference is present (/work/ext/inference or
MLPACE_INFERENCE_REPO)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlpace.submission.check import check_tree
from submission_corpus import CASES, Case, build_good

OFFICIAL = Path(os.environ.get("MLPACE_INFERENCE_REPO", "/work/ext/inference"))


def _rules(root: Path) -> set[str]:
    return {f.rule for f in check_tree(root).findings}


def test_the_good_tree_has_no_finding(tmp_path: Path) -> None:
    report = check_tree(build_good(tmp_path))
    assert report.findings == []
    assert [(r.scenario, r.valid) for r in report.results] == [
        ("MultiStream", True), ("Offline", True), ("SingleStream", True),
    ]  # fmt: skip
    offline = next(r for r in report.results if r.scenario == "Offline")
    assert offline.metric == pytest.approx(2000.5) and offline.unit == "Samples/s"


def test_the_corpus_has_at_least_twelve_broken_trees() -> None:
    assert len(CASES) >= 12 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_broken_tree_gives_exactly_its_finding(tmp_path: Path, case: Case) -> None:
    root = build_good(tmp_path)
    case.mutate(root)
    report = check_tree(root)  # never raises, whatever the tree
    assert {f.rule for f in report.findings} == set(case.rules), case.how
    for finding in report.findings:
        assert finding.path and finding.found and finding.required and finding.fix
    assert report.errors, "every corpus case is an error, not only a warning"


@pytest.mark.official
@pytest.mark.parametrize("case", [None, *CASES], ids=["good", *[c.name for c in CASES]])
def test_official_checker_verdict_agrees_or_the_difference_is_documented(
    tmp_path: Path, case: Case | None
) -> None:
    if not (OFFICIAL / "tools" / "submission" / "submission_checker").is_dir():
        pytest.skip(f"no mlcommons/inference checkout at {OFFICIAL} (set MLPACE_INFERENCE_REPO)")
    pytest.importorskip("yaml", reason="the official checker imports PyYAML")
    from mlpace.submission.official import run_official

    root = build_good(tmp_path / "tree")
    if case is not None:
        case.mutate(root)
    verdict = run_official(OFFICIAL, root, "v6.1")
    mlpace_passed = not check_tree(root).errors
    if case is None:
        assert verdict.passed and mlpace_passed, verdict.output[-3000:]
        return
    assert not mlpace_passed
    observed = "crash" if verdict.crashed else ("pass" if verdict.passed else "fail")
    assert observed == case.official, f"{case.how}: {case.note}\n{verdict.output[-3000:]}"
    # Every problem the official checker names is one mlpace names too.
    assert verdict.rules <= set(case.rules), verdict.errors


def test_check_submission_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlpace.cli.main import main

    root = build_good(tmp_path / "t")
    assert main(["check-submission", str(root)]) == 0
    assert "0 error(s), 0 warning(s): OK" in capsys.readouterr().out
    CASES[0].mutate(root)
    report = tmp_path / "f.json"
    assert main(["check-submission", str(root), "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "ERROR [system-json-missing] open/acme/systems/box.json" in out
    assert "found: no such file" in out and "fix: write systems/<system>.json" in out
    assert '"rule": "system-json-missing"' in report.read_text()
    assert main(["check-submission", str(tmp_path / "nowhere")]) == 2
    assert main(["check-submission", str(root), "--official", str(tmp_path)]) == 2
    assert "no tools/submission/submission_checker" in capsys.readouterr().err
