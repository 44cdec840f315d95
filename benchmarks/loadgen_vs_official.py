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
import array
import contextlib
import datetime
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMPLS = ("official", "mlpace")
CHUNK = 1024
RESULT_TAG = "BENCH_RESULT "


# ==============================================================================================
# Worker side: one measurement in this process
# ==============================================================================================


def _import_lg(impl: str) -> Any:
    if impl == "official":
        import mlperf_loadgen as lg
    else:
        import mlpace.compat.loadgen as lg
    return lg


def _read_summary(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if ":" in line and not line.startswith("="):
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    return fields


def _read_detail(path: Path) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        if not line.startswith(":::MLLOG "):
            continue
        try:
            obj = json.loads(line[len(":::MLLOG ") :])
        except json.JSONDecodeError:
            continue
        items.setdefault(obj["key"], obj["value"])
    return items


def _proc_status(key: str) -> int:
    """A ``VmRSS``/``VmHWM`` value from /proc/self/status, in bytes (0 if unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _make_sut(lg: Any, api: str, completion: str) -> tuple[int, Callable[[], None], str]:
    """The null SUT: answers every sample with a 4-byte payload, inline or from a worker."""
    buf = array.array("B", b"\x01\x02\x03\x04")
    addr, size = buf.buffer_info()
    Response = lg.QuerySampleResponse
    complete = lg.QuerySamplesComplete

    def answer_samples(samples: list[Any]) -> None:
        for i in range(0, len(samples), CHUNK):
            complete([Response(s.id, addr, size) for s in samples[i : i + CHUNK]])

    def answer_ids(ids: list[int]) -> None:
        for i in range(0, len(ids), CHUNK):
            complete([Response(q, addr, size) for q in ids[i : i + CHUNK]])

    if api == "fast":
        if completion != "inline":
            raise SystemExit("the fast API row completes inline only")

        def fast_issue(ids: list[int], indices: list[int]) -> None:
            answer_ids(ids)

        handle = lg.ConstructFastSUT(fast_issue, lambda: None)
        return handle, lambda: lg.DestroyFastSUT(handle), "fast"

    if completion == "inline":
        handle = lg.ConstructSUT(answer_samples, lambda: None)
        return handle, lambda: lg.DestroySUT(handle), "std"

    work: queue.SimpleQueue[list[Any] | None] = queue.SimpleQueue()

    def worker() -> None:
        while True:
            item = work.get()
            if item is None:
                return
            batch = list(item)
            while len(batch) < CHUNK:
                try:
                    more = work.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    answer_samples(batch)
                    return
                batch.extend(more)
            answer_samples(batch)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()

    def stop() -> None:
        work.put(None)
        thread.join(10)
        lg.DestroySUT(handle)

    handle = lg.ConstructSUT(work.put, lambda: None)
    return handle, stop, "std"


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one test as described by ``spec``; return the numbers read from its logs."""
    impl = spec["impl"]
    lg = _import_lg(impl)
    kind = spec["kind"]
    outdir = Path(spec["outdir"])
    outdir.mkdir(parents=True, exist_ok=True)
    os.chdir(outdir)  # no stray audit.config, and logs stay here

    s = lg.TestSettings()
    s.mode = lg.TestMode.PerformanceOnly
    s.min_query_count = 100
    s.min_duration_ms = int(spec["duration_ms"])
    if kind == "offline":
        s.scenario = lg.TestScenario.Offline
        s.offline_expected_qps = float(spec["expected_qps"])
    elif kind in ("server", "memory", "lag"):
        s.scenario = lg.TestScenario.Server
        s.server_target_qps = float(spec["qps"])
        s.server_target_latency_ns = int(spec.get("latency_ns", 10_000_000))
        if kind == "memory":
            s.min_query_count = int(spec["queries"])
            s.min_duration_ms = 0
    elif kind == "ss":
        s.scenario = lg.TestScenario.SingleStream
        s.single_stream_expected_latency_ns = int(spec["expected_ns"])
    elif kind == "ms":
        s.scenario = lg.TestScenario.MultiStream
        s.multi_stream_expected_latency_ns = int(spec["expected_ns"])
        s.multi_stream_samples_per_query = 8
    else:
        raise SystemExit(f"unknown kind {kind}")

    ls = lg.LogSettings()
    ls.log_output.outdir = str(outdir)
    ls.enable_trace = bool(spec.get("trace", False))

    sut, destroy, _ = _make_sut(lg, spec.get("api", "std"), spec.get("completion", "inline"))
    qsl = lg.ConstructQSL(1024, 1024, lambda idx: None, lambda idx: None)

    rss_before = _proc_status("VmRSS")
    # Reset the RSS high-water mark so it measures this run only (Linux >= 4.0).
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    t0 = time.perf_counter()
    lg.StartTestWithLogSettings(sut, qsl, s, ls)
    wall = time.perf_counter() - t0
    hwm = _proc_status("VmHWM")
    destroy()
    lg.DestroyQSL(qsl)

    summary = _read_summary(outdir / "mlperf_log_summary.txt")
    detail = _read_detail(outdir / "mlperf_log_detail.txt")
    result: dict[str, Any] = {
        "impl": impl,
        "kind": kind,
        "wall_s": wall,
        "valid": summary.get("Result is") == "VALID",
        "queries": _num(detail.get("result_query_count")),
        "summary": summary,
    }
    if kind == "offline":
        result["samples_per_s"] = _num(summary.get("Samples per second"))
    elif kind == "server":
        result["completed_per_s"] = _num(summary.get("Completed samples per second"))
        result["p99_ns"] = _num(summary.get("99.00 percentile latency (ns)"))
    elif kind == "ss":
        result["p90_ns"] = _num(summary.get("90.00 percentile latency (ns)"))
        result["qps"] = _num(summary.get("QPS w/ loadgen overhead"))
    elif kind == "ms":
        result["p99_ns"] = _num(summary.get("99.00 percentile latency (ns)"))
    elif kind == "memory":
        queries = result["queries"] or int(spec["queries"])
        result["rss_before"] = rss_before
        result["hwm"] = hwm
        result["bytes_per_query"] = max(0, hwm - rss_before) / max(1, queries)
    elif kind == "lag":
        result.update(_issue_lag(impl, outdir, summary, detail))
    return {k: v for k, v in result.items() if k != "summary" or spec.get("keep_summary")}


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value).split()[0])
    except (ValueError, IndexError):
        return None


def _issue_lag(
    impl: str, outdir: Path, summary: dict[str, str], detail: dict[str, Any]
) -> dict[str, Any]:
    """Issue lag (actual issue - scheduled time) p50/p99 in ns, from the run's own logs."""
    if impl == "mlpace":
        found: dict[str, Any] = {"lag_source": "mlpace detail log"}
        for key, value in detail.items():
            k = key.lower()
            if "issue_lag" in k or "issue_delay" in k:
                if "50" in k and "p50" not in found:
                    found["lag_p50_ns"] = _num(value)
                elif "99.00" in k or k.endswith("p99") or "99_" in k or "_99" in k:
                    found.setdefault("lag_p99_ns", _num(value))
        for key, value in summary.items():
            k = key.lower()
            if "issue" in k and ("lag" in k or "delay" in k):
                if "50" in k:
                    found.setdefault("lag_p50_ns", _num(value))
                elif "99" in k:
                    found.setdefault("lag_p99_ns", _num(value))
        return found
    trace = outdir / "mlperf_log_trace.json"
    if not trace.exists() or trace.stat().st_size == 0:
        return {"lag_source": "n/a (no trace)"}
    import re

    import numpy as np

    delays = np.array(
        [int(m) for m in re.findall(r'"issue_delay":(\d+)', trace.read_text())], dtype=np.int64
    )
    if delays.size == 0:
        return {"lag_source": "n/a (no issue_delay in trace)"}
    delays.sort()
    n = delays.size
    return {
        "lag_source": "official trace (issue_delay)",
        "lag_p50_ns": float(delays[int(n * 0.50)]),
        "lag_p99_ns": float(delays[int(n * 0.99)]),
    }


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


def _brief(spec: dict[str, Any]) -> str:
    keys = ("api", "completion", "qps", "latency_ns", "queries")
    return " ".join(f"{k}={spec[k]}" for k in keys if k in spec)


def _order(rep: int) -> tuple[str, ...]:
    return IMPLS if rep % 2 == 0 else tuple(reversed(IMPLS))


def measure_simple(runner: Runner, row: Row, spec: dict[str, Any], metric: str, reps: int) -> None:
    for rep in range(reps):
        for impl in _order(rep):
            out = runner.run({**spec, "impl": impl})
            row.values[impl].append(out.get(metric))


def server_ladder(runner: Runner, row: Row, latency_ns: int, completion: str, reps: int) -> None:
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


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit in ("samples/s", "QPS", "queries/s"):
        return f"{value / 1000:,.1f}k"
    if unit == "ns":
        return f"{value / 1000:,.1f} µs"
    if unit == "bytes/query":
        return f"{value:,.0f} B"
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
    ap.add_argument("--only", default="", help="comma list: offline,server,ss,ms,memory,lag")
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
            for bound_ms in (1, 10):
                for completion in ("inline", "worker"):
                    row = Row(
                        f"Server max VALID target QPS, p99 ≤ {bound_ms} ms, {completion}",
                        "QPS",
                        True,
                        "≥ 1.0×",
                    )
                    rows.append(row)
                    server_ladder(runner, row, bound_ms * 1_000_000, completion, reps)
        if wanted("ss"):
            for completion in ("inline", "worker"):
                p90 = Row(f"SingleStream p90 latency, {completion}", "ns", False, "≤ 1.0×")
                qps = Row(f"SingleStream queries/s, {completion}", "queries/s", True, "≥ 1.0×")
                rows += [p90, qps]
                spec = {
                    "kind": "ss",
                    "completion": completion,
                    "duration_ms": profile.ss_ms,
                    "expected_ns": 4_000,
                }
                for rep in range(reps):
                    for impl in _order(rep):
                        out = runner.run({**spec, "impl": impl})
                        p90.values[impl].append(out.get("p90_ns"))
                        qps.values[impl].append(out.get("qps"))
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
            p50 = Row("Issue lag p50, Server 50k QPS inline", "ns", False, "")
            p99 = Row("Issue lag p99, Server 50k QPS inline", "ns", False, "≤ 20 µs (mlpace)")
            rows += [p50, p99]
            sources: dict[str, str] = {}
            for rep in range(reps):
                for impl in _order(rep):
                    spec = {
                        "impl": impl,
                        "kind": "lag",
                        "qps": 50_000,
                        "duration_ms": profile.lag_ms,
                        "latency_ns": 10_000_000,
                        "completion": "inline",
                        # The official tool records issue delays only in its trace.
                        "trace": impl == "official",
                    }
                    out = runner.run(spec)
                    p50.values[impl].append(out.get("lag_p50_ns"))
                    p99.values[impl].append(out.get("lag_p99_ns"))
                    sources[impl] = out.get("lag_source", "")
            p99.note = p50.note = f"official: {sources.get('official', 'n/a')}, trace on"
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
        f"{CHUNK} responses per QuerySamplesComplete call, trace off unless noted."
    )
    table = render(rows, header)
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
