"""Our training compliance checker: rule engine, directory mode, CLI, hyperparameter rules,
and parity with the official mlperf_logging compliance checker."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from mlpace.cli.main import main
from mlpace.training import constants as C
from mlpace.training.checker import check_log
from mlpace.training.checker.expr import ExprError, State, compile_expr, evaluate
from mlpace.training.checker.package import check_package
from mlpace.training.checker.synth import (
    Event,
    reference_events,
    replaced,
    without,
    write_events,
)
from mlpace.training.hyperparameters import (
    borrow,
    check_closed_hyperparameters,
    closed_modifiable,
    load_hyperparameters,
)


def _move(events: Sequence[Event], key: str, anchor: str, *, after: bool) -> list[Event]:
    moved = next(e for e in events if e.key == key)
    rest = [e for e in events if e is not moved]
    i = next(j for j, e in enumerate(rest) if e.key == anchor)
    return rest[: i + 1] + [moved] + rest[i + 1 :] if after else rest[:i] + [moved] + rest[i:]


GOOD = reference_events()
BROKEN: dict[str, list[Event]] = {
    "missing_key": without(GOOD, C.CONFIG_FILENAME),
    "init_stop_after_run_start": _move(GOOD, C.INIT_STOP, C.RUN_START, after=True),
    "block_start_before_run_start": _move(GOOD, C.BLOCK_START, C.RUN_START, after=False),
    "aborted_target_missed": reference_events(status=C.ABORTED, evals=((3072, 0.95),)),
    "bad_division": replaced(GOOD, C.SUBMISSION_DIVISION, value="closedd"),
    "init_too_long": reference_events(init_ms=31 * 60_000),
}
EXPECTED_RULE = {
    "missing_key": "common.config_filename.req",
    "init_stop_after_run_start": "common.init_stop.check1",
    "block_start_before_run_start": "common.block_start.check0",
    "aborted_target_missed": "closed_llama2_70b_lora.eval_accuracy.quality_target",
    "bad_division": "common.submission_division.check",
    "init_too_long": "common.init_stop.init_budget",
}


def _ids(path: Path) -> list[str]:
    return [f.rule_id for f in check_log(path).errors]


def test_good_log_passes_with_chain(tmp_path: Path) -> None:
    result = check_log(write_events(tmp_path / "good.txt", GOOD))
    assert result.passed and not result.findings
    assert result.rule_files == ("common", "closed_common", "closed_llama2_70b_lora")
    # Noise before the token is fine, as in the official parser.
    assert check_log(write_events(tmp_path / "p.txt", GOOD, prefix="[1,0]<stdout>:")).passed


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_logs_fail_with_the_right_rule(tmp_path: Path, case: str) -> None:
    assert EXPECTED_RULE[case] in _ids(write_events(tmp_path / f"{case}.txt", BROKEN[case]))


def test_findings_carry_file_line_and_mllog_index(tmp_path: Path) -> None:
    path = write_events(tmp_path / "x.txt", BROKEN["init_stop_after_run_start"])
    text = path.read_text()
    path.write_text("preamble line without the token\n" + text)
    found = next(f for f in check_log(path).errors if f.rule_id == "common.run_start.check")
    # The official checker reports this run_start as "line 27" (0-based MLLOG index).
    assert found.index == 27 and found.line == 29
    assert "observed" in found.message and "required" in found.message


def test_init_budget_message_says_observed_and_required(tmp_path: Path) -> None:
    path = write_events(tmp_path / "x.txt", BROKEN["init_too_long"])
    msg = next(f.message for f in check_log(path).errors if f.key == C.INIT_STOP)
    assert "31.00 min" in msg and "budget 30 min" in msg
    open_log = replaced(BROKEN["init_too_long"], C.SUBMISSION_DIVISION, value=C.OPEN)
    assert check_log(write_events(tmp_path / "o.txt", open_log)).passed  # 240 min budget


def test_exactly_one_duplicates(tmp_path: Path) -> None:
    i = next(j for j, e in enumerate(GOOD) if e.key == C.GLOBAL_BATCH_SIZE)
    same = GOOD[: i + 1] + [GOOD[i]] + GOOD[i + 1 :]
    result = check_log(write_events(tmp_path / "same.txt", same))
    assert result.passed and [f.rule_id for f in result.warnings] == [
        "closed_llama2_70b_lora.global_batch_size.req"
    ]
    differ = GOOD[: i + 1] + [Event("event", C.GLOBAL_BATCH_SIZE, 16)] + GOOD[i + 1 :]
    errs = check_log(write_events(tmp_path / "differ.txt", differ)).errors
    assert any("different values 8, 16" in f.message for f in errs)


def test_aborted_run_is_our_error_only(tmp_path: Path) -> None:
    # The official checker accepts status "aborted"; we report it.
    ids = _ids(write_events(tmp_path / "a.txt", reference_events(status=C.ABORTED)))
    assert ids == ["common.run_stop.status_success"]
    ids = _ids(write_events(tmp_path / "n.txt", reference_events(status=None)))
    assert "common.run_stop.check1" in ids


def test_negative_time_to_train_is_our_error(tmp_path: Path) -> None:
    events = [e.at(e.time_ms - 10**7) if e.key == C.RUN_STOP else e for e in GOOD]
    assert _ids(write_events(tmp_path / "t.txt", events)) == ["common.run_stop.time_order"]


def test_formula_needs_global_batch_size_first(tmp_path: Path) -> None:
    events = reference_events(benchmark=C.DEEPSEEKV3_671B, evals=((704512, 3.5),))
    assert check_log(write_events(tmp_path / "ok.txt", events)).passed
    gbs = next(e for e in events if e.key == C.GLOBAL_BATCH_SIZE)
    late = _move(events, C.GLOBAL_BATCH_SIZE, C.CONFIG_FILENAME, after=True)
    errs = check_log(write_events(tmp_path / "late.txt", late)).errors
    assert any("s.global_batch_size is not set" in f.message for f in errs)
    wrong_lr = replaced(events, C.OPT_BASE_LEARNING_RATE, value=3e-5)
    errs = check_log(write_events(tmp_path / "lr.txt", wrong_lr)).errors
    assert [f.key for f in errs] == [C.OPT_BASE_LEARNING_RATE]
    first_eval = reference_events(benchmark=C.DEEPSEEKV3_671B, evals=((gbs.value, 3.5),))
    errs = check_log(write_events(tmp_path / "fe.txt", first_eval)).errors
    assert [f.rule_id for f in errs] == ["closed_deepseekv3_671b.eval_accuracy.first_check0"]


def test_qwen_eval_grid_and_target(tmp_path: Path) -> None:
    evals = ((4608, 0.5), (4864, 0.7))
    assert check_log(
        write_events(
            tmp_path / "q.txt", reference_events(benchmark=C.QWEN35_397B_GRPO, evals=evals)
        )
    ).passed
    off_grid = ((4608, 0.5), (5000, 0.7))
    ids = _ids(
        write_events(
            tmp_path / "g.txt", reference_events(benchmark=C.QWEN35_397B_GRPO, evals=off_grid)
        )
    )
    assert "closed_qwen35_397b_grpo.eval_accuracy.check1" in ids


def test_proxy_benchmark_rules_come_from_the_registry(tmp_path: Path) -> None:
    from mlpace.training.proxies import get_benchmark

    bench = get_benchmark(C.MLPACE_DIGITS)
    hit, miss = bench.quality_target + 0.01, bench.quality_target - 0.05
    ok = reference_events(benchmark=C.MLPACE_DIGITS, evals=((1408, miss), (2816, hit)))
    assert check_log(write_events(tmp_path / "d.txt", ok)).passed
    low = reference_events(benchmark=C.MLPACE_DIGITS, evals=((1408, miss),))
    assert _ids(write_events(tmp_path / "l.txt", low)) == [
        "closed_mlpace_digits.eval_accuracy.quality_target"
    ]
    fixed = next(k for k in bench.defaults if k not in bench.closed_modifiable)
    changed = reference_events(
        benchmark=C.MLPACE_DIGITS, hyperparameters={fixed: "changed"}, evals=((1408, hit),)
    )
    assert f"closed_mlpace_digits.{fixed}.fixed" in _ids(write_events(tmp_path / "c.txt", changed))


def test_expression_evaluator_is_safe() -> None:
    for bad in (
        "__import__('os')",
        "value.__class__",
        "open('x')",
        "[x for x in value]",
        "lambda: 1",
    ):
        with pytest.raises(ExprError):
            compile_expr(bad)
    state = State({"gbs": 16384})
    env = {"value": 2.4e-5, "meta": {"samples_count": 3}}
    assert evaluate("abs(value - 2.4e-05 * (s.gbs / 16384) ** 0.5) < 1e-9", env, state)
    assert evaluate("'samples_count' in meta and meta['samples_count'] % 3 == 0", env, state)
    with pytest.raises(ExprError, match="s.lr"):
        evaluate("s.lr", env, state)


def _package(tmp_path: Path, n: int, *, seeds: Sequence[int] | None = None) -> Path:
    folder = tmp_path / "results" / "sys1" / C.LLAMA2_70B_LORA
    for i in range(n):
        seed = seeds[i] if seeds is not None else i + 1
        write_events(folder / f"result_{i}.txt", reference_events(seed=seed))
    return tmp_path / "results"


def test_directory_mode_counts_and_seeds(tmp_path: Path) -> None:
    assert check_package(_package(tmp_path / "a", 10)).passed
    pkg = check_package(_package(tmp_path / "b", 9, seeds=[5] * 9))
    ids = {f.rule_id for f in pkg.folders[0].findings if f.is_error}
    assert ids == {"package.run_count", "package.seed.duplicate"}


def test_directory_mode_allows_one_failed_run(tmp_path: Path) -> None:
    root = _package(tmp_path, 10)
    folder = root / "sys1" / C.LLAMA2_70B_LORA
    write_events(folder / "result_3.txt", reference_events(seed=4, status=C.ABORTED))
    pkg = check_package(root)
    assert pkg.passed
    assert [f.severity for f in pkg.folders[0].findings] == ["warning"]
    write_events(folder / "result_4.txt", reference_events(seed=5, status=C.ABORTED))
    assert not check_package(root).passed


def test_cli_exit_codes_and_official_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_events(tmp_path / "good.txt", GOOD)
    bad = write_events(tmp_path / "bad.txt", BROKEN["missing_key"])
    assert main(["check-training", str(good)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("SUCCESS")
    assert main(["check-training", str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.rstrip().endswith("ERROR - FAILED") and "config_filename" in out
    assert main(["check-training", str(good), "--format", "json", "--benchmark", "flux1"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"][0]["rule_id"] == "check.benchmark_mismatch"
    root = _package(tmp_path / "pkg", 10)
    assert main(["check-training", str(root)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("SUCCESS")


def test_closed_hyperparameter_checks_and_borrowing(tmp_path: Path) -> None:
    assert (
        check_closed_hyperparameters(
            C.DEEPSEEKV3_671B, {"global_batch_size": 16384, "opt_base_learning_rate": 2.4e-5}
        )
        == []
    )
    bad = check_closed_hyperparameters(
        C.DEEPSEEKV3_671B, {"opt_base_learning_rate": 2.4e-5, "global_batch_size": 32768}
    )
    assert [f.key for f in bad] == [C.OPT_BASE_LEARNING_RATE]
    assert [f.key for f in check_closed_hyperparameters(C.LLAMA2_70B_LORA, {"lora_rank": 8})] == [
        "lora_rank"
    ]
    ncf = check_closed_hyperparameters(
        C.NCF, {"opt_name": "sgd", "opt_adam_epsilon": 1e-3}, reference={"opt_adam_epsilon": 1e-8}
    )
    assert sorted(f.rule_id for f in ncf) == [
        "hyperparameters.ncf.opt_adam_epsilon.fixed",
        "hyperparameters.ncf.opt_name.choice",
    ]
    assert C.OPT_ADAM_BETA_2 in closed_modifiable(C.NCF)
    log = write_events(tmp_path / "r.txt", GOOD)
    hp = borrow(log)
    assert hp[C.GLOBAL_BATCH_SIZE] == 8 and hp[C.LORA_RANK] == 16
    assert C.SEED not in hp and C.SUBMISSION_ORG not in hp and C.CONFIG_FILENAME not in hp
    assert load_hyperparameters(log) == hp
    (tmp_path / "hp.json").write_text(json.dumps({"global_batch_size": 4}))
    assert load_hyperparameters(tmp_path / "hp.json") == {"global_batch_size": 4}


HAVE_OFFICIAL = importlib.util.find_spec("mlperf_logging") is not None


@pytest.mark.official
@pytest.mark.skipif(not HAVE_OFFICIAL, reason="mlperf_logging is not installed")
def test_parity_with_the_official_compliance_checker(tmp_path: Path) -> None:
    cases = {"good": GOOD, **BROKEN}
    paths = {name: write_events(tmp_path / f"{name}.txt", ev) for name, ev in cases.items()}
    # All official runs at once: each is a 1-2 s Python start-up.
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlperf_logging.compliance_checker",
                "--usage",
                "training",
                "--ruleset",
                "6.1.0",
                "--log_output",
                str(tmp_path / f"{name}.out"),
                str(path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        for name, path in paths.items()
    }
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=60)
        official_pass = proc.returncode == 0 and out.rstrip().endswith("SUCCESS")
        ours = check_log(paths[name]).passed
        assert official_pass == ours == (name == "good"), (name, out[-800:])
