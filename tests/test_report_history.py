"""The SQLite run history: concurrent writers, a writer killed mid-transaction, the command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlpace.cli.main import main
from mlpace.report.history import History, HistoryError, default_path, open_history
from mlpace.report.record import history_choice

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_location_env_and_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPACE_HISTORY", str(tmp_path / "h.sqlite"))
    assert default_path() == tmp_path / "h.sqlite"
    monkeypatch.setenv("MLPACE_HISTORY", "off")
    assert default_path() is None
    with pytest.raises(HistoryError, match="switched off"):
        open_history()
    monkeypatch.delenv("MLPACE_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "mlpace" / "history.sqlite"
    assert history_choice(no_history=True, path="x.sqlite") is None
    assert history_choice(path=str(tmp_path / "y.sqlite")) == tmp_path / "y.sqlite"


def test_records_round_trip_and_filters(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as db:
        a = db.add(kind="inference", task="digits", scenario="Server", valid=True,
                   metric_name="samples/s", metric_value=512.5, metric_unit="/s",
                   log_dir="/logs/a", settings_json={"target_qps": 500},
                   checks_json=[{"name": "min_duration", "passed": True}])  # fmt: skip
        db.add(kind="training", task="mlpace_digits", valid=False, log_dir="/logs/t")
        db.add(kind="inference", task="null", scenario="Offline", log_dir="/logs/n")
        with pytest.raises(HistoryError, match="unknown history fields"):
            db.add(kind="inference", log_dir="x", taks="typo")
        row = db.get(a)
        assert (row.task, row.valid, row.metric_value) == ("digits", True, 512.5)
        assert row.settings == {"target_qps": 500} and row.checks[0]["passed"] is True
        assert [r.task for r in db.rows(task="digits")] == ["digits", "mlpace_digits"]
        assert [r.id for r in db.rows(last=2)] == [2, 3]
        assert [r.kind for r in db.rows(kind="training")] == ["training"]
        assert db.integrity() == "ok"
    mode = History(tmp_path / "h.sqlite")._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "h.sqlite"
    History(db_path).close()
    code = f"""
        import sys
        from mlpace.report.history import History
        with History({str(db_path)!r}) as db:
            print("ready", flush=True)
            sys.stdin.readline()  # start together
            for i in range(25):
                db.add(kind="inference", task="w" + sys.argv[1], mode=str(i), log_dir="/x")
    """
    procs = [
        subprocess.Popen(
            [*_python(code), str(w)],
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(4)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == b"ready"
    for p in procs:  # all four hold a connection; release them at once
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with History(db_path) as db:
        rows = db.rows()
        assert len(rows) == 100 and len({r.id for r in rows}) == 100
        for w in range(4):  # each writer's records are all there, in its own order
            assert [r.mode for r in rows if r.task == f"w{w}"] == [str(i) for i in range(25)]
        assert db.integrity() == "ok"


def test_writer_killed_mid_transaction_leaves_a_consistent_database(tmp_path: Path) -> None:
    db_path = tmp_path / "h.sqlite"
    with History(db_path) as db:
        for i in range(3):
            db.add(kind="inference", task="before", mode=str(i), log_dir="/x")
    code = f"""
        import sys, time
        from mlpace.report.history import History
        db = History({str(db_path)!r})
        with db.transaction() as con:
            con.execute("INSERT INTO runs (kind, recorded_at, log_dir, task) "
                        "VALUES ('inference', 'now', '/x', 'half-written')")
            print("inside", flush=True)
            sys.stdin.readline()  # hold the transaction open until killed
    """
    child = subprocess.Popen(
        _python(code), env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"inside"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with History(db_path) as db:
        assert db.integrity() == "ok"
        assert [r.task for r in db.rows()] == ["before"] * 3  # the half-written row is gone
        new = db.add(kind="inference", task="after", log_dir="/x")  # and the lock is free
        assert db.get(new).task == "after"


def test_unusable_database_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match="not a usable history database"):
        History(bad)


def test_history_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], _private_history: Path
) -> None:
    with History(_private_history) as db:
        db.add(kind="inference", task="digits", scenario="Server", valid=True,
               metric_name="completed samples/s", metric_value=99.5, metric_unit="/s",
               log_dir="/logs/a")  # fmt: skip
        db.add(kind="training", task="mlpace_digits", valid=True, metric_name="time to train",
               metric_value=0.25, metric_unit="min", log_dir="/logs/t")  # fmt: skip
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "VALID" in out and "99.50 /s" in out and "success" in out
    assert main(["history", "--task", "mlpace_digits", "--last", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and '"kind": "training"' in out
    assert main(["history", "--history", "/no/such/path-xyz"]) == 2
    assert "no such history database" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["history", "--last", "0"])
    assert stop.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_training_runs_are_recorded(tmp_path: Path) -> None:
    from mlpace.report.record import record_training_runs
    from mlpace.training.harness import RunRecord

    records = [
        RunRecord(benchmark="digits", log_name="mlpace_digits", seed=s, status=status,
                  time_to_train_min=t, samples_to_converge=1000, epochs=3, final_metric=0.97,
                  init_time_min=0.01, log_path=tmp_path / f"result_{s}.txt", world_size=1,
                  hyperparameters={"opt_base_learning_rate": 0.1})
        for s, status, t in ((1, "success", 0.12), (2, "aborted", 0.5))
    ]  # fmt: skip
    ids, warnings = record_training_runs(
        records, history=tmp_path / "h.sqlite", system="box", system_description={"a": "b"}
    )
    assert ids == [1, 2] and warnings == []
    with History(tmp_path / "h.sqlite") as db:
        ok, aborted = db.rows(kind="training")
    assert (ok.task, ok.valid, ok.metric_value, ok.metric_unit) == ("digits", True, 0.12, "min")
    assert aborted.valid is False and aborted.metrics["status"] == "aborted"
    assert ok.settings == {"opt_base_learning_rate": 0.1} and ok.system_description == {"a": "b"}
    assert record_training_runs(records, history=None) == ([], [])


def test_an_unwritable_history_never_fails_the_run(tmp_path: Path) -> None:
    import mlpace.loadgen as mlg
    from mlpace.clock import VirtualClock
    from mlpace.report.record import RunRecorder

    clock = VirtualClock()
    out = tmp_path / "run"
    out.mkdir()
    settings = mlg.TestSettings(
        scenario=mlg.TestScenario.SingleStream,
        min_duration_ms=100,
        min_query_count=100,
        single_stream_expected_latency_ns=10_000,
    )
    outcome = mlg.run_test(
        mlg.SimulatedSUT(clock, 10_000), mlg.NullQSL(64), settings,
        mlg.LogSettings(mlg.LogOutputSettings(outdir=str(out))), clock=clock,
    )  # fmt: skip
    recorder = RunRecorder(history=tmp_path)  # a folder, not a database file
    recorder.pass_done(outcome, out)
    lines: list[str] = []
    done = recorder.finish(out, say=lines.append)
    assert done.report == out / "report.html" and done.report.exists()
    assert done.run_ids == [] and any("history not recorded" in w for w in done.warnings)
    assert any(line.startswith("mlpace: warning: history not recorded") for line in lines)
