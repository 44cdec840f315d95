"""``mlpace kernels run|scale``: the Parallel Research Kernels over several programming models.

Exit codes: 0 the run validated; 1 a run did not validate (the PRK prints ERROR and fails);
2 bad parameters or a model that cannot run here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlpace.kernels.runner import MODELS
from mlpace.kernels.spec import KERNELS

_PARAMS = ("iterations", "order", "radius", "pattern", "tile", "m", "n", "group", "length", "lsize")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "kernels",
        help="Parallel Research Kernels (stencil, p2p, transpose, nstream, dgemm, sparse)",
        description="Run the Parallel Research Kernels under a programming model, or run the "
        "strong-scaling experiment across models.",
    )
    ksub = p.add_subparsers(dest="kernels_command", metavar="ACTION", required=True)
    run_p = ksub.add_parser("run", help="run one kernel, print the PRK output")
    run_p.add_argument("kernel", choices=KERNELS)
    run_p.add_argument("--model", choices=MODELS, default="numpy")
    run_p.add_argument("--ranks", type=_count, default=1, help="ranks/threads/processes")
    run_p.add_argument(
        "--variant", default="", help="mpi: stencil sendrecv|rma; transpose alltoall|sendrecv|rma"
    )
    run_p.add_argument("--json", action="store_true", help="also print the JSON record")
    run_p.add_argument(
        "--record", type=Path, default=None, metavar="FILE", help="append the JSON record to FILE"
    )
    _param_flags(run_p)
    run_p.set_defaults(handler=_handle_run)

    sc = ksub.add_parser("scale", help="strong scaling across models and rank counts")
    sc.add_argument("kernel", choices=KERNELS)
    sc.add_argument(
        "--models",
        default="numpy,threads,shm,mpi",
        type=_models,
        help="comma-separated models (default numpy,threads,shm,mpi)",
    )
    sc.add_argument("--ranks", default="1,2", type=_counts, help="comma-separated rank counts")
    sc.add_argument("--reps", type=_count, default=1, help="runs per point; the best is kept")
    sc.add_argument(
        "--out",
        type=Path,
        default=Path("prk-scale"),
        metavar="DIR",
        help="where the table (.md, .csv), plot (.svg) and records (.jsonl) go",
    )
    _param_flags(sc)
    sc.set_defaults(handler=_handle_scale)


def _param_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("PRK parameters (defaults: CI-friendly sizes per kernel)")
    g.add_argument("--iterations", type=int, default=None, help="timed iterations (default 10)")
    g.add_argument(
        "--order",
        type=int,
        default=None,
        help="stencil grid size / transpose and dgemm matrix order",
    )
    g.add_argument("--radius", type=int, default=None, help="stencil/sparse radius")
    g.add_argument(
        "--pattern",
        "--type",
        dest="pattern",
        choices=("star", "grid"),
        default=None,
        help="stencil shape",
    )
    g.add_argument("--tile", type=int, default=None, help="transpose tile (0 = untiled)")
    g.add_argument("--m", type=int, default=None, help="p2p first grid dimension")
    g.add_argument("--n", type=int, default=None, help="p2p second grid dimension")
    g.add_argument("--group", type=int, default=None, help="p2p group factor (lines/message)")
    g.add_argument("--length", type=int, default=None, help="nstream vector length")
    g.add_argument("--lsize", type=int, default=None, help="sparse log2 grid size")
    g.add_argument("--no-scramble", action="store_true", help="sparse: canonical column order")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _counts(text: str) -> list[int]:
    return [_count(t) for t in text.split(",") if t.strip()]


def _models(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in MODELS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {bad or text!r}; allowed: {','.join(MODELS)}"
        )
    return names


def _params(args: argparse.Namespace) -> Any:
    from mlpace.kernels.spec import default_params, validate_params

    overrides = {k: getattr(args, k) for k in _PARAMS}
    if args.no_scramble:
        overrides["scramble"] = False
    p = default_params(args.kernel, **overrides)
    validate_params(p)
    return p


def _handle_run(args: argparse.Namespace) -> int:
    from mlpace.kernels.output import prk_text
    from mlpace.kernels.runner import run

    result = run(_params(args), args.model, args.ranks, args.variant)
    print(prk_text(result), flush=True)
    if args.json:
        print(result.to_json())
    if args.record is not None:
        with args.record.open("a") as fh:
            fh.write(result.to_json() + "\n")
    return 0 if result.verdict.valid else 1


def _handle_scale(args: argparse.Namespace) -> int:
    from mlpace.kernels.runner import run
    from mlpace.kernels.scale import run_scaling

    params = _params(args)

    def show(result: Any) -> None:
        ok = "validates" if result.verdict.valid else "DOES NOT VALIDATE"
        print(
            f"  {result.model:8s} ranks={result.ranks:<3d} {result.rate:12.1f} {result.unit} "
            f"({ok})",
            file=sys.stderr,
            flush=True,
        )

    table = run_scaling(
        params, args.models, args.ranks, lambda p, m, n: run(p, m, n), args.reps, on_result=show
    )
    print(f"Strong scaling of {params.kernel}: {params.to_dict()}")
    print(table.markdown())
    for note in table.skipped:
        print(f"skipped: {note}")
    for path in table.write(args.out):
        print(f"wrote {path}")
    if not table.all_valid:
        print("ERROR: not every run validated", file=sys.stderr)
        return 1
    print("Every run validates")
    return 0
