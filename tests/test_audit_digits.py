"""Audits of mlpace's own digits task: every applicable test in every scenario on a virtual clock
(real model outputs, modelled service time), the acceptance commands in real time, and
``mlpace run --audit-conf`` never writing or reporting an audit run as an accuracy run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpace.audit import AuditOptions, render_verdict, run_audit
from mlpace.cli.main import main
from mlpace.clock import VirtualClock
from mlpace.errors import MlpaceError

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
OFFICIAL_TEST01 = Path(__file__).parent.parent / "src/mlpace/audit/data/v6.1/TEST01"


def test_digits_passes_test01_test04_test05_in_every_scenario(tmp_path: Path) -> None:
    report = run_audit(
        AuditOptions(
            tests=("all",),
            output=tmp_path,
            task="digits",
            scenarios=SCENARIOS,
            profile="tiny",
            clock=VirtualClock(),
            test05_seeds=(5, 6, 7),
        )
    )
    assert {(a.scenario, v.test) for a in report.audits for v in a.verdicts} == {
        (s, t) for s in SCENARIOS for t in ("TEST01", "TEST04", "TEST05")
    }
    for verdict in report.verdicts:
        assert verdict.passed, render_verdict(verdict)
    results = tmp_path / "results" / "mlpace-numpy-cpu" / "digits" / "Offline"
    accuracy_txt = (results / "accuracy" / "accuracy.txt").read_text()
    assert accuracy_txt.startswith("accuracy=") and "\nhash=" in accuracy_txt
    assert sorted(p.name for p in (results / "performance" / "run_1").iterdir()) == [
        "mlperf_log_detail.txt",
        "mlperf_log_summary.txt",
    ]
    # The performance set is the whole (small) data set: nothing outside it to be tuned against.
    t04 = next(v for v in report.verdicts if v.test == "TEST04")
    bias = next(f for f in t04.findings if f.name == "set-bias")
    assert bias.status == "n/a"


def _acceptance(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["audit", *argv, "--profile", "tiny", "--output", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    # Real time on a shared machine: the performance comparison may go either way, so only the
    # deterministic parts are asserted (the acceptance commands themselves use --profile short).
    assert code in (0, 1), out
    return out


def test_acceptance_commands_in_real_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _acceptance(tmp_path / "a", capsys, "TEST01", "digits", "--scenario", "Offline")
    assert "Accuracy check pass: True" in out
    assert "TEST01 verification complete" in out
    assert "every byte of every logged response equals the accuracy run's: " in out
    results = tmp_path / "a" / "results" / "mlpace-numpy-cpu" / "digits" / "Offline" / "TEST01"
    assert (results / "verify_accuracy.txt").read_text().splitlines()[-2] == "TEST PASS"
    out = _acceptance(tmp_path / "b", capsys, "TEST04", "digits", "--scenario", "SingleStream")
    assert "TEST04 verification complete" in out
    assert "[pass] the audit run used its audit.config" in out
    assert "[pass] the every-sample-once run used its audit.config" in out


def test_run_with_an_audit_config_is_never_an_accuracy_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = OFFICIAL_TEST01 / "resnet50.audit.conf"
    argv = ["run", "digits", "--scenario", "Offline", "--profile", "tiny", "--quiet"]
    code = main([*argv, "--audit-conf", str(audit), "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "AUDIT RUN (the TEST01 audit.config)" in out
    assert "accuracy met" not in out
    run_dir = tmp_path / "audit-runs" / "mlpace-numpy-cpu" / "digits" / "Offline" / "TEST01"
    assert (run_dir / "mlperf_log_accuracy.json").is_file()
    assert "Found Audit Config file" in (run_dir / "mlperf_log_detail.txt").read_text()
    assert not (tmp_path / "results" / "mlpace-numpy-cpu" / "digits" / "Offline").exists()
    # An accuracy-mode request with an audit.config is refused, not silently turned around.
    assert main([*argv, "--audit-conf", str(audit), "--mode", "AccuracyOnly"]) == 2
    assert "an audit run is a performance run" in capsys.readouterr().err


def test_an_audit_config_that_forces_accuracy_mode_is_refused(tmp_path: Path) -> None:
    from mlpace.audit import plan_audit_run

    bad = tmp_path / "audit.config"
    bad.write_text("*.Offline.mode = 1\n")
    with pytest.raises(MlpaceError, match="never as an accuracy run"):
        plan_audit_run(bad)
    custom = tmp_path / "custom.config"
    custom.write_text("*.*.mode = 2\n*.*.min_query_count = 5\n")
    plan = plan_audit_run(custom)
    assert plan.test is None and plan.folder == "custom"
    assert plan_audit_run(OFFICIAL_TEST01 / "3d-unet.audit.conf").test == "TEST01"
