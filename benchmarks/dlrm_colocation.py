"""DLRM inference: latency-bounded throughput against batch size and co-located instances.

The recommendation-inference study's finding (batching and co-location drastically change
latency-bounded throughput) checked on mlpace's miniature DLRM. For every (batch size,
instances) point, N pinned single-thread model instances serve back-to-back requests of B
samples for ``--duration`` seconds (:mod:`mlpace.workloads.colocation`); a point counts when its
p99 request latency meets the bound (mlperf.conf's DLRM Server bound, 60 ms, by default).

    python benchmarks/dlrm_colocation.py [--quick] [--batch-sizes 1,8,64,256,1024]
        [--instances 1,2,4] [--duration 2] [--reps 3] [--bound-ms 60] [--backend numpy|torch]
        [--out DIR]

Writes ``DIR/dlrm_colocation.{json,md,svg}``: the points, the Markdown table (rows: batch size,
columns: instances) with the machine's core count and load average before and after, and a
plot of latency-bounded throughput against batch size, one line per instance count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from mlpace.report.svg import PALETTE, Chart, Series, render
from mlpace.workloads.colocation import StudyPoint, format_table, median_points, run_study


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def plot(points: list[StudyPoint], title: str) -> str:
    counts = sorted({p.instances for p in points})
    series = []
    for k, n in enumerate(counts):
        mine = sorted((p for p in points if p.instances == n), key=lambda p: p.batch_size)
        series.append(
            Series(
                f"{n} instance(s)",
                [float(p.batch_size) for p in mine],
                # Log scale: a missed bound is drawn at the bottom edge, not dropped.
                [max(p.bounded_throughput, 1.0) for p in mine],
                color=PALETTE[k % len(PALETTE)],
            )
        )
    chart = Chart(
        "dlrm-colocation",
        title,
        "batch size (samples per request)",
        "latency-bounded throughput",
        y_unit="/s",
        x_log=True,
        y_log=True,
        series=series,
    )
    return render(chart)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-sizes", default="1,8,64,256,1024")
    ap.add_argument("--instances", default=None, help="default: 1, 2, 4 ... up to 2 x cores")
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per point")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the grid (medians)")
    ap.add_argument("--bound-ms", type=float, default=60.0)
    ap.add_argument("--backend", default="numpy", choices=("numpy", "torch"))
    ap.add_argument("--no-pin", action="store_true", help="do not pin instances to cores")
    ap.add_argument("--quick", action="store_true", help="batch 1,64,1024; 1 s per point")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = ap.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    sizes = _ints("1,64,1024" if args.quick else args.batch_sizes)
    if args.instances:
        counts = _ints(args.instances)
    else:
        counts = sorted({1, 2, *[2**k for k in range(1, 8) if 2**k <= 2 * cores]})
    duration = 1.0 if args.quick else args.duration
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    reps = 1 if args.quick else max(1, args.reps)
    # Repetitions alternate over the whole grid, so a burst of outside load hits one
    # repetition of many points rather than every repetition of one point.
    points = median_points(
        [
            run_study(
                sizes,
                counts,
                duration_s=duration,
                bound_ms=args.bound_ms,
                backend=args.backend,
                pin=not args.no_pin,
                say=lambda line: print(line, file=sys.stderr, flush=True),
            )
            for _ in range(reps)
        ]
    )
    wall = time.perf_counter() - t0
    load_after = os.getloadavg()
    machine = (
        f"{platform.machine()}, {cores} usable core(s), {args.backend} backend, one thread per "
        f"instance, {'pinned' if points and points[0].pinned else 'not pinned'}; load average "
        f"before {load_before[0]:.2f}, after {load_after[0]:.2f}; {duration:g} s per point, "
        f"medians of {reps} repetition(s), {wall:.0f} s in all"
    )
    table = format_table(points)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / "dlrm_colocation"
    doc = {"machine": machine, "points": [p.to_dict() for p in points]}
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    md = (
        "Latency-bounded throughput, samples/s (p99 request latency <= "
        f"{args.bound_ms:g} ms)\n\n{table}\n\n{machine}\n"
    )
    stem.with_suffix(".md").write_text(md, encoding="utf-8")
    stem.with_suffix(".svg").write_text(
        plot(points, f"DLRM latency-bounded throughput ({cores} cores)"), encoding="utf-8"
    )
    print(md)
    print(f"wrote {stem}.json, .md, .svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
