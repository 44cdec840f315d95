"""Every bad input, signal and misbehaving SUT: a clear message, the documented exit code, no
traceback, and every log that was started still readable.

The table ``ROWS`` drives most cases: each row is an ``mlpace`` command line run in-process
through ``mlpace.cli.main.main`` (``{tmp}`` stands for a fresh folder), the exit code it must
give, phrases its output must hold, and whether logs were started. Harness cases (a SUT that
answers twice, a compat-module harness), the check-training verdicts and the stop signals (real
subprocesses, in ``test_cli_signals.py``) and the check-training verdicts
(``test_cli_check_training.py``) have their own modules. ``mlpace run`` with no arguments five
times in a row is in the slow suite of ``test_cli_peak.py``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import NULL, TASK, TIMEOUT_S, check_logs, detail_value, harness, run_cli
from mlpace.cli.main import main

# A null run short enough for the table: 0.1 s per scenario.
NULL_SERVER = [*NULL, "--scenario", "Server", "--min-duration", "0.1", "--target-qps", "2000"]


def _file(tmp: Path) -> None:
    (tmp / "afile").write_text("not a folder\n")


def _earlier_run(tmp: Path) -> None:
    (tmp / "out").mkdir()
    (tmp / "out" / "mlperf_log_summary.txt").write_text("an earlier run\n")


def _user_conf(text: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / "user.conf").write_text(textwrap.dedent(text))

    return setup


@dataclass(frozen=True)
class Row:
    id: str
    argv: tuple[str, ...]
    code: int
    phrases: tuple[str, ...]
    setup: Callable[[Path], None] | None = None
    logs: bool = False  # logs were started: every file must parse
    codes: tuple[int, ...] = field(default=())  # alternatives when validity depends on load


def row(
    id: str,
    argv: Sequence[str],
    code: int,
    *phrases: str,
    setup: Callable[[Path], None] | None = None,
    logs: bool = False,
    codes: tuple[int, ...] = (),
) -> Row:
    return Row(id, tuple(argv), code, phrases, setup, logs, codes)


ROWS = [
    # --- numbers, range-checked where they enter, named as typed, with the allowed range
    row(
        "min-duration-zero-is-legal",
        [*NULL_SERVER[:-4], "--min-duration", "0", "--output", "{tmp}/o"],
        1,
        "INVALID because early stopping",  # 100 queries can never prove p99: deterministic
        logs=True,
    ),
    row(
        "min-duration-negative",
        [*NULL_SERVER[:-4], "--min-duration", "-3"],
        2,
        "--min-duration",
        "[0, 1,000,000]",
        "'-3'",
    ),
    row(
        "min-duration-inf",
        [*NULL, "--min-duration", "inf"],
        2,
        "--min-duration",
        "not a finite number",
    ),
    row("min-duration-nan", [*NULL, "--min-duration", "nan"], 2, "--min-duration", "finite"),
    row(
        "min-duration-huge",
        [*NULL, "--min-duration", "1e9"],
        2,
        "--min-duration",
        "[0, 1,000,000]",
        "'1e9'",
    ),
    row(
        "run-too-big-for-memory",
        [
            *NULL_SERVER[:-4],
            "--target-qps",
            "20000",
            "--min-duration",
            "1e6",
            "--output",
            "{tmp}/o",
        ],
        2,
        "Server: this run would pre-generate about 20,000,000,000 samples",
        "GiB of memory is available",
        "--min-duration",
    ),
    row(
        "min-duration-not-a-number",
        [*NULL, "--min-duration", "ten"],
        2,
        "--min-duration",
        "not a number",
    ),
    row(
        "max-below-min",
        [*NULL, "--min-duration", "2", "--max-duration", "1"],
        2,
        "--max-duration 1 s is below --min-duration 2 s",
    ),
    row("batch-size-negative", [*TASK, "--batch-size", "-4"], 2, "--batch-size", "[1, 1,000,000]"),
    row(
        "batch-size-null",
        [*NULL, "--batch-size", "8"],
        2,
        "--batch-size applies to task runs, not --sut null",
    ),
    row(
        "sample-count-zero",
        [*NULL, "--sample-count", "0"],
        2,
        "--sample-count",
        "[1, 1,000,000,000]",
    ),
    row(
        "sample-count-task",
        [*TASK, "--sample-count", "100"],
        2,
        "--sample-count applies to --sut null only",
    ),
    row(
        "target-latency-zero",
        [*NULL, "--scenario", "Server", "--target-latency-ms", "0"],
        2,
        "--target-latency-ms",
        "(0,",
    ),
    row(
        "target-latency-no-server",
        [*NULL, "--scenario", "Offline", "--target-latency-ms", "5"],
        2,
        "--target-latency-ms applies to Server only; this run has Offline",
    ),
    row("target-qps-zero", [*NULL, "--target-qps", "0"], 2, "--target-qps", "(0,"),
    row(
        "target-qps-singlestream",
        [*NULL, "--scenario", "SingleStream", "--target-qps", "9"],
        2,
        "--target-qps applies to Server and Offline only",
    ),
    row(
        "expected-latency-negative",
        [*NULL, "--expected-latency-ms", "-1"],
        2,
        "--expected-latency-ms",
    ),
    row(
        "samples-per-query-zero",
        [*NULL, "--samples-per-query", "0"],
        2,
        "--samples-per-query",
        "whole number",
    ),
    row(
        "min-query-count-fraction",
        [*NULL, "--min-query-count", "1.5"],
        2,
        "--min-query-count",
        "whole number",
    ),
    row("threads-zero", [*TASK, "--threads", "0"], 2, "--threads", "[1, 4,096]"),
    row("workers-zero", [*TASK, "--workers", "0"], 2, "--workers"),
    row("max-wait-negative", [*TASK, "--max-wait-ms", "-1"], 2, "--max-wait-ms"),
    # --- flags that cannot apply are refused, never silently replaced
    row(
        "completion-with-task",
        [*TASK, "--completion", "thread"],
        2,
        "--completion applies to --sut null only",
    ),
    row("null-with-task-name", [*NULL, "digits"], 2, "drop the task name 'digits'"),
    row(
        "find-peak-needs-server-null",
        [*NULL, "--mode", "FindPeakPerformance"],
        2,
        "FindPeakPerformance",
        "add --scenario Server",
    ),
    row(
        "find-peak-needs-server-task",
        [*TASK, "--mode", "FindPeakPerformance", "--scenario", "Offline"],
        2,
        "defined for Server only",
    ),
    row("device-on-numpy", [*TASK, "--device", "cuda"], 2, "--device cuda"),
    row("unknown-task", [*TASK, "no-such-task-xyz"], 2, "no-such-task-xyz"),
    row("no-such-flag", ["run", "--no-such-flag-xyz"], 2, "unrecognized arguments"),
    row("unknown-command", ["no-such-command-xyz"], 2, "invalid choice"),
    # --- files
    row(
        "user-conf-missing",
        [*NULL, "--user-conf", "/no/such/path-xyz"],
        2,
        "--user-conf /no/such/path-xyz: no such file",
    ),
    row("user-conf-folder", [*NULL, "--user-conf", "{tmp}"], 2, "is a folder, not a file"),
    row(
        "mlperf-conf-missing",
        [*TASK, "--mlperf-conf", "/no/such/path-xyz"],
        2,
        "--mlperf-conf /no/such/path-xyz: no such file",
    ),
    row("audit-conf-missing", [*NULL, "--audit-conf", "/no/such/path-xyz"], 2, "--audit-conf"),
    row(
        "user-conf-syntax",
        [*NULL_SERVER, "--user-conf", "{tmp}/user.conf"],
        2,
        "user.conf:2",
        setup=_user_conf("# ok\nnull.Server.target_qps = 5 # comment\n"),
    ),
    row("dataset-missing", [*TASK, "--dataset", "/no/such/path-xyz"], 2, "--dataset"),
    row("model-path-missing", [*TASK, "--model-path", "/no/such/path-xyz"], 2, "/no/such/path-xyz"),
    row(
        "check-training-missing",
        ["check-training", "/no/such/path-xyz"],
        2,
        "/no/such/path-xyz: no such file or folder",
    ),
    row(
        "hparams-missing",
        ["train", "digits", "--hparams", "/no/such/path-xyz"],
        2,
        "/no/such/path-xyz",
    ),
    # --- output folders: checked before any work, earlier runs never mixed
    row(
        "output-under-file-null",
        [*NULL_SERVER, "--output", "{tmp}/afile/sub"],
        2,
        "afile is a file, so no folder can be made under it",
        setup=_file,
    ),
    row(
        "output-is-file-null",
        [*NULL_SERVER, "--output", "{tmp}/afile"],
        2,
        "is a file, not a folder",
        setup=_file,
    ),
    row(
        "output-under-file-task",
        [*TASK, "--output", "{tmp}/afile/sub"],
        2,
        "afile is a file",
        setup=_file,
    ),
    row(
        "output-is-file-task",
        [*TASK, "--output", "{tmp}/afile"],
        2,
        "is a file, not a folder",
        setup=_file,
    ),
    row(
        "output-holds-run",
        [*NULL_SERVER, "--output", "{tmp}/out"],
        2,
        "already holds a run",
        "--force",
        setup=_earlier_run,
    ),
    # --- user.conf with --sut null: the null defaults stay, lines for nothing are reported
    row(
        "user-conf-other-model",
        [*NULL_SERVER[:-2], "--user-conf", "{tmp}/user.conf", "--output", "{tmp}/o"],
        0,
        "user.conf:2: resnet50.Server.target_qps = 100 has no effect",
        "this run uses model 'null'",
        "user.conf:3: Null.Offline.min_duration = 5 has no effect",
        "did you mean 'null'?",
        setup=_user_conf(
            "# shared\nresnet50.Server.target_qps = 100\nNull.Offline.min_duration = 5\n"
            "null.Server.target_qps = 2000\n"
        ),
        logs=True,
        codes=(1,),  # VALID depends on the machine's load; the messages do not
    ),
]


@pytest.mark.parametrize("case", ROWS, ids=[r.id for r in ROWS])
def test_bad_input_table(case: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if case.setup is not None:
        case.setup(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
    code, text = run_cli(argv, capsys)
    assert code in (case.code, *case.codes), text
    for phrase in case.phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"
    assert "Traceback" not in text
    if case.logs:
        assert check_logs(tmp_path), "no log files were written"


# ------------------------------------------------------------------------------ behaviour
def test_user_conf_keeps_null_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Any user.conf used to turn the null run into mlperf.conf's 1 QPS for 600 s."""
    conf = tmp_path / "user.conf"
    conf.write_text("null.Server.target_latency = 50\n")
    code, text = run_cli(
        [*NULL, "--scenario", "Server", "--user-conf", str(conf), "--output", str(tmp_path / "o")]
        + ["--min-duration", "0.1"],
        capsys,
    )
    assert code in (0, 1), text
    out = tmp_path / "o"
    assert detail_value(out, "requested_server_target_qps") == 10_000  # the null default
    assert detail_value(out, "requested_server_target_latency_ns") == 50_000_000  # user.conf
    assert detail_value(out, "requested_qsl_rng_seed") != 0  # mlperf.conf's seeds apply


def test_force_replaces_and_no_trace_rerun_keeps_no_old_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    argv = [*NULL_SERVER, "--output", str(out)]
    code, text = run_cli(argv, capsys)
    assert code in (0, 1) and (out / "mlperf_log_trace.json").is_file(), text
    code, text = run_cli([*argv, "--no-trace"], capsys)
    assert code == 2 and "already holds a run" in text
    assert (out / "mlperf_log_trace.json").is_file()  # refused: nothing touched
    code, text = run_cli([*argv, "--no-trace", "--force"], capsys)
    assert code in (0, 1), text
    assert "--force: deleted the earlier run" in text
    assert not (out / "mlperf_log_trace.json").exists()
    check_logs(out)


def test_default_output_moves_the_earlier_run_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [*NULL_SERVER, "--no-trace"]
    assert run_cli(argv, capsys)[0] in (0, 1)
    default = tmp_path / "mlpace-results" / "null"
    first = (default / "mlperf_log_detail.txt").read_text()
    code, text = run_cli(argv, capsys)
    assert code in (0, 1), text
    assert "moved the earlier run" in text
    assert (default / "previous" / "mlperf_log_detail.txt").read_text() == first
    assert (default / "mlperf_log_detail.txt").read_text() != first
    check_logs(default)


def test_find_peak_on_a_task_runs_find_peak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to run PerformanceOnly silently. Probes of 50 ms keep this test short; whether a
    peak is found on a loaded machine is not the point, that FindPeakPerformance ran is."""
    argv = [*TASK, "--scenario", "Server", "--mode", "FindPeakPerformance", "--target-qps"]
    argv += ["300", "--min-duration", "0.05", "--min-query-count", "16"]
    code, text = run_cli([*argv, "--output", str(tmp_path)], capsys)
    assert code in (0, 1), text
    assert "peak found" in text or "no peak" in text.lower()
    perf = tmp_path / "results" / "mlpace-numpy-cpu" / "digits" / "Server" / "performance"
    perf /= "run_1"
    assert detail_value(perf, "requested_test_mode") == "FindPeakPerformance"
    detail = (perf / "mlperf_log_detail.txt").read_text()
    assert "FindPeakPerformance: target_qps 300" in detail
    check_logs(tmp_path)


def test_invalid_run_says_why_with_observed_required_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Offline with a tiny query finishes long before its minimum duration: INVALID, always.
    argv = [*NULL, "--scenario", "Offline", "--min-duration", "5", "--target-qps", "1"]
    code, text = run_cli([*argv, "--output", str(tmp_path)], capsys)
    assert code == 1, text
    assert "Offline: INVALID" in text
    assert "INVALID because min duration: observed" in text
    assert "required at least 5.000 s" in text
    assert "Increase expected QPS" in text
    check_logs(tmp_path)


def test_help_texts_give_units(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, unit in (
        ("--target-qps QPS", "per second"),
        ("--target-latency-ms MS", "milliseconds"),
        ("--expected-latency-ms MS", "milliseconds"),
        ("--min-duration SECONDS", "seconds"),
        ("--max-duration SECONDS", "seconds"),
        ("--min-query-count N", "queries"),
        ("--samples-per-query N", "samples"),
        ("--sample-count N", "samples"),
        ("--batch-size N", "samples"),
        ("--max-wait-ms MS", "milliseconds"),
        ("--quiet", "no progress lines"),
    ):
        start = text.index(flag, text.index("options:"))
        assert unit in text[start : start + 260], flag
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--hparams FILE a JSON file" in text
    assert "--max-time SECONDS" in text


# ------------------------------------------------------------------------------ misbehaving SUTs
class _TwiceSUT:
    """A null SUT that completes every sample twice, and once an id never issued."""

    name = "TwiceSUT"

    def bind(self, sink: Any) -> None:
        self.sink = sink

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        self.sink.complete_ids(ids)
        self.sink.complete_ids(ids[:1])
        self.sink.complete_ids([10**9])

    def issue_queries(self, samples: Sequence[Any]) -> None:
        self.issue_query_ids([s.id for s in samples], [s.index for s in samples])

    def flush_queries(self) -> None:
        return None

    def close(self) -> None:
        return None


def test_duplicate_and_unknown_completions_fail_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlpace.loadgen.null_sut as null_sut

    monkeypatch.setattr(null_sut, "NullSUT", lambda completion="inline", delay_ns=0: _TwiceSUT())
    argv = [*NULL, "--scenario", "SingleStream", "--min-duration", "0.05"]
    code, text = run_cli([*argv, "--output", str(tmp_path)], capsys)
    assert code == 1, text
    assert "LoadGen error" in text
    assert "duplicate response(s)" in text and "unknown id" in text
    assert "sample id 0 was completed more than once" in text  # the first ids
    assert "submission checker rejects" in text
    assert "Traceback" not in text
    check_logs(tmp_path)


def test_compat_prints_loadgen_errors_on_stderr(tmp_path: Path) -> None:
    proc = harness(tmp_path, "twice")
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, err
    assert "StartTest returned" in out
    assert "LoadGen logged" in err and "completed more than once" in err
    assert "Traceback" not in err
    check_logs(tmp_path / "logs")


def test_dataset_that_is_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """minilm-encoder reads one file; a folder used to end in an IsADirectoryError traceback."""
    argv = ["run", "minilm-encoder", "--dataset", str(tmp_path), "--profile", "tiny", "--quiet"]
    code, text = run_cli([*argv, "--output", str(tmp_path / "o")], capsys)
    assert code == 2, text
    assert "Traceback" not in text
    # without the encoder extra the message names the pip extra instead
    assert f"--dataset {tmp_path}: cannot read it" in text or "pip install" in text
