"""``mlpace train BENCHMARK``: N timed runs, MLLOG result files, the olympic score, the checker.

    mlpace train digits --runs 5 --output mlpace-results
    torchrun --nproc_per_node 2 -m mlpace.training digits --output mlpace-results

Each run gets its own seed (``--seed S`` gives S, S+1, ...; without it a random base seed, so
repeated invocations differ, and the seeds are printed and logged). Logs go to
``OUTPUT/results/<system>/<benchmark log name>/result_<i>.txt``, the official training layout.
The score is computed by reading those files back (never from in-memory numbers), and the
training checker then judges the same files.

Nothing heavy is imported until the handler runs, so ``mlpace --help`` stays fast and a core
install without torch answers ``mlpace train`` with the pip extra to install.
"""

from __future__ import annotations

import argparse
import importlib
import json
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mlpace.errors import MissingDependencyError, TrainingError

if TYPE_CHECKING:
    from mlpace.training.harness import EvalPoint, RunRecord
    from mlpace.training.proxies import BenchmarkDefinition, HyperValue

EXIT_OK = 0
EXIT_FAILED = 1

BENCHMARK_NAMES = ("digits", "ncf", "translation", "dlrm")
DEFAULT_OUTPUT = "mlpace-results"
DEFAULT_SYSTEM = "mlpace_cpu"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "benchmark",
        help=f"proxy benchmark: {', '.join(BENCHMARK_NAMES)} (or its log name, mlpace_digits ...)",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=None,
        metavar="N",
        help="number of runs (default: the benchmark's required count: digits 5, others 10)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=Path(DEFAULT_OUTPUT),
        metavar="DIR",
        help=(
            f"submission folder; logs go to DIR/results/SYSTEM/BENCHMARK (default {DEFAULT_OUTPUT})"
        ),
    )
    p.add_argument(
        "--system", default=DEFAULT_SYSTEM, help=f"system name (default {DEFAULT_SYSTEM})"
    )
    p.add_argument("--org", default="mlpace", help="submission_org (default mlpace)")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="SEED",
        help="base seed, an integer: run i uses SEED+i (default: random)",
    )
    p.add_argument(
        "--division",
        choices=("closed", "open"),
        default="closed",
        help="submission division (default closed)",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--hparams",
        type=Path,
        metavar="FILE",
        help="a JSON file holding an object of hyperparameters (MLLOG key names) to change, "
        'e.g. {"opt_base_learning_rate": 0.002}',
    )
    source.add_argument(
        "--borrow",
        type=Path,
        metavar="LOG",
        help="re-run with the hyperparameters another run logged (MLLOG result file)",
    )
    p.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        metavar="N",
        help="abort a run after this many epochs",
    )
    p.add_argument(
        "--max-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="abort a run after this many seconds of wall time",
    )
    p.add_argument(
        "--threads", type=int, default=None, metavar="N", help="torch threads per process"
    )
    p.add_argument(
        "--quiet", action="store_true", help="no per-epoch progress lines (results still print)"
    )
    p.add_argument("--no-history", action="store_true", help="do not record the runs")
    p.add_argument(
        "--history", default=None, metavar="FILE", help="history database (default: see README)"
    )


def register(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="time-to-train runs of a proxy benchmark, MLLOG logs, olympic score",
        description=(
            "Run a proxy training benchmark N times under the MLPerf timing rules, write the "
            "MLLOG result files, print the olympic score read back from them and the "
            "training checker's verdict."
        ),
    )
    add_arguments(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    return train_main(args, out=sys.stdout, err=sys.stderr)


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingDependencyError("torch", "train") from None


def load_hparams_file(path: Path) -> dict[str, HyperValue]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrainingError(f"cannot read hyperparameter file {path}: {exc}") from None
    except ValueError as exc:
        raise TrainingError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise TrainingError(f"{path}: expected a JSON object of hyperparameters")
    out: dict[str, HyperValue] = {}
    for key, value in data.items():
        if not isinstance(value, int | float | str | bool):
            raise TrainingError(f"{path}: hyperparameter {key!r} has a non-scalar value {value!r}")
        out[str(key)] = value
    return out


def borrow_hparams(log: Path, bench: BenchmarkDefinition) -> dict[str, HyperValue]:
    """The hyperparameters ``log`` recorded, restricted to the ones ``bench`` defines.

    Uses the project's ``mlpace.training.hyperparameters.borrow`` when present; the minimal
    extraction here (last value of each key the benchmark knows) is the fallback.
    """
    from mlpace.training.mllog import parse_mllog

    records = parse_mllog(log)
    logged_bench = next((r.value for r in records if r.key == "submission_benchmark"), None)
    if logged_bench is not None and logged_bench not in (bench.log_name, bench.name):
        raise TrainingError(
            f"{log} is a {logged_bench} log; it cannot lend hyperparameters to {bench.log_name}"
        )
    found: dict[str, Any] = {}
    try:
        hpmod = importlib.import_module("mlpace.training.hyperparameters")
        borrowed = hpmod.borrow(log)
        found = {k: v for k, v in dict(borrowed).items() if k in bench.defaults}
    except (ImportError, AttributeError):
        for rec in records:
            if rec.key in bench.defaults:
                found[rec.key] = rec.value
    # A key that a borrowed log lacks keeps its default; a key it has must be a scalar.
    out: dict[str, HyperValue] = {}
    for key, value in found.items():
        if not isinstance(value, int | float | str | bool):
            raise TrainingError(f"{log}: logged {key} = {value!r} is not a scalar")
        out[key] = value
    if not out:
        raise TrainingError(f"{log}: no hyperparameters of {bench.log_name} found in the log")
    return out


def _progress_printer(err: TextIO, run: int, runs: int, seed: int, metric: str) -> Any:
    def show(point: EvalPoint) -> None:
        mark = "  target reached" if point.value >= point.target else ""
        err.write(
            f"[run {run + 1}/{runs} seed {seed}] epoch {point.epoch:3d}  samples "
            f"{point.samples_count:9d}  {metric} {point.value:8.4f} / {point.target:g}  "
            f"{point.elapsed_s:6.1f} s{mark}\n"
        )
        err.flush()

    return show


def train_main(args: argparse.Namespace, *, out: TextIO, err: TextIO) -> int:
    """The shared body of ``mlpace train`` and ``python -m mlpace.training`` (torchrun)."""
    for flag, path in (("--hparams", args.hparams), ("--borrow", args.borrow)):
        if path is not None and not path.is_file():  # before torch loads: a typo answers at once
            raise TrainingError(f"{flag} {path}: no such file")
    _require_torch()
    from mlpace.training.distributed import init_from_env, shutdown
    from mlpace.training.harness import run_benchmark
    from mlpace.training.proxies import get_benchmark

    bench = get_benchmark(args.benchmark)
    runs = bench.runs_required if args.runs is None else args.runs
    if runs < 1:
        raise TrainingError(f"--runs must be at least 1, not {runs}")
    overrides: dict[str, HyperValue] = {}
    config_filename = f"{bench.name}_defaults.json"
    if args.hparams is not None:
        overrides = load_hparams_file(args.hparams)
        config_filename = args.hparams.name
    elif args.borrow is not None:
        overrides = borrow_hparams(args.borrow, bench)
        config_filename = f"borrowed_from_{args.borrow.name}"

    ctx = init_from_env()
    try:
        # Validate before any run starts (a closed run that changes a fixed key fails here).
        bench.resolve(overrides, division=args.division, world_size=ctx.world_size)
        base_seed = args.seed if args.seed is not None else secrets.randbelow(2**31 - 2**16)
        base_seed = ctx.broadcast_int(base_seed)  # every rank must build the same model
        seeds = [base_seed + i for i in range(runs)]
        bench_dir = args.output / "results" / args.system / bench.log_name
        if ctx.is_main:
            bench_dir.mkdir(parents=True, exist_ok=True)
            write_system_description(args.output, args.system, args.org, args.division)
            stale = sorted(bench_dir.glob("result_*.txt"))
            for old in stale:  # the package needs exactly N files: no leftovers from before
                old.unlink()
            if stale:
                err.write(f"removed {len(stale)} old result file(s) from {bench_dir}\n")
            out.write(
                f"{bench.log_name}: {runs} run(s), {args.division} division, world size "
                f"{ctx.world_size}, target {bench.metric} "
                f"{'>=' if bench.higher_is_better else '<='} {bench.quality_target:g}\n"
            )
            out.flush()
        records: list[RunRecord] = []
        for i, seed in enumerate(seeds):
            progress = None if args.quiet else _progress_printer(err, i, runs, seed, bench.metric)
            record = run_benchmark(
                bench,
                seed=seed,
                log_path=bench_dir / f"result_{i}.txt",
                hyperparameters=overrides,
                division=args.division,
                max_time_s=args.max_time,
                max_epochs=args.max_epochs,
                dist=ctx,
                org=args.org,
                platform=args.system,
                config_filename=config_filename,
                threads=args.threads,
                progress=progress,
            )
            records.append(record)
            if ctx.is_main:
                out.write(
                    f"run {i}: seed {seed}  {record.time_to_train_min:.4f} min  "
                    f"{record.epochs} epochs  {record.status}\n"
                )
                out.flush()
        if not ctx.is_main:
            return EXIT_OK
        _record_history(args, records, err)
        _print_table(out, records)
        score_ok = _print_score(out, bench, bench_dir)
        check_ok = _print_check(out, bench, bench_dir)
        return EXIT_OK if score_ok and check_ok else EXIT_FAILED
    finally:
        shutdown(ctx)


def write_system_description(output: Path, system: str, org: str, division: str) -> Path:
    """``OUTPUT/systems/<system>.json``: the machine's description (:mod:`mlpace.system`, the
    same capture inference runs and packages use) plus the training package's own values.

    Written only when absent (a user's hand-edited description wins).
    """
    from mlpace.system import describe_system, write_description

    path = output / "systems" / f"{system}.json"
    if path.exists():
        return path
    desc = describe_system(
        backend="torch",
        storage_path=output if output.exists() else ".",
        submitter=org,
        division=division,
        status="Research, Development, or Internal (RDI)",
        system_name=system,
        sw_notes="mlpace proxy benchmark; fp32 on CPU",
    )
    return write_description(desc, path)


def _record_history(args: argparse.Namespace, records: Sequence[RunRecord], err: TextIO) -> None:
    from mlpace.report.record import history_choice, record_training_runs

    where = history_choice(getattr(args, "no_history", False), getattr(args, "history", None))
    desc_path = args.output / "systems" / f"{args.system}.json"
    try:
        desc = json.loads(desc_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        desc = {}
    ids, warnings = record_training_runs(
        records, history=where, system=args.system, system_description=desc
    )
    if ids:
        err.write(f"recorded as run {', '.join(map(str, ids))} in {where} (mlpace history)\n")
    for w in warnings:
        err.write(f"warning: {w}\n")


def _print_table(out: TextIO, records: Sequence[RunRecord]) -> None:
    out.write("\n run        seed    minutes  epochs    samples    metric  status\n")
    for i, r in enumerate(records):
        out.write(
            f"{i:4d} {r.seed:11d} {r.time_to_train_min:10.4f} {r.epochs:7d} "
            f"{r.samples_to_converge:10d} {r.final_metric:9.4f}  {r.status}\n"
        )


def _print_score(out: TextIO, bench: BenchmarkDefinition, bench_dir: Path) -> bool:
    """Olympic score of the logs in ``bench_dir``, read back from the files by the scorer."""
    from mlpace.training.scoring import score_logs

    logs = sorted(bench_dir.glob("result_*.txt"))
    score = score_logs(logs, benchmark=bench.log_name)
    for row in score.rows:
        if row.failed:
            out.write(f"  {Path(row.path).name}: counted as failed: {row.reason}\n")
    if score.score_min is None:
        out.write(f"\nscore: none ({score.reason})\n")
        return False
    failed = sum(1 for r in score.rows if r.failed)
    scaling = f" x scaling {score.scaling_factor:g}" if score.scaling_factor != 1.0 else ""
    out.write(
        f"\nolympic score ({bench.log_name}, {len(logs)} logs read back, fastest and slowest "
        f"dropped, mean of {len(score.kept_min)}{scaling}): {score.score_min:.4f} minutes"
        + (f"  [{failed} failed run counted as the slowest]" if failed else "")
        + "\n"
    )
    return True


def _print_check(out: TextIO, bench: BenchmarkDefinition, bench_dir: Path) -> bool:
    """Run the training compliance checker on every result file and print its verdict."""
    from mlpace.training.checker import check_log

    ok = True
    for log in sorted(bench_dir.glob("result_*.txt")):
        result = check_log(log, benchmark=bench.log_name)
        if result.passed:
            continue
        ok = False
        out.write(f"  {log.name}: {len(result.errors)} error(s)\n")
        for finding in result.errors[:5]:
            out.write(f"    {finding.message}\n")
    out.write(f"checker: {'SUCCESS' if ok else 'FAILED'} ({bench_dir})\n")
    return ok
