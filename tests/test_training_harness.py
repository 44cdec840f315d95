"""The training harness: timing-rule order, statuses, init budget, seeds, the train CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlpace.errors import MissingDependencyError, TrainingError
from mlpace.training.mllog import MLLogRecord, parse_mllog

torch = pytest.importorskip("torch")

from mlpace.training.distributed import SINGLE  # noqa: E402  (needs torch)
from mlpace.training.harness import RunRecord, check_init_budget, run_benchmark  # noqa: E402


def _keys(path: Path) -> list[str]:
    return [r.key for r in parse_mllog(path)]


def _run(tmp_path: Path, **kwargs: object) -> tuple[RunRecord, list[MLLogRecord]]:
    log = tmp_path / "result_0.txt"
    kwargs.setdefault("seed", 1)
    record = run_benchmark("digits", log_path=log, dist=SINGLE, threads=1, **kwargs)  # type: ignore[arg-type]
    return record, parse_mllog(log)


def test_log_follows_the_timing_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Model built before init_stop; the data first touched after run_start."""
    from mlpace.training.proxies import digits

    log = tmp_path / "result_0.txt"
    seen: dict[str, str] = {}
    real_load, real_build = digits.load_digits_arrays, digits.build_model

    def last_key() -> str:
        return _keys(log)[-1]

    def spy_load():  # type: ignore[no-untyped-def]
        seen.setdefault("data", last_key())
        return real_load()

    def spy_build():  # type: ignore[no-untyped-def]
        seen.setdefault("model", last_key())
        return real_build()

    monkeypatch.setattr(digits, "load_digits_arrays", spy_load)
    monkeypatch.setattr(digits, "build_model", spy_build)
    record = run_benchmark("digits", seed=3, log_path=log, dist=SINGLE, threads=1)
    assert seen == {"model": "eval_samples", "data": "run_start"}

    recs = parse_mllog(log)
    keys = [r.key for r in recs]
    assert keys[:2] == ["cache_clear", "init_start"]
    assert recs[0].value is True
    for key in (
        "submission_org",
        "submission_platform",
        "submission_division",
        "submission_status",
        "submission_benchmark",
        "seed",
        "global_batch_size",
        "opt_base_learning_rate",
        "gradient_accumulation_steps",
        "lowest_numerical_precision_in_linear",
        "lowest_numerical_precision_in_attn",
        "lowest_numerical_precision_in_comm",
        "tensor_parallelism",
        "pipeline_parallelism",
        "context_parallelism",
        "expert_parallelism",
        "micro_batch_size",
        "config_filename",
        "train_samples",
        "eval_samples",
    ):
        assert keys.count(key) == 1, key
        assert keys.index(key) < keys.index("init_stop"), key
    assert keys.index("global_batch_size") < keys.index("opt_base_learning_rate")
    assert keys.index("init_stop") + 1 == keys.index("run_start")
    assert keys[-1] == "run_stop" and keys.count("run_stop") == 1
    assert recs[-1].meta("status") == "success"
    times = [r.time_ms for r in recs]
    assert times == sorted(times)
    # Every block/eval marker carries samples_count, and the counts never go down.
    counts = [r.meta("samples_count") for r in recs[keys.index("run_start") + 1 :]]
    assert None not in counts and counts == sorted(counts)
    evals = [r for r in recs if r.key == "eval_accuracy"]
    assert evals[-1].value >= 0.97 and all(e.meta("epoch_num") for e in evals)
    assert record.samples_to_converge == evals[-1].meta("samples_count")
    assert record.time_to_train_min == pytest.approx(
        (recs[-1].time_ms - recs[keys.index("run_start")].time_ms) / 60_000
    )
    assert next(r for r in recs if r.key == "submission_benchmark").value == "mlpace_digits"


def test_exhausted_epochs_abort(tmp_path: Path) -> None:
    record, recs = _run(tmp_path, max_epochs=1)
    assert record.status == "aborted" and not record.success
    assert recs[-1].key == "run_stop" and recs[-1].meta("status") == "aborted"
    assert [r.key for r in recs].count("eval_accuracy") == 1


def _ticking_clock(step_ms: int) -> Callable[[], int]:
    now = [1_700_000_000_000]

    def clock() -> int:
        now[0] += step_ms
        return now[0]

    return clock


def test_exhausted_time_aborts(tmp_path: Path) -> None:
    # Every clock reading advances a second, so the 0.5 s budget is gone after one epoch.
    record, recs = _run(tmp_path, max_time_s=0.5, clock=_ticking_clock(1000))
    assert record.status == "aborted" and record.epochs == 1
    assert recs[-1].meta("status") == "aborted"


def test_init_budget_is_enforced(tmp_path: Path) -> None:
    check_init_budget(29.9 * 60_000, "closed")
    check_init_budget(239 * 60_000, "open")
    with pytest.raises(TrainingError, match="over the closed division's untimed allowance"):
        check_init_budget(30 * 60_000, "closed")
    with pytest.raises(TrainingError, match="allowance of 30 min"):
        _run(tmp_path, clock=_ticking_clock(120_000))  # two minutes per clock reading
    # The log keeps what happened up to init_stop (and no run_start).
    keys = _keys(tmp_path / "result_0.txt")
    assert "init_stop" in keys and "run_start" not in keys


def test_same_seed_same_convergence(tmp_path: Path) -> None:
    a, _ = _run(tmp_path / "a", seed=11)
    b, _ = _run(tmp_path / "b", seed=11)
    assert a.samples_to_converge == b.samples_to_converge
    assert [p.value for p in a.history] == [p.value for p in b.history]


def test_hyperparameters_reach_the_log(tmp_path: Path) -> None:
    record, recs = _run(
        tmp_path,
        hyperparameters={"global_batch_size": 64, "opt_sgd_momentum": 0.8},
        division="open",
    )
    logged = {r.key: r.value for r in recs}
    assert logged["global_batch_size"] == 64
    assert logged["opt_base_learning_rate"] == pytest.approx(0.1)  # linear scaling from 32
    assert logged["opt_sgd_momentum"] == 0.8 and logged["submission_division"] == "open"
    assert record.hyperparameters["global_batch_size"] == 64
    with pytest.raises(TrainingError, match="closed division"):
        _run(tmp_path / "c", hyperparameters={"opt_sgd_momentum": 0.8})


# ---- the CLI -------------------------------------------------------------------------------


def _cli(args: list[str]) -> int:
    from mlpace.cli.main import main

    return main(args)


def test_train_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli(
        [
            "train",
            "digits",
            "--runs",
            "3",
            "--output",
            str(tmp_path),
            "--seed",
            "40",
            "--threads",
            "1",
        ]
    )
    out, err = capsys.readouterr()
    bench_dir = tmp_path / "results" / "mlpace_cpu" / "mlpace_digits"
    logs = sorted(bench_dir.glob("result_*.txt"))
    assert [p.name for p in logs] == ["result_0.txt", "result_1.txt", "result_2.txt"]
    seeds = [next(r.value for r in parse_mllog(p) if r.key == "seed") for p in logs]
    assert seeds == [40, 41, 42]
    assert "olympic score" in out and "minutes" in out
    assert "epoch" in err and "top1" in err  # live progress
    for seed in seeds:
        assert f" {seed} " in out
    assert code == 0, out
    # The middle time, read back from the logs, is the score of three runs.
    times = sorted(
        (r_stop.time_ms - r_start.time_ms) / 60_000
        for p in logs
        for recs in [parse_mllog(p)]
        for r_start in [next(r for r in recs if r.key == "run_start")]
        for r_stop in [next(r for r in recs if r.key == "run_stop")]
    )
    assert f"{times[1]:.4f} minutes" in out
    assert "checker: SUCCESS" in out
    for log in logs:  # each log passes the checker CLI too (3 runs: not a full package)
        assert _cli(["check-training", str(log)]) == 0
    system = json.loads((tmp_path / "systems" / "mlpace_cpu.json").read_text())
    assert system["division"] == "closed" and system["number_of_nodes"] == "1"
    assert all(isinstance(v, str) for v in system.values())


def test_train_cli_default_runs_and_stale_files(tmp_path: Path) -> None:
    bench_dir = tmp_path / "results" / "mlpace_cpu" / "mlpace_digits"
    bench_dir.mkdir(parents=True)
    (bench_dir / "result_9.txt").write_text("old")
    code = _cli(["train", "digits", "--output", str(tmp_path), "--threads", "1", "--quiet"])
    assert code == 0
    logs = sorted(bench_dir.glob("result_*.txt"))
    assert len(logs) == 5  # digits requires 5 runs; the stale file is gone
    assert _cli(["check-training", str(bench_dir)]) == 0  # a complete benchmark folder
    seeds = {next(r.value for r in parse_mllog(p) if r.key == "seed") for p in logs}
    assert len(seeds) == 5


def test_train_cli_hparams_and_borrow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps({"global_batch_size": 64, "opt_learning_rate_warmup_epochs": 1}))
    lender = tmp_path / "lender"
    assert _cli(
        [
            "train",
            "digits",
            "--runs",
            "1",
            "--output",
            str(lender),
            "--hparams",
            str(hp),
            "--seed",
            "1",
            "--threads",
            "1",
            "--quiet",
        ]
    ) in (0, 1)
    lender_log = lender / "results" / "mlpace_cpu" / "mlpace_digits" / "result_0.txt"
    logged = {r.key: r.value for r in parse_mllog(lender_log)}
    assert logged["global_batch_size"] == 64 and logged["config_filename"] == "hp.json"

    borrower = tmp_path / "borrower"
    assert _cli(
        [
            "train",
            "digits",
            "--runs",
            "1",
            "--output",
            str(borrower),
            "--borrow",
            str(lender_log),
            "--seed",
            "2",
            "--threads",
            "1",
            "--quiet",
        ]
    ) in (0, 1)
    got = {
        r.key: r.value
        for r in parse_mllog(borrower / "results" / "mlpace_cpu" / "mlpace_digits" / "result_0.txt")
    }
    assert got["global_batch_size"] == 64
    assert got["opt_learning_rate_warmup_epochs"] == 1
    assert got["opt_base_learning_rate"] == pytest.approx(logged["opt_base_learning_rate"])
    assert got["seed"] == 2

    # An open-division log that changed a fixed hyperparameter cannot be borrowed in closed.
    hp.write_text(json.dumps({"opt_sgd_momentum": 0.8}))
    open_dir = tmp_path / "open"
    _cli(
        [
            "train",
            "digits",
            "--runs",
            "1",
            "--output",
            str(open_dir),
            "--hparams",
            str(hp),
            "--division",
            "open",
            "--seed",
            "3",
            "--threads",
            "1",
            "--quiet",
        ]
    )
    open_log = open_dir / "results" / "mlpace_cpu" / "mlpace_digits" / "result_0.txt"
    capsys.readouterr()
    code = _cli(
        [
            "train",
            "digits",
            "--runs",
            "1",
            "--output",
            str(tmp_path / "x"),
            "--borrow",
            str(open_log),
            "--threads",
            "1",
        ]
    )
    assert code == 2
    assert "closed division does not allow changing opt_sgd_momentum" in capsys.readouterr().err


def test_train_cli_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["train", "resnet", "--output", str(tmp_path)]) == 2
    assert "unknown training benchmark" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert _cli(["train", "digits", "--hparams", str(bad), "--output", str(tmp_path)]) == 2
    assert "JSON object" in capsys.readouterr().err


def test_train_without_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlpace.cli import train as train_cli

    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'mlpace\[train\]'"):
        train_cli._require_torch()


def test_cli_parser_does_not_import_torch() -> None:
    code = (
        "import sys; from mlpace.cli.main import build_parser; build_parser(); "
        "print(any(m == 'torch' or m.startswith('torch.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- RCPs ----------------------------------------------------------------------------------


def test_committed_rcps_follow_the_official_layout() -> None:
    from mlpace.training.make_rcps import RCP_DIR
    from mlpace.training.proxies import BENCHMARKS

    for bench in BENCHMARKS.values():
        path = RCP_DIR / f"rcps_{bench.name}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data, path
        for name, rcp in data.items():
            assert name == f"{bench.log_name}_ref_{rcp['BS']}"
            assert rcp["Benchmark"] == bench.log_name
            assert rcp["Creator"] == "mlpace" and rcp["Precision"] == "fp32"
            assert rcp["Platform"] == "2-core CPU" and rcp["When"]
            assert rcp["Hyperparams"]["global_batch_size"] == rcp["BS"]
            points = rcp["samples to converge"]
            assert len(points) >= 2 * bench.runs_required
            assert all(isinstance(p, int) and p > 0 for p in points)


def test_make_rcps_reads_convergence_from_the_logs(tmp_path: Path) -> None:
    from mlpace.training.make_rcps import converged_samples, generate, main

    rcps = generate("digits", [32], runs=2, seed=5)
    (rcp,) = rcps.values()
    assert rcp["BS"] == 32 and len(rcp["samples to converge"]) == 2
    assert rcp["Seeds"] == [5 + 32_000, 5 + 32_001]
    # The same seeds through the harness give the same points (seeded determinism).
    points: list[int] = []
    for seed in rcp["Seeds"]:
        log = tmp_path / f"{seed}.txt"
        run_benchmark("digits", seed=seed, log_path=log, dist=SINGLE, threads=1)
        point = converged_samples(log)
        assert point is not None
        points.append(point)
    assert sorted(points) == rcp["samples to converge"]
    aborted = tmp_path / "aborted.txt"
    run_benchmark("digits", seed=1, log_path=aborted, dist=SINGLE, threads=1, max_epochs=1)
    assert converged_samples(aborted) is None
    assert main(["digits", "--batch-sizes", "64", "--runs", "1", "--out", str(tmp_path)]) == 0
    assert "mlpace_digits_ref_64" in json.loads((tmp_path / "rcps_digits.json").read_text())
