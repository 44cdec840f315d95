"""Generate our Reference Convergence Points from our own reference runs.

    python -m mlpace.training.make_rcps [BENCHMARK ...] [--batch-sizes 32,64] [--runs R]
                                        [--seed S] [--out DIR] [--threads T]

For each benchmark and global batch size, R runs (default 2N, N = the benchmark's required
run count, the minimum the RCP rules ask of a reference) go through the real harness with the
default hyperparameters (the learning rate follows the benchmark's scaling rule), each with its
own seed, writing MLLOG files to a temporary folder. The convergence point of each run is read
back from its log, as the RCP checker reads submissions: the ``samples_count`` of the last
``eval_accuracy`` before a ``run_stop`` with status ``success``. A reference run that fails to
converge stops the generation (an RCP built around a failure would be meaningless).

Output: ``rcps_<benchmark>.json`` in the official RCP layout: records named
``<log name>_ref_<BS>`` with ``Benchmark``, ``Creator``, ``When``, ``Platform``,
``Precision``, ``BS``, ``Hyperparams`` and ``samples to converge``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlpace.errors import MlpaceError, TrainingError

RCP_DIR = Path(__file__).resolve().parent / "rcps"
DEFAULT_SEED = 10_000  # far from the seeds tests and `mlpace train --seed` examples use

# Batch sizes of the committed RCP files (reference batch first).
DEFAULT_BATCH_SIZES: dict[str, tuple[int, ...]] = {
    "digits": (32, 64, 128),
    "ncf": (1024, 2048),
    "translation": (64, 128),
    "dlrm": (2048,),
}


def rcp_path(benchmark: str, directory: Path = RCP_DIR) -> Path:
    from mlpace.training.proxies import get_benchmark

    return directory / f"rcps_{get_benchmark(benchmark).name}.json"


def converged_samples(log: Path) -> int | None:
    """The convergence point of one log, as the RCP checker defines it (None: not converged)."""
    from mlpace.training.mllog import parse_mllog

    last_eval: int | None = None
    for rec in parse_mllog(log):
        if rec.key == "eval_accuracy":
            count = rec.meta("samples_count")
            last_eval = None if count is None else int(count)
        elif rec.key == "run_stop":
            return last_eval if rec.meta("status") == "success" else None
    return None


def generate(
    benchmark: str,
    batch_sizes: Sequence[int],
    *,
    runs: int | None = None,
    seed: int = DEFAULT_SEED,
    threads: int = 1,
    echo: Any = None,
) -> dict[str, Any]:
    """Run the reference runs and return the RCP JSON object for ``benchmark``."""
    from mlpace.training.distributed import SINGLE
    from mlpace.training.harness import run_benchmark
    from mlpace.training.proxies import get_benchmark

    bench = get_benchmark(benchmark)
    n_runs = 2 * bench.runs_required if runs is None else runs
    when = _dt.date.today().isoformat()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=f"mlpace-rcp-{bench.name}-") as tmp:
        for bs in batch_sizes:
            hp = bench.resolve({"global_batch_size": bs})
            points: list[int] = []
            for i in range(n_runs):
                run_seed = seed + 1000 * bs + i  # distinct across batch sizes too
                log = Path(tmp) / f"bs{bs}_run{i}.txt"
                run_benchmark(
                    bench,
                    seed=run_seed,
                    log_path=log,
                    hyperparameters={"global_batch_size": bs},
                    dist=SINGLE,
                    threads=threads,
                )
                point = converged_samples(log)
                if point is None:
                    raise TrainingError(
                        f"{bench.name} reference run at batch {bs} with seed {run_seed} did "
                        "not converge; fix the hyperparameters before making an RCP"
                    )
                points.append(point)
                if echo is not None:
                    echo.write(f"{bench.name} bs {bs} run {i + 1}/{n_runs}: {point} samples\n")
                    echo.flush()
            out[f"{bench.log_name}_ref_{bs}"] = {
                "Benchmark": bench.log_name,
                "Creator": "mlpace",
                "When": when,
                "Platform": "2-core CPU",
                "Precision": "fp32",
                "BS": bs,
                "Hyperparams": {k: v for k, v in sorted(hp.items())},
                "Seeds": [seed + 1000 * bs + i for i in range(n_runs)],
                "samples to converge": sorted(points),
            }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlpace.training.make_rcps", description=__doc__.split("\n")[0]
    )
    parser.add_argument("benchmarks", nargs="*", default=list(DEFAULT_BATCH_SIZES))
    parser.add_argument(
        "--batch-sizes", help="comma-separated global batch sizes (default: per benchmark)"
    )
    parser.add_argument("--runs", type=int, default=None, help="runs per batch size (default 2N)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=RCP_DIR)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(args.threads)
        for name in args.benchmarks:
            from mlpace.training.proxies import get_benchmark

            bench = get_benchmark(name)
            sizes = (
                tuple(int(x) for x in args.batch_sizes.split(","))
                if args.batch_sizes
                else DEFAULT_BATCH_SIZES[bench.name]
            )
            rcps = generate(
                bench.name,
                sizes,
                runs=args.runs,
                seed=args.seed,
                threads=args.threads,
                echo=sys.stderr,
            )
            args.out.mkdir(parents=True, exist_ok=True)
            path = rcp_path(bench.name, args.out)
            path.write_text(json.dumps(rcps, indent=2) + "\n", encoding="utf-8")
            print(f"wrote {path}")
    except MlpaceError as exc:
        print(f"make_rcps: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
