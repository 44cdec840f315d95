"""Where a SingleStream query's time goes with worker-thread completion: mlpace vs official.

Each run is a fresh subprocess (the official binding keeps global state) running SingleStream
(0.5 s, null SUT) through ``issue_queries -> SimpleQueue -> worker thread ->
QuerySamplesComplete``; the SUT stamps ``perf_counter_ns`` at four points of every query:

* issue -> woke: the issue callback put the query in the queue .. the worker's ``get`` returned;
* woke -> done: the worker's ``QuerySamplesComplete`` call returned;
* done -> next issue: the worker's call returned .. the next issue callback began (negative when
  the LoadGen issued the next query while the worker was still inside its completion call);
* "overlap": share of queries whose next issue began before the completion call returned.

The tools alternate; medians over ``--reps`` runs of each per-run median / p90.

    python benchmarks/ss_worker_handoff.py --reps 3
"""

from __future__ import annotations

import argparse
import array
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

TAG = "HANDOFF "


def _child(impl: str, outdir: str) -> dict[str, float]:
    if impl == "official":
        import mlperf_loadgen as lg
    else:
        import mlpace.compat.loadgen as lg
    buf = array.array("B", b"\x01\x02\x03\x04")
    addr, size = buf.buffer_info()
    work: queue.SimpleQueue[Any] = queue.SimpleQueue()
    pc = time.perf_counter_ns
    put_at: list[int] = []
    woke_at: list[int] = []
    done_at: list[int] = []

    def worker() -> None:
        while True:
            item = work.get()
            woke_at.append(pc())
            if item is None:
                return
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, addr, size) for s in item])
            done_at.append(pc())

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()

    def issue(samples: list[Any]) -> None:
        put_at.append(pc())
        work.put(samples)

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(1024, 1024, lambda s: None, lambda s: None)
    s = lg.TestSettings()
    s.scenario = lg.TestScenario.SingleStream
    s.mode = lg.TestMode.PerformanceOnly
    s.min_query_count = 100
    s.min_duration_ms = 500
    s.single_stream_expected_latency_ns = 4000
    os.chdir(outdir)
    lg.StartTest(sut, qsl, s)
    work.put(None)
    thread.join(10)
    n = min(len(put_at), len(done_at)) - 1
    woke = [woke_at[i] - put_at[i] for i in range(n)]
    busy = [done_at[i] - woke_at[i] for i in range(n)]
    gap = [put_at[i + 1] - done_at[i] for i in range(n)]

    def p90(xs: list[int]) -> float:
        return float(sorted(xs)[int(len(xs) * 0.9)])

    return {
        "qps": n / ((done_at[n - 1] - put_at[0]) / 1e9),
        "woke_p50": statistics.median(woke),
        "woke_p90": p90(woke),
        "done_p50": statistics.median(busy),
        "gap_p50": statistics.median(gap),
        "overlap": sum(1 for g in gap if g < 0) / max(len(gap), 1),
    }


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(TAG + json.dumps(_child(*args.child)), flush=True)
        return 0
    try:
        import mlperf_loadgen  # noqa: F401
    except ImportError:
        print("The official LoadGen (module mlperf_loadgen) is not installed: skipping.")
        return 0
    load_before = _loadavg()
    results: dict[str, list[dict[str, float]]] = {"mlpace": [], "official": []}
    with tempfile.TemporaryDirectory(prefix="ss_handoff_") as tmp:
        for rep in range(args.reps):
            for impl in ("mlpace", "official") if rep % 2 == 0 else ("official", "mlpace"):
                outdir = os.path.join(tmp, f"{rep}_{impl}")
                os.makedirs(outdir)
                cmd = [sys.executable, __file__, "--child", impl, outdir]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
                line = next(x for x in proc.stdout.splitlines() if x.startswith(TAG))
                results[impl].append(json.loads(line[len(TAG) :]))
    print(f"load average before / after: {load_before} / {_loadavg()}")
    print("| tool | queries/s | issue->woke p50 / p90 | woke->done p50 | done->next p50 |", end="")
    print(" overlap |")
    print("|---|---:|---:|---:|---:|---:|")
    for impl, runs in results.items():

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        print(
            f"| {impl} | {med('qps') / 1e3:.1f}k | {med('woke_p50') / 1e3:.1f} / "
            f"{med('woke_p90') / 1e3:.1f} µs | {med('done_p50') / 1e3:.1f} µs | "
            f"{med('gap_p50') / 1e3:.1f} µs | {med('overlap') * 100:.0f}% |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
