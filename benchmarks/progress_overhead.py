#!/usr/bin/env python
"""Does the live progress display move the benchmark figures? Null-SUT Server runs with and
without it, alternating, each in a fresh subprocess, medians of ``--reps`` repetitions.

The display runs exactly as during ``mlpace run``: passed as ``run_test(..., observer=...)``,
its own thread polls the engine's pass view (rich rendering into a terminal stream, here
``/dev/null`` with a forced terminal, or plain lines). On an engine without the observer hook,
the view is an adapter over the engine's response sink that reads the same counters and copies
the same bounded windows.

    python benchmarks/progress_overhead.py --reps 5 --qps 20000 --seconds 3
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RESULT_TAG = "PROGRESS_RESULT "


def _child(mode: str, qps: float, seconds: float, scenario_name: str) -> None:
    import numpy as np

    from mlpace.clock import MonotonicClock
    from mlpace.loadgen import LogOutputSettings, LogSettings, NullQSL, NullSUT, run_test
    from mlpace.loadgen.enums import TestMode, TestScenario
    from mlpace.loadgen.settings import TestSettings
    from mlpace.report.progress import LiveProgress

    clock = MonotonicClock()

    class SinkView:
        """A pass view over the response sink (the same counters the engine's view reads)."""

        scenario = TestScenario.Server
        mode = TestMode.PerformanceOnly
        target_qps = qps
        min_duration_ns = int(seconds * 1e9)
        min_query_count = 100
        target_latency_ns = 100_000_000
        target_latency_percentile = 0.99

        def __init__(self, sink: Any) -> None:
            self.sink = sink
            self.start = clock.now_ns()

        def elapsed_ns(self) -> int:
            return clock.now_ns() - self.start

        def issued_queries(self) -> int:
            return int(self.sink.issued)

        issued_samples = issued_queries

        def completed_samples(self) -> int:
            return int(self.sink.completed)

        def recent_latencies_ns(self, max_count: int) -> np.ndarray:
            k = int(self.sink.issued)
            done = np.frombuffer(self.sink.completed_ns, dtype=np.int64)[max(0, k - max_count) : k]
            return done[done >= 0] - self.start

        def recent_issue_lag_ns(self, max_count: int) -> np.ndarray:
            return np.zeros(min(max_count, int(self.sink.issued)), dtype=np.int64)

    class ObservedNullSUT(NullSUT):
        def bind(self, sink: Any) -> None:
            super().bind(sink)
            self.view = SinkView(sink)

    sut = ObservedNullSUT()
    display = None
    if mode != "off":
        stream = open("/dev/null", "w")  # noqa: SIM115 - lives as long as the child
        display = LiveProgress(stream, rich_display=(mode == "rich"))
    settings = TestSettings(
        scenario=TestScenario(scenario_name),
        mode=TestMode.PerformanceOnly,
        server_target_qps=qps,
        single_stream_expected_latency_ns=1_500,  # as mlpace run --sut null
        min_duration_ms=int(seconds * 1000),
        min_query_count=100,
    )
    hooked = "observer" in inspect.signature(run_test).parameters
    with tempfile.TemporaryDirectory() as out:
        log = LogSettings(LogOutputSettings(outdir=out), enable_trace=False)
        if hooked:
            outcome = run_test(sut, NullQSL(1024), settings, log, clock=clock, observer=display)
        else:
            original_bind = sut.bind

            def bind_and_show(sink: Any) -> None:
                original_bind(sink)
                if display is not None:
                    display.pass_started(sut.view)

            sut.bind = bind_and_show  # type: ignore[method-assign]
            outcome = run_test(sut, NullQSL(1024), settings, log, clock=clock)
            if display is not None:
                display.pass_ended(sut.view, None)
    r = outcome.performance.result
    print(
        RESULT_TAG
        + json.dumps(
            {
                "mode": mode,
                "completed_per_s": (
                    r.completed_samples_per_second
                    if r.completed_samples_per_second is not None
                    else r.qps_with_loadgen_overhead
                ),
                "p50_us": r.latency.at(0.5) / 1e3,
                "p99_us": r.latency.at(0.99) / 1e3,
                "lag_p99_us": r.issue_lag.p99_ns / 1e3,
                "valid": r.valid,
                "engine_hook": hooked,
                "display_cpu_ms_per_s": (
                    1000.0 * display.busy_s / (max(r.final_query_done_ns, 1) / 1e9)
                    if display
                    else 0.0
                ),
                "ticks": display.ticks if display else 0,
            }
        ),
        flush=True,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--qps", type=float, default=20_000)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--modes", default="off,rich,plain")
    p.add_argument("--scenario", choices=("Server", "SingleStream"), default="Server")
    p.add_argument("--raw", default=None, metavar="FILE", help="also write every run as JSON")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        _child(args.child, args.qps, args.seconds, args.scenario)
        return 0
    modes = args.modes.split(",")
    results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for rep in range(args.reps):
        order = modes if rep % 2 == 0 else modes[::-1]  # alternate
        for mode in order:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode,
                   "--qps", str(args.qps), "--seconds", str(args.seconds),
                   "--scenario", args.scenario]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            line = next(ln for ln in out.splitlines() if ln.startswith(RESULT_TAG))
            results[mode].append(json.loads(line[len(RESULT_TAG) :]))
    keys = ("completed_per_s", "p50_us", "p99_us", "lag_p99_us", "display_cpu_ms_per_s")
    hook = "engine observer hook" if results[modes[0]][0]["engine_hook"] else "sink adapter"
    print(
        f"{args.scenario} null SUT, {args.qps:g} QPS, {args.seconds:g} s, medians of {args.reps} "
        f"(alternating; view: {hook})"
    )
    print(
        "| display | samples/s (SS: QPS) | latency p50 (µs) | latency p99 (µs) "
        "| issue lag p99 (µs) | display CPU (ms/s) | VALID |"
    )
    print("|---|---|---|---|---|---|---|")
    for mode in modes:
        rows = results[mode]
        med = {k: statistics.median(r[k] for r in rows) for k in keys}
        valid = sum(bool(r["valid"]) for r in rows)
        print(f"| {mode} | {med['completed_per_s']:,.1f} | {med['p50_us']:.1f} | "
              f"{med['p99_us']:.1f} | {med['lag_p99_us']:.1f} | "
              f"{med['display_cpu_ms_per_s']:.2f} | {valid}/{len(rows)} |")  # fmt: skip
    # Paired by repetition (the modes of one repetition ran back to back): robust to the slow
    # drift of a shared machine's load, which the medians above are not.
    for mode in modes[1:]:
        ratios = {
            k: statistics.median(
                r[k] / o[k] for r, o in zip(results[mode], results[modes[0]]) if o[k]
            )
            for k in ("completed_per_s", "p50_us", "p99_us")
        }
        print(
            f"paired median ratio {mode}/{modes[0]}: samples/s {ratios['completed_per_s']:.3f}, "
            f"p50 {ratios['p50_us']:.3f}, p99 {ratios['p99_us']:.3f}"
        )
    if args.raw:
        Path(args.raw).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
