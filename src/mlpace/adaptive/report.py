"""Text and JSON output of an SpMV experiment."""

from __future__ import annotations

import math
from typing import Any

from mlpace.adaptive.spmv import VARIANTS, SpmvReport, speedup


def _ms(ns: float) -> str:
    return f"{ns / 1e6:,.2f}"


def format_report(
    report: SpmvReport, *, executor: str = "virtual", show_toggles: bool = False
) -> str:
    cfg = report.config
    t = cfg.tiles_per_side
    reps = len(next(iter(report.results.values())))
    link = (
        "measured copy time (this machine's memory is the link)"
        if cfg.link.measured
        else f"{cfg.link.gbps:g} GB/s, {cfg.link.latency_ns / 1000:g} µs latency"
    )
    cpu = (
        "fitted cost model (deterministic)"
        if cfg.cpu_model is not None
        else "measured thread CPU time"
    )
    clock = (
        "makespan in virtual time on the modelled machine"
        if executor == "virtual"
        else "wall time on real threads"
    )
    lines = [
        f"mlpace adaptive spmv: {cfg.order} x {cfg.order} matrix, {cfg.tile} x {cfg.tile} tiles "
        f"({t * t}), compression candidate below {cfg.threshold} non-zeros, "
        f"{cfg.workers} workers, {cfg.n_links} links",
        f"  input: Graph500 Kronecker 0.57/0.19/0.19/0.05, edge factor {cfg.edge_factor}, "
        f"seed {cfg.seed}{', permuted' if cfg.permute else ''}; {cfg.phases} phases, odd phases "
        f"overlay {cfg.overlay:.0%} of the tiles with dense blocks",
        f"  link: {link}; CPU tasks: {cpu}; time: {clock}",
        f"  engine: on below alpha {cfg.alpha:g}, off above beta {cfg.beta:g} "
        f"(compute/communication ratio of a {cfg.window}-task window); median of {reps}",
        "",
        f"{'variant':<10}{'time ms':>11}{'bytes moved':>16}{'CSR sends':>11}{'switches':>10}"
        f"{'max |err|':>11}  check",
    ]
    for v in VARIANTS:
        if v not in report.results:
            continue
        r = report.median(v)
        lines.append(
            f"{v:<10}{_ms(r.time_ns):>11}{r.bytes_moved:>16,}{r.compressed_tiles:>11,}"
            f"{r.switches:>10}{r.max_error:>11.1e}  {'ok' if r.validated else 'FAILED'}"
        )
    if "adaptive" in report.results:
        a = report.median("adaptive").time_ns
        lines.append("")
        for v in VARIANTS[:-1]:
            if v not in report.results:
                continue
            ratio, reduction = speedup(report.median(v).time_ns, a)
            faster = "(faster)" if ratio >= 1 else "(slower)"
            lines.append(
                f"adaptive vs {v:<7} {ratio:6.2f}x {faster:<8} ratio t_{v} / t_adaptive; "
                f"time reduction {reduction:+.1%} = 1 - t_adaptive / t_{v}"
            )
        if show_toggles:
            lines.append("")
            lines.append("compression engine switches (median repetition):")
            for tg in report.median("adaptive").toggles:
                lines.append(
                    f"  t={tg.time_ns / 1e6:9.3f} ms  {tg.old:>3} -> {tg.new:<3}  ratio "
                    f"{tg.mode.ratio:.4g}  window {tg.mode.tasks} tasks"
                )
    lines.append("")
    if report.validated:
        lines.append("validated: every variant's y = A x matched NumPy in every phase")
    else:
        bad = sorted({r.name for runs in report.results.values() for r in runs if not r.validated})
        lines.append(f"FAILED: results differ from NumPy for {', '.join(bad)}")
    return "\n".join(lines)


def report_json(report: SpmvReport) -> dict[str, Any]:
    cfg = report.config
    out: dict[str, Any] = {
        "config": {
            "order": cfg.order,
            "tile": cfg.tile,
            "threshold": cfg.threshold,
            "workers": cfg.workers,
            "links": cfg.n_links,
            "alpha": cfg.alpha,
            "beta": cfg.beta,
            "phases": cfg.phases,
            "overlay": cfg.overlay,
            "edge_factor": cfg.edge_factor,
            "seed": cfg.seed,
            "window": cfg.window,
            "link_gbps": cfg.link.gbps,
            "link_latency_ns": cfg.link.latency_ns,
            "cost": "model" if cfg.cpu_model is not None else "measured",
        },
        "validated": report.validated,
        "variants": {},
    }
    for v, runs in report.results.items():
        m = report.median(v)
        out["variants"][v] = {
            "time_ns": m.time_ns,
            "times_ns": [r.time_ns for r in runs],
            "bytes_moved": m.bytes_moved,
            "csr_sends": m.compressed_tiles,
            "switches": m.switches,
            "max_error": m.max_error,
            "validated": m.validated,
            "cpu_ns": m.cpu_ns,
            "toggles": [
                {
                    "time_ns": t.time_ns,
                    "from": t.old,
                    "to": t.new,
                    "ratio": _finite(t.mode.ratio),
                    "mode": {k: _finite(x) for k, x in t.mode.as_dict().items()},
                }
                for t in m.toggles
            ],
        }
    if "adaptive" in report.results:
        a = report.median("adaptive").time_ns
        out["speedups"] = {
            v: dict(zip(("ratio", "time_reduction"), speedup(report.median(v).time_ns, a)))
            for v in report.results
            if v != "adaptive"
        }
    return out


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
