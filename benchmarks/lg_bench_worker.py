"""The worker side of ``loadgen_vs_official.py``: one measurement in this process.

``loadgen_vs_official.py --worker SPEC`` imports this module in a fresh subprocess (the official
binding keeps global state), runs one test as the JSON ``SPEC`` says and prints the numbers it
read from the run's own logs.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 1024
RESULT_TAG = "BENCH_RESULT "


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
    if completion.startswith("md1:"):
        return _md1_sut(lg, int(completion[4:]) * 1000, addr, size)

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
    elif kind in ("server", "memory", "lag", "md1"):
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
    if impl == "mlpace":
        _use_levers(lg, spec)
    t0 = time.perf_counter()
    cpu0, thread0 = time.process_time(), time.thread_time()
    lg.StartTestWithLogSettings(sut, qsl, s, ls)
    # mlpace issues from this thread, so its CPU time is the LoadGen's own (plus an inline SUT);
    # the official issues from a C++ thread and this one only waits.
    thread_cpu = time.thread_time() - thread0
    process_cpu = time.process_time() - cpu0
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
    elif kind in ("server", "md1"):
        result["completed_per_s"] = _num(summary.get("Completed samples per second"))
        result["p99_ns"] = _num(summary.get("99.00 percentile latency (ns)"))
        result["mean_ns"] = _num(summary.get("Mean latency (ns)"))
        queries = result["queries"] or 1
        result["process_cpu_us_per_query"] = process_cpu / queries * 1e6
        if impl == "mlpace":
            result["issuer_cpu_us_per_query"] = thread_cpu / queries * 1e6
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


def _md1_sut(lg: Any, service_ns: int, addr: int, size: int) -> tuple[int, Callable[[], None], str]:
    """A real queue: one Python worker thread serves samples FIFO, spinning ``service_ns`` on
    each while holding the GIL (a CPU-bound Python model step), and completes each at once."""
    work: queue.SimpleQueue[list[Any] | None] = queue.SimpleQueue()
    Response = lg.QuerySampleResponse
    complete = lg.QuerySamplesComplete
    clock = time.perf_counter_ns

    def worker() -> None:
        while True:
            item = work.get()
            if item is None:
                return
            for s in item:
                end = clock() + service_ns
                while clock() < end:
                    pass
                complete([Response(s.id, addr, size)])

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()

    def stop() -> None:
        work.put(None)
        thread.join(10)
        lg.DestroySUT(handle)

    handle = lg.ConstructSUT(work.put, lambda: None)
    return handle, stop, "std"


def _use_levers(lg: Any, spec: dict[str, Any]) -> None:
    """mlpace only: the waiting levers under measurement (spin margin, switch interval)."""
    if "spin_ns" in spec:
        from mlpace.clock import MonotonicClock

        low, high = spec["spin_ns"]
        lg.use_clock(MonotonicClock(min_spin_ns=int(low), max_spin_ns=int(high)))
    if "switch_us" in spec:
        from mlpace.loadgen import engine

        engine.HOT_SWITCH_INTERVAL_S = float(spec["switch_us"]) * 1e-6
