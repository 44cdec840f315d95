"""``mlpace audit`` and ``mlpace audit verify`` from the command line: exit codes, located errors
for bad input, and a user's harness run as a command in its own working directories."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "audit"))

from audit_helpers import CASES, FIXTURES  # noqa: E402

from mlpace.audit.harness import prepare_command, python_command  # noqa: E402
from mlpace.cli.main import main  # noqa: E402

ZOO = FIXTURES / "zoo_harness.py"


def _zoo(*args: str) -> str:
    return python_command(ZOO, "--virtual", "--total", "64", "--psc", "16", *args)


def _copy_case(tmp_path: Path, case: str) -> Path:
    dst = tmp_path / case
    shutil.copytree(CASES / case, dst)
    return dst


# ------------------------------------------------------------------------------ verify
def test_verify_exit_codes_layout_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES / "official-offline-honest"
    code = main(
        [
            "audit",
            "verify",
            "TEST01",
            "--reference",
            str(case / "reference"),
            "--test",
            str(case / "TEST01"),
            "--output",
            str(tmp_path / "out"),
            "--json",
            str(tmp_path / "v.json"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Accuracy check pass: True\n" in out and "TEST01 verification complete" in out
    assert (tmp_path / "out" / "TEST01" / "verify_performance.txt").is_file()
    data = json.loads((tmp_path / "v.json").read_text())
    assert data[0]["test"] == "TEST01" and data[0]["passed"] is True
    cheat = CASES / "official-server-tokens-placeholder" / "TEST06"
    assert main(["audit", "verify", "TEST06", "--test", str(cheat)]) == 1
    out = capsys.readouterr().out
    assert "First token check pass: True" in out  # the official rule passes it ...
    assert "TEST06: official PASS, strict FAIL" in out  # ... mlpace does not


def _break(tmp_path: Path, kind: str) -> tuple[list[str], str]:
    """A copy of a fixture with one thing broken; returns (verify args, expected message)."""
    case = _copy_case(tmp_path, "official-offline-honest")
    ref, test = case / "reference", case / "TEST01"
    args = ["audit", "verify", "TEST01", "--reference", str(ref), "--test", str(test)]
    acc = test / "mlperf_log_accuracy.json"
    detail = test / "mlperf_log_detail.txt"
    if kind == "truncated-accuracy":
        acc.write_text(acc.read_text()[:300])
        return args, f"{acc}:"
    if kind == "bad-hex":
        lines = acc.read_text().splitlines()
        lines[2] = lines[2].replace('"data" : "', '"data" : "XYZ')
        acc.write_text("\n".join(lines) + "\n")
        return args, f"{acc}:3: 'data' must be a hex string"
    if kind == "not-mllog":
        detail.write_text("hello\n" + detail.read_text())
        return args, f"{detail}:1: not a LoadGen detail log"
    if kind == "bad-mllog-line":
        lines = detail.read_text().splitlines()
        lines[4] = lines[4][:40]
        detail.write_text("\n".join(lines) + "\n")
        return args, f"{detail}:5: malformed :::MLLOG line"
    if kind == "missing-accuracy":
        (ref / "accuracy" / "mlperf_log_accuracy.json").unlink()
        return args, "reference accuracy log not found"
    if kind == "missing-reference":
        return [*args[:4], "/no/such/path-xyz", *args[5:]], "/no/such/path-xyz:"
    if kind == "missing-test":
        return [*args[:6], "/no/such/path-xyz"], "/no/such/path-xyz: audit-run directory not found"
    if kind == "empty-summary":
        summary = ref / "performance" / "run_1" / "mlperf_log_summary.txt"
        summary.write_text("")
        return ["audit", "verify", "TEST04", *args[3:]], f"{summary}:1: summary log is empty"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "truncated-accuracy",
        "bad-hex",
        "not-mllog",
        "bad-mllog-line",
        "missing-accuracy",
        "missing-reference",
        "missing-test",
        "empty-summary",
    ],
)
def test_malformed_or_missing_logs_give_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    args, expected = _break(tmp_path, kind)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err


def test_bad_arguments_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "TEST09", "digits"]) == 2
    assert "unknown test 'TEST09'" in capsys.readouterr().err
    assert main(["audit", "verify", "TEST01", "--test", "x", "--harness", "y"]) == 2
    assert main(["audit", "TEST01"]) == 2
    assert "say what to audit" in capsys.readouterr().err
    assert main(["audit", "TEST05", "--harness", "x", "--test05-seeds", "1,2"]) == 2
    assert "--test05-seeds" in capsys.readouterr().err
    assert main(["audit", "TEST06", "digits"]) == 2
    assert "TEST06 checks the token outputs of LLMs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["audit", "TEST01", "--no-such-flag-xyz"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --no-such-flag-xyz" in capsys.readouterr().err


# ------------------------------------------------------------------------------ harness commands
def test_a_harness_command_runs_once_per_run_in_its_own_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmd = _zoo("--sut", "cache", "--scenario", "{scenario}", "--mode", "{mode}")
    code = main(
        [
            "audit",
            "TEST04",
            "--harness",
            cmd,
            "--scenario",
            "SingleStream",
            "--output",
            str(tmp_path),
            "--model",
            "zoo",
            "--system",
            "box",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "Performance check pass: True" in captured.out
    assert "the official TEST04 rule passes this system" in captured.out
    base = tmp_path / "audit" / "SingleStream"
    for run in ("reference/performance/run_1", "TEST04", "TEST04-unique"):
        assert (base / run / "mlperf_log_detail.txt").is_file(), run
        assert (base / run / "harness.log").is_file(), run
    assert not (base / "reference" / "accuracy").exists()  # TEST04 needs no accuracy run
    results = tmp_path / "results" / "box" / "zoo" / "SingleStream"
    assert (results / "TEST04" / "verify_performance.txt").is_file()
    assert (results / "performance" / "run_1" / "mlperf_log_summary.txt").is_file()
    assert "$ " in captured.err and "--mode performance" in captured.err


def test_logs_from_a_subdirectory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cmd = _zoo("--sut", "tokens", "--scenario", "Offline", "--outdir", "logs", "--mode", "{mode}")
    argv = ["audit", "TEST06", "--harness", cmd, "--output", str(tmp_path)]
    assert main([*argv, "--logs-from", "logs"]) == 0
    assert "TEST06 verification complete" in capsys.readouterr().out
    assert main([*argv, "--output", str(tmp_path / "again")]) == 1
    err = capsys.readouterr().err
    assert "wrote no mlperf_log_detail.txt" in err and "--logs-from" in err


def test_a_failing_harness_stops_the_audit_with_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmd = python_command(Path("-c"), "import sys; print('cuda out of memory'); sys.exit(3)")
    assert main(["audit", "TEST06", "--harness", cmd, "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "exited with status 3" in err and "cuda out of memory" in err
    assert "Traceback" not in err


def test_relative_paths_in_the_command_become_absolute(tmp_path: Path) -> None:
    (tmp_path / "harness.py").write_text("")
    (tmp_path / "data").mkdir()
    cmd = prepare_command("python harness.py --data data/ --mode {mode} --name data", tmp_path)
    assert f"{tmp_path / 'harness.py'}" in cmd
    assert f"{tmp_path / 'data'}" in cmd
    assert cmd.endswith("--mode {mode} --name data")
    complex_cmd = "cd sub && python harness.py --mode {mode} | tee out.txt"
    assert prepare_command(complex_cmd, tmp_path) == complex_cmd  # shell syntax: left alone
    assert prepare_command("python {origin}/h.py", tmp_path) == f"python {tmp_path}/h.py"


def test_a_stalled_harness_is_stopped_by_the_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["audit", "TEST06", "--harness", "sleep 60", "--timeout", "0.5"]
    assert main([*argv, "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "did not finish within 0.5 s (--timeout)" in err
