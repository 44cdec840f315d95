#!/usr/bin/env python
"""LoadGen speed, mlpace against the official LoadGen, side by side.

The SAME null Python SUT (written against the ``mlperf_loadgen`` API) is driven through mlpace's
drop-in facade (``mlpace.compat.loadgen``) and through the official binding. Every measurement
runs in a fresh subprocess (the official binding keeps global state), the two implementations
alternate, and each row is the median of ``--reps`` repetitions. Results are read from each
run's ``mlperf_log_summary.txt`` / ``mlperf_log_detail.txt``, the way a user reads them.

    python benchmarks/loadgen_vs_official.py --quick --markdown results.md
    python benchmarks/loadgen_vs_official.py --reps 3 --markdown results.md      # full

Exits 0 with a message if ``mlperf_loadgen`` is not installed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lg_bench_worker import CHUNK, RESULT_TAG, run_one  # noqa: E402

IMPLS = ("official", "mlpace")
# The M/D/1 case: one Python worker thread spinning SERVICE_US per sample (GIL held), Poisson
# arrivals at MD1_QPS: utilisation rho = 0.4, and queueing theory's mean latency is
# service + rho / (2 mu (1 - rho)) = 133 us.
SERVICE_US = 100
MD1_QPS = 4_000
BUSY_CODE = "while True: pass"


# ==============================================================================================
# Driver side
# ==============================================================================================


@dataclass
class Profile:
    reps: int
    offline_ms: int
    offline_qps: float
    server_ms: int
    ladder_start: float
    fine_factor: float
    ss_ms: int
    lag_ms: int
    memory_queries: int
    memory_qps: float
    timeout_s: int = 600


QUICK = Profile(
    reps=1,
    offline_ms=400,
    offline_qps=4_000_000,
    server_ms=500,
    ladder_start=5_000,
    fine_factor=1.25,
    ss_ms=500,
    lag_ms=1_000,
    memory_queries=1_000_000,
    memory_qps=250_000,
)
FULL = Profile(
    reps=3,
    offline_ms=1_000,
    offline_qps=4_000_000,
    server_ms=3_000,
    ladder_start=5_000,
    fine_factor=1.25,
    ss_ms=2_000,
    lag_ms=5_000,
    memory_queries=1_000_000,
    memory_qps=200_000,
)


@dataclass
class Row:
    name: str
    unit: str
    higher_is_better: bool
    target: str = ""
    values: dict[str, list[float]] = field(default_factory=lambda: {i: [] for i in IMPLS})
    note: str = ""

    def median(self, impl: str) -> float | None:
        vals = [v for v in self.values[impl] if v is not None]
        return statistics.median(vals) if vals else None


class Runner:
    def __init__(self, profile: Profile, workdir: Path, verbose: bool) -> None:
        self.profile = profile
        self.workdir = workdir
        self.verbose = verbose
        self.count = 0

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.count += 1
        spec = dict(spec)
        spec["outdir"] = str(self.workdir / f"run{self.count:04d}_{spec['impl']}_{spec['kind']}")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
        t0 = time.perf_counter()
        with busy_processes(int(spec.get("busy", 0))):
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=self.profile.timeout_s, check=False
            )
        out = None
        for line in proc.stdout.splitlines():
            if line.startswith(RESULT_TAG):
                out = json.loads(line[len(RESULT_TAG) :])
        if out is None:
            tail = (proc.stdout + proc.stderr)[-2000:]
            raise RuntimeError(f"worker failed (rc {proc.returncode}) for {spec}:\n{tail}")
        if self.verbose:
            shown = {k: v for k, v in out.items() if k not in ("impl", "kind")}
            took = time.perf_counter() - t0
            print(f"  [{took:5.1f}s] {spec['impl']:8s} {spec['kind']:7s} {_brief(spec)} -> {shown}")
        return out


@contextmanager
def busy_processes(n: int) -> Iterator[None]:
    """``n`` competing processes, each spinning a core, for as long as the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_CODE]) for _ in range(n)]
    try:
        if procs:
            time.sleep(0.2)  # let them start spinning
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def _brief(spec: dict[str, Any]) -> str:
    keys = ("api", "completion", "qps", "latency_ns", "queries", "busy", "spin_ns", "switch_us")
    return " ".join(f"{k}={spec[k]}" for k in keys if k in spec)


def _order(rep: int) -> tuple[str, ...]:
    return IMPLS if rep % 2 == 0 else tuple(reversed(IMPLS))


def measure_simple(runner: Runner, row: Row, spec: dict[str, Any], metric: str, reps: int) -> None:
    for rep in range(reps):
        for impl in _order(rep):
            out = runner.run({**spec, "impl": impl})
            row.values[impl].append(out.get(metric))


def server_ladder(
    runner: Runner, row: Row, latency_ns: int, completion: str, reps: int, busy: int = 0
) -> None:
    """Highest target QPS whose run is VALID: ×2 steps up to the first INVALID, then finer
    steps from the last VALID rate. Both implementations climb in alternation."""
    p = runner.profile
    for rep in range(reps):
        state = {impl: {"phase": "coarse", "rate": p.ladder_start, "best": 0.0} for impl in IMPLS}
        active = list(_order(rep))
        while active:
            for impl in list(active):
                st = state[impl]
                out = runner.run(
                    {
                        "impl": impl,
                        "kind": "server",
                        "qps": round(st["rate"]),
                        "latency_ns": latency_ns,
                        "completion": completion,
                        "duration_ms": p.server_ms,
                        "busy": busy,
                    }
                )
                done = False
                if out["valid"]:
                    st["best"] = st["rate"]
                    st["rate"] *= 2.0 if st["phase"] == "coarse" else p.fine_factor
                    done = st["rate"] >= st.get("ceiling", 5_000_000.0)
                elif st["phase"] == "coarse" and st["best"] > 0:
                    st["phase"] = "fine"
                    st["ceiling"] = st["rate"]
                    st["rate"] = st["best"] * p.fine_factor
                else:
                    done = True
                if done:
                    active.remove(impl)
        for impl in IMPLS:
            row.values[impl].append(state[impl]["best"])


def _busy_label(busy: int) -> str:
    return f", {busy} busy process{'es' if busy > 1 else ''}" if busy else ""


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def measure_queues(
    runner: Runner, profile: Profile, reps: int, busy_levels: tuple[int, ...]
) -> list[Row]:
    """Mean and p99 latency of a real queue (M/D/1) and of a null worker, under both tools."""
    rows: list[Row] = []
    cases = (
        (f"M/D/1 worker ({SERVICE_US} µs GIL-held service, {MD1_QPS:,} QPS)", MD1_QPS,
         f"md1:{SERVICE_US}", "theory mean 133 µs"),
        ("null worker, 20k QPS", 20_000, "worker", ""),
    )  # fmt: skip
    for busy in busy_levels:
        for label, qps, completion, note in cases:
            mean = Row(
                f"{label}, mean latency{_busy_label(busy)}", "ns", False, "≤ 1.05×", note=note
            )
            p99 = Row(f"{label}, p99 latency{_busy_label(busy)}", "ns", False, "≤ 1.05×")
            cpu = Row(
                f"{label}, process CPU per query{_busy_label(busy)}", "µs", False, "",
            )  # fmt: skip
            rows += [mean, p99, cpu]
            spec = {
                "kind": "md1",
                "qps": qps,
                "completion": completion,
                "duration_ms": profile.server_ms,
                "latency_ns": 100_000_000,
                "busy": busy,
            }
            for rep in range(reps):
                for impl in _order(rep):
                    out = runner.run({**spec, "impl": impl})
                    mean.values[impl].append(out.get("mean_ns"))
                    p99.values[impl].append(out.get("p99_ns"))
                    cpu.values[impl].append(out.get("process_cpu_us_per_query"))
    return rows


def measure_lag(runner: Runner, profile: Profile, reps: int, completion: str) -> list[Row]:
    p50 = Row(f"Issue lag p50, Server 50k QPS {completion}", "ns", False, "")
    p99 = Row(f"Issue lag p99, Server 50k QPS {completion}", "ns", False, "≤ 20 µs (mlpace)")
    sources: dict[str, str] = {}
    for rep in range(reps):
        for impl in _order(rep):
            spec = {
                "impl": impl,
                "kind": "lag",
                "qps": 50_000,
                "duration_ms": profile.lag_ms,
                "latency_ns": 10_000_000,
                "completion": completion,
                # The official tool records issue delays only in its trace.
                "trace": impl == "official",
            }
            out = runner.run(spec)
            p50.values[impl].append(out.get("lag_p50_ns"))
            p99.values[impl].append(out.get("lag_p99_ns"))
            sources[impl] = out.get("lag_source", "")
    p99.note = p50.note = f"official: {sources.get('official', 'n/a')}, trace on"
    return [p50, p99]


# The waiting levers measured on the M/D/1 case (mlpace only; the official row is the reference).
LEVERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("official LoadGen", {"impl": "official"}),
    ("mlpace default (adaptive spin 5-100 µs, switch interval 50 µs)", {}),
    ("mlpace adaptive spin 5-30 µs", {"spin_ns": [5_000, 30_000]}),
    ("mlpace never spin (sleep only, like the official)", {"spin_ns": [0, 0]}),
    ("mlpace fixed 100 µs spin (the old way)", {"spin_ns": [100_000, 100_000]}),
    ("mlpace adaptive spin, switch interval 5 µs", {"switch_us": 5}),
    ("mlpace adaptive spin, switch interval 5 ms (Python's default)", {"switch_us": 5000}),
)


def measure_levers(runner: Runner, profile: Profile, reps: int) -> str:
    lines = [
        "",
        f"### Waiting levers: M/D/1 worker ({SERVICE_US} µs service, {MD1_QPS:,} QPS), "
        f"median of {reps}",
        "",
        "| lever | busy procs | mean | p99 | issuing-thread CPU/query | process CPU/query |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for busy in (0, 1):
        for label, extra in LEVERS:
            outs = []
            for _ in range(reps):
                spec = {
                    "impl": "mlpace",
                    "kind": "md1",
                    "qps": MD1_QPS,
                    "completion": f"md1:{SERVICE_US}",
                    "duration_ms": profile.server_ms,
                    "latency_ns": 100_000_000,
                    "busy": busy,
                    **extra,
                }
                outs.append(runner.run(spec))

            def med(key: str, outs: list[dict[str, Any]] = outs) -> float | None:
                vals = [o[key] for o in outs if o.get(key) is not None]
                return statistics.median(vals) if vals else None

            lines.append(
                f"| {label} | {busy} | {fmt(med('mean_ns'), 'ns')} | {fmt(med('p99_ns'), 'ns')} "
                f"| {fmt(med('issuer_cpu_us_per_query'), 'µs')} "
                f"| {fmt(med('process_cpu_us_per_query'), 'µs')} |"
            )
    return "\n".join(lines) + "\n"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit in ("samples/s", "QPS", "queries/s"):
        return f"{value / 1000:,.1f}k"
    if unit == "ns":
        return f"{value / 1000:,.1f} µs"
    if unit == "bytes/query":
        return f"{value:,.0f} B"
    if unit == "µs":
        return f"{value:,.1f} µs"
    return f"{value:,.3g}"


def render(rows: list[Row], header: str) -> str:
    lines = [
        header,
        "",
        "| Measurement | mlpace | official | mlpace/official | better | target |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ours, theirs = row.median("mlpace"), row.median("official")
        ratio = f"{ours / theirs:.2f}×" if ours is not None and theirs else "n/a"
        better = "higher" if row.higher_is_better else "lower"
        name = row.name + (f" ({row.note})" if row.note else "")
        lines.append(
            f"| {name} | {fmt(ours, row.unit)} | {fmt(theirs, row.unit)} | {ratio} | "
            f"{better} is better | {row.target} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs, 1 repetition (~3 min)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per row (median)")
    ap.add_argument("--markdown", type=Path, default=None, help="write the table here")
    ap.add_argument(
        "--only", default="", help="comma list: offline,server,ss,ms,memory,lag,md1,levers"
    )
    ap.add_argument(
        "--no-busy", action="store_true", help="skip the rows with a competing busy process"
    )
    ap.add_argument("--keep", action="store_true", help="keep the run directories")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker is not None:
        out = run_one(json.loads(args.worker))
        print(RESULT_TAG + json.dumps(out), flush=True)
        return 0

    try:
        import mlperf_loadgen  # noqa: F401
    except ImportError:
        print(
            "The official LoadGen (pip install mlcommons-loadgen, module mlperf_loadgen) is not "
            "installed: nothing to compare against. Skipping."
        )
        return 0

    profile = QUICK if args.quick else FULL
    reps = args.reps if args.reps is not None else profile.reps
    only = {s.strip() for s in args.only.split(",") if s.strip()}

    def wanted(group: str) -> bool:
        return not only or group in only

    rows: list[Row] = []
    levers_table = ""
    busy_levels = (0,) if args.no_busy else (0, 1)
    load_before = _loadavg()
    tmp = tempfile.mkdtemp(prefix="lg_bench_")
    runner = Runner(profile, Path(tmp), args.verbose)
    started = time.perf_counter()
    try:
        if wanted("offline"):
            base = {"kind": "offline", "duration_ms": profile.offline_ms}
            base["expected_qps"] = profile.offline_qps
            for label, api, completion in (
                ("Offline samples/s, inline completion", "std", "inline"),
                ("Offline samples/s, worker-thread completion", "std", "worker"),
                ("Offline samples/s, fast API (ConstructFastSUT), inline", "fast", "inline"),
            ):
                row = Row(label, "samples/s", True, "≥ 1.0×")
                rows.append(row)
                spec = {**base, "api": api, "completion": completion}
                measure_simple(runner, row, spec, "samples_per_s", reps)
        if wanted("server"):
            for busy in busy_levels:
                for bound_ms in (1, 10):
                    for completion in ("inline", "worker"):
                        row = Row(
                            f"Server max VALID target QPS, p99 ≤ {bound_ms} ms, {completion}"
                            + _busy_label(busy),
                            "QPS",
                            True,
                            "≥ 1.0×",
                        )
                        rows.append(row)
                        server_ladder(runner, row, bound_ms * 1_000_000, completion, reps, busy)
        if wanted("ss"):
            for busy in busy_levels:
                for completion in ("inline", "worker"):
                    label = f"{completion}{_busy_label(busy)}"
                    p90 = Row(f"SingleStream p90 latency, {label}", "ns", False, "≤ 1.0×")
                    qps = Row(f"SingleStream queries/s, {label}", "queries/s", True, "≥ 1.0×")
                    rows += [p90, qps]
                    spec = {
                        "kind": "ss",
                        "completion": completion,
                        "duration_ms": profile.ss_ms,
                        "expected_ns": 4_000,
                        "busy": busy,
                    }
                    for rep in range(reps):
                        for impl in _order(rep):
                            out = runner.run({**spec, "impl": impl})
                            p90.values[impl].append(out.get("p90_ns"))
                            qps.values[impl].append(out.get("qps"))
        if wanted("md1"):
            rows += measure_queues(runner, profile, reps, busy_levels)
        if wanted("ms"):
            for completion in ("inline", "worker"):
                row = Row(
                    f"MultiStream p99 per-query latency (8 samples/query), {completion}",
                    "ns",
                    False,
                    "≤ 1.0×",
                )
                rows.append(row)
                spec = {
                    "kind": "ms",
                    "completion": completion,
                    "duration_ms": profile.ss_ms,
                    "expected_ns": 8_000,
                }
                measure_simple(runner, row, spec, "p99_ns", reps)
        if wanted("memory"):
            row = Row(
                f"Peak RSS above baseline, {profile.memory_queries:,}-query Server run",
                "bytes/query",
                False,
                "≤ 100 B/query",
                note="trace off",
            )
            rows.append(row)
            spec = {
                "kind": "memory",
                "qps": profile.memory_qps,
                "queries": profile.memory_queries,
                "duration_ms": 0,
                "latency_ns": 100_000_000,
            }
            measure_simple(runner, row, spec, "bytes_per_query", max(1, min(reps, 2)))
        if wanted("lag"):
            for completion in ("inline", "worker"):
                rows += measure_lag(runner, profile, reps, completion)
        if wanted("levers"):
            levers_table = measure_levers(runner, profile, reps)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"run directories kept in {tmp}")

    import mlpace

    try:
        from importlib.metadata import version

        official_version = version("mlcommons-loadgen")
    except Exception:  # pragma: no cover - metadata missing
        official_version = "?"
    header = (
        f"## LoadGen speed: mlpace vs official mlperf_loadgen {official_version}\n\n"
        f"{'quick' if args.quick else 'full'} mode, median of {reps} repetition(s), "
        f"{runner.count} runs in {time.perf_counter() - started:.0f} s; "
        f"{datetime.date.today().isoformat()}, Python {platform.python_version()}, "
        f"{platform.machine()} {os.cpu_count()} CPUs ({_cpu_name()}), "
        f"mlpace {getattr(mlpace, '__version__', '?')}. Null Python SUT, 4-byte responses, "
        f"{CHUNK} responses per QuerySamplesComplete call, trace off unless noted. "
        f'Load average before / after: {load_before} / {_loadavg()}; "busy" rows run one '
        f"competing process spinning a core (`python -c '{BUSY_CODE}'`)."
    )
    table = render(rows, header) + levers_table
    print(table)
    if args.markdown is not None:
        args.markdown.write_text(table)
        print(f"written to {args.markdown}")
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
