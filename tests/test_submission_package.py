"""mlpace package -> mlpace check-submission round trips, the truncation, the refusals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlpace.cli.main import main
from mlpace.submission._files import truncate_accuracy_log
from mlpace.submission.check import check_tree
from mlpace.submission.package import PackageError, PackageRequest, package
from submission_corpus import SUBMITTER, build_good

USER_KEYS = {
    "system_type": "edge", "status": "rdi", "cooling": "air",
    "host_memory_configuration": "2x 12 GiB",
}  # fmt: skip


def _sets() -> list[str]:
    return [arg for k, v in USER_KEYS.items() for arg in ("--set", f"{k}={v}")]


def test_truncation_matches_the_official_rule(tmp_path: Path) -> None:
    src, dst = tmp_path / "a.json", tmp_path / "b.json"
    text = "".join(f"{i:05d}\n" for i in range(3000))  # 18000 bytes
    src.write_text(text)
    truncate_accuracy_log(src, dst)
    assert dst.read_text() == text[:4096] + "\n\n...\n\n" + text[-4096:]
    src.write_text("short")
    truncate_accuracy_log(src, dst)
    assert dst.read_text() == "short"


def test_full_size_round_trip_has_no_finding(tmp_path: Path) -> None:
    runs = build_good(tmp_path / "runs") / "open" / SUBMITTER
    out = tmp_path / "sub"
    result = package(
        PackageRequest(results=[runs], output=out, division="open", submitter="me",
                       system_values=USER_KEYS)
    )  # fmt: skip
    assert len(result.results) == 3
    report = check_tree(out)
    assert report.findings == [], [f.format() for f in report.findings]
    acc = out / "open" / "me" / "results" / "box" / "resnet" / "Offline" / "accuracy"
    original = runs / "results" / "box" / "resnet" / "Offline" / "accuracy"
    digest = hashlib.sha256((original / "mlperf_log_accuracy.json").read_bytes()).hexdigest()
    assert f"hash={digest}" in (acc / "accuracy.txt").read_text().splitlines()
    assert any("hash= line did not match" in n for n in result.notes)
    assert not (out / "open" / "me" / "model_mapping.json").exists()  # resnet needs no mapping


def test_digits_round_trip_reports_exactly_the_proxy_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    main(["run", "digits", "--profile", "tiny", "--scenario", "Offline", "--output", str(run),
          "--no-trace", "--no-report", "--no-history", "--quiet"])  # fmt: skip
    assert (run / "results" / "mlpace-numpy-cpu" / "digits" / "system_description.json").is_file()
    capsys.readouterr()
    out = tmp_path / "sub"
    code = main(["package", str(run), "--division", "open", "--submitter", "me",
                 "--output", str(out), *_sets()])  # fmt: skip
    assert code == 1
    root = out / "open" / "me"
    assert json.loads((root / "model_mapping.json").read_text()) == {"digits": "resnet"}
    scen = root / "results" / "mlpace-numpy-cpu" / "digits" / "Offline"
    for name in ("user.conf", "README.md", "measurements.json", "accuracy/accuracy.txt",
                 "performance/run_1/mlperf_log_detail.txt"):  # fmt: skip
        assert (scen / name).is_file(), name
    assert (root / "src" / "mlpace" / "submission" / "package.py").is_file()
    rules = sorted(f.rule for f in check_tree(out).findings)
    # 360 digits, not resnet's 50,000 and 1024; the tiny profile is not 600 s long.
    assert rules == ["accuracy-sample-count", "min-duration", "performance-sample-count"]
    assert "check-submission" in capsys.readouterr().out


def test_closed_division_refuses_a_proxy_and_a_short_run(tmp_path: Path) -> None:
    runs = build_good(tmp_path / "runs") / "open" / SUBMITTER
    detail = runs / "results" / "box" / "resnet" / "Offline" / "performance" / "run_1"
    text = (detail / "mlperf_log_detail.txt").read_text().replace('"VALID"', '"INVALID"')
    (detail / "mlperf_log_detail.txt").write_text(text)
    req = PackageRequest(results=[runs], output=tmp_path / "o", division="closed",
                         submitter="me", system_values=USER_KEYS)  # fmt: skip
    with pytest.raises(PackageError, match="closed division: .*INVALID"):
        package(req)
    assert not (tmp_path / "o").exists()
    digits = tmp_path / "d" / "results" / "sys" / "digits" / "Offline" / "performance" / "run_1"
    digits.mkdir(parents=True)
    (digits / "mlperf_log_detail.txt").write_text((detail / "mlperf_log_detail.txt").read_text())
    with pytest.raises(PackageError, match="'digits' is not an MLPerf v6.1 benchmark"):
        package(PackageRequest(results=[tmp_path / "d"], output=tmp_path / "o",
                               division="closed", submitter="me"))  # fmt: skip


def test_missing_user_keys_are_named_with_their_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = build_good(tmp_path / "runs") / "open" / SUBMITTER
    code = main(["package", str(runs), "--division", "open", "--submitter", "me",
                 "--output", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "--set system_type=..." in err and "--set cooling=..." in err
    code = main(["package", str(tmp_path / "nowhere"), "--division", "open", "--submitter",
                 "me", "--output", str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and "no such folder" in capsys.readouterr().err


def test_closed_division_round_trip_with_audit_folders(tmp_path: Path) -> None:
    runs = build_good(tmp_path / "runs") / "open" / SUBMITTER
    for scen in (runs / "results" / "box" / "resnet").iterdir():
        for test in ("TEST01", "TEST04"):
            (scen / test).mkdir()
            (scen / test / "verify_performance.txt").write_text("TEST PASS\n")
    out = tmp_path / "sub"
    package(PackageRequest(results=[runs], output=out, division="closed", submitter="me",
                           system_values=USER_KEYS))  # fmt: skip
    scen = out / "closed" / "me" / "results" / "box" / "resnet" / "Offline"
    assert (scen / "TEST04" / "verify_performance.txt").read_text() == "TEST PASS\n"
    assert check_tree(out).findings == []
    (scen / "TEST01" / "verify_performance.txt").write_text("TEST FAIL\n")
    assert [f.rule for f in check_tree(out).findings] == ["compliance-failed"]


@pytest.mark.official
def test_official_checker_on_a_packaged_digits_run_names_the_same_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_submission_corpus import OFFICIAL

    if not (OFFICIAL / "tools" / "submission" / "submission_checker").is_dir():
        pytest.skip(f"no mlcommons/inference checkout at {OFFICIAL} (set MLPACE_INFERENCE_REPO)")
    run = tmp_path / "run"
    main(["run", "digits", "--profile", "tiny", "--scenario", "Offline", "--output", str(run),
          "--no-trace", "--no-report", "--no-history", "--quiet"])  # fmt: skip
    out = tmp_path / "sub"
    main(["package", str(run), "--division", "open", "--submitter", "me", "--output", str(out),
          *_sets()])  # fmt: skip
    capsys.readouterr()
    code = main(["check-submission", str(out), "--official", str(OFFICIAL)])
    text = capsys.readouterr().out
    assert code == 1 and "official checker: FAILED" in text and "agrees" in text
    from mlpace.submission.official import run_official

    verdict = run_official(OFFICIAL, out)
    assert verdict.rules == {f.rule for f in check_tree(out).findings}
    assert verdict.rules == {"accuracy-sample-count", "min-duration", "performance-sample-count"}


def test_two_runs_of_one_scenario_are_refused(tmp_path: Path) -> None:
    a = build_good(tmp_path / "a") / "open" / SUBMITTER
    b = build_good(tmp_path / "b") / "open" / SUBMITTER
    req = PackageRequest(results=[a, b], output=tmp_path / "o", division="open", submitter="me",
                         system_values=USER_KEYS)  # fmt: skip
    with pytest.raises(PackageError, match="two runs of box/resnet/"):
        package(req)
