"""``mlpace adaptive spmv|sweep``: the scheduler-driven adaptive compression engine on tiled SpMV.

Exit codes: 0 every variant's result matched NumPy in every phase; 1 a result did not match;
2 bad parameters (tile not dividing the order, alpha >= beta, threshold outside the tile, ...).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from mlpace.cli._flags import count, number


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "adaptive",
        help="scheduler-driven adaptive optimisation: the compression engine on tiled SpMV",
        description="Task types, a run-time mode and domains of efficiency, validated on an "
        "adaptive data compression engine for tiled matrix-vector multiplication.",
    )
    inner = p.add_subparsers(dest="adaptive_command", metavar="SUBCOMMAND")
    spmv = inner.add_parser(
        "spmv",
        help="run dense, sparse, static per-tile and adaptive SpMV; print times and speedups",
        description="Runs the four variants over the same phases, alternating, and prints time "
        "(makespan on the modelled machine), bytes moved, compression switches and the "
        "adaptive variant's speedups as a ratio (t_other / t_adaptive) and as a time reduction "
        "(1 - t_adaptive / t_other). Every phase's result is checked against NumPy.",
    )
    _common(spmv)
    spmv.add_argument(
        "--reps",
        type=count("repetitions", 1, 1000),
        default=3,
        help="repetitions; the median is reported (default 3)",
    )
    spmv.add_argument(
        "--executor",
        choices=("virtual", "threads"),
        default="virtual",
        help="virtual: P processors simulated in virtual time, tasks charged "
        "their CPU time (default); threads: real worker threads, wall time",
    )
    spmv.add_argument(
        "--show-toggles",
        action="store_true",
        help="list every switch of the compression engine (time, mode)",
    )
    spmv.add_argument("--json", default=None, metavar="FILE", help="also write the results here")
    spmv.set_defaults(handler=handle_spmv)

    sweep = inner.add_parser(
        "sweep",
        help="sweep alpha/beta and the dense-overlay fraction; write CSV and an SVG plot",
        description="Runs the adaptive variant over an alpha x beta grid and the baselines "
        "over overlay fractions; writes sweep.csv and sweep.svg into --out.",
    )
    _common(sweep)
    sweep.add_argument(
        "--alphas", default="0.005,0.02,0.05,0.1", help="comma-separated alpha values"
    )
    sweep.add_argument(
        "--betas",
        default="0.02,0.05,0.2,0.5,1",
        help="comma-separated beta values (pairs with beta <= alpha are skipped)",
    )
    sweep.add_argument(
        "--overlays", default="0,0.25,0.5,0.75,1", help="comma-separated dense-overlay fractions"
    )
    sweep.add_argument("--out", default="adaptive-sweep", metavar="DIR")
    sweep.set_defaults(handler=handle_sweep)
    p.set_defaults(handler=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--order", type=count("rows", 1, 1 << 16), default=2048)
    p.add_argument("--tile", type=count("rows", 1, 1 << 16), default=128)
    p.add_argument(
        "--threshold",
        type=count("non-zeros", 1),
        default=128,
        help="a tile is a compression candidate below this many non-zeros",
    )
    p.add_argument("--workers", type=count("processors", 1, 1024), default=4)
    p.add_argument(
        "--links",
        type=count("links", 0, 1024),
        default=0,
        help="communication links (default 0: one per worker)",
    )
    p.add_argument(
        "--alpha",
        type=number("ratio", 0, 1e12),
        default=0.05,
        help="compression on when the compute/communication ratio falls below",
    )
    p.add_argument(
        "--beta",
        type=number("ratio", 0, 1e12),
        default=0.3,
        help="compression off when the ratio rises above (must exceed alpha)",
    )
    p.add_argument("--phases", type=count("phases", 1, 10_000), default=8)
    p.add_argument(
        "--overlay",
        type=number("fraction", 0, 1),
        default=0.75,
        help="fraction of tiles made dense in the odd phases (default 0.75)",
    )
    p.add_argument("--edge-factor", type=count("edges per vertex", 1, 1024), default=16)
    p.add_argument("--seed", type=count("seed", 0), default=1)
    p.add_argument(
        "--window",
        type=count("tasks", 1),
        default=64,
        help="tasks in the scheduler's sliding window (default 64)",
    )
    p.add_argument(
        "--link-gbps",
        type=number("GB/s", 0, 1e6),
        default=1.0,
        help="modelled link bandwidth; 0 charges the measured copy time",
    )
    p.add_argument("--link-latency-us", type=number("microseconds", 0, 1e6), default=1.0)
    p.add_argument(
        "--cost",
        choices=("measured", "model", "calibrated"),
        default="measured",
        help="charge CPU tasks their measured thread CPU time (default), the fixed cost model "
        "fitted on the project's machine, or a cost model calibrated on this machine now "
        "(fastest of 30 timings per operation)",
    )
    p.add_argument(
        "--permute",
        action="store_true",
        help="relabel vertices at random like the Graph500 reference",
    )


def _config(args: argparse.Namespace) -> Any:
    from mlpace.adaptive import CpuModel, LinkModel, SpmvConfig
    from mlpace.adaptive.costs import calibrate

    cpu_model: CpuModel | None = None
    if args.cost == "model":
        cpu_model = CpuModel()
    elif args.cost == "calibrated":
        if args.tile < 1 or args.order % args.tile:
            cpu_model = CpuModel()  # validate() below names the real problem
        else:
            cpu_model = calibrate(args.tile)
            fitted = ", ".join(f"{k} {v:.3g}" for k, v in vars(cpu_model).items())
            print(f"calibrated CPU cost model (ns): {fitted}")
    cfg = SpmvConfig(
        order=args.order,
        tile=args.tile,
        threshold=args.threshold,
        workers=args.workers,
        links=args.links,
        alpha=args.alpha,
        beta=args.beta,
        phases=args.phases,
        overlay=args.overlay,
        edge_factor=args.edge_factor,
        seed=args.seed,
        window=args.window,
        link=LinkModel(args.link_gbps, args.link_latency_us * 1000.0),
        cpu_model=cpu_model,
        permute=args.permute,
    )
    cfg.validate()
    return cfg


def handle_spmv(args: argparse.Namespace) -> int:
    from mlpace.adaptive import format_report, report_json, run_spmv

    cfg = _config(args)
    report = run_spmv(cfg, reps=args.reps, threads=args.executor == "threads")
    print(format_report(report, executor=args.executor, show_toggles=args.show_toggles))
    if args.json:
        Path(args.json).write_text(json.dumps(report_json(report), indent=2, default=_num))
    return 0 if report.validated else 1


def _num(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else str(value)


def _floats(flag: str, text: str) -> list[float]:
    from mlpace.adaptive import AdaptiveError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AdaptiveError(
            f"{flag} expects comma-separated numbers", field=flag, value=text
        ) from None
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise AdaptiveError(f"{flag} expects finite numbers >= 0", field=flag, value=text)
    return values


def handle_sweep(args: argparse.Namespace) -> int:
    from mlpace.adaptive import run_sweep, sweep_csv, sweep_svg

    cfg = _config(args)
    result = run_sweep(
        cfg,
        alphas=_floats("--alphas", args.alphas),
        betas=_floats("--betas", args.betas),
        overlays=_floats("--overlays", args.overlays),
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.csv").write_text(sweep_csv(result))
    (out / "sweep.svg").write_text(sweep_svg(result))
    print(f"wrote {out / 'sweep.csv'} and {out / 'sweep.svg'} ({len(result.rows)} runs)")
    return 0 if result.validated else 1
