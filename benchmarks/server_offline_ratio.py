"""Server-to-Offline throughput ratio (the dissertation's Fig 4.13 idea) for the default model.

Offline: samples/s of an Offline run. Server: the highest target QPS whose Server run is VALID
under the task's latency bound (doubling from a low rate until the first INVALID run, then
bisecting to within 10 %). Ratio = Server / Offline: 1.0 means the latency bound costs nothing;
real systems lose 3-55 % (Fig 4.13). Also run for the sentence-encoder task when its module
(``mlpace/workloads/tasks/encoder.py``) exists. Medians of ``--reps`` (>= 3) repetitions.

    python benchmarks/server_offline_ratio.py [--quick] [--reps N] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

# H(0) + margin for p99 early stopping (459 queries with no over-latency query).
SERVER_MIN_QUERIES = 500


def _setup(task_name: str, backend_name: str | None) -> tuple[Any, Any, Any, Any, Any]:
    from mlpace.workloads.backends import make_backend
    from mlpace.workloads.models.resnet50 import default_cache_dir
    from mlpace.workloads.registry import get_task
    from mlpace.workloads.runner import calibrate

    task = get_task(task_name)
    runnable = task.runnable
    assert runnable is not None
    model = runnable.make_model(default_cache_dir(), None)
    dataset = runnable.make_dataset(None, model.metadata)
    backend = make_backend(
        backend_name or runnable.default_backend, threads=runnable.default_threads
    )
    backend.load(model)
    cal = calibrate(
        backend,
        dataset,
        batch_size=runnable.default_batch_size,
        samples_per_query=8,
        workers=1,
        multistream=False,
    )
    return task, runnable, dataset, backend, cal


def _run(
    task: Any,
    runnable: Any,
    dataset: Any,
    backend: Any,
    scenario: str,
    seconds: float,
    qps: float,
    workers: int,
) -> Any:
    from mlpace.loadgen.config import load_settings
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.enums import TestMode
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
    from mlpace.workloads.datasets.base import DatasetQSL
    from mlpace.workloads.sut import BackendSUT, BatchingPolicy

    base, _ = load_settings(task.loadgen_model, scenario)
    settings = dataclasses.replace(
        base,
        mode=TestMode.PerformanceOnly,
        min_duration_ms=int(seconds * 1000),
        # Duration decides for fast tasks; a slow one (the encoder at ~100 QPS) still needs the
        # 459 queries below which p99 early stopping cannot pass even with no late query.
        min_query_count=1 if scenario == "Offline" else SERVER_MIN_QUERIES,
        performance_sample_count_override=dataset.size,
        server_target_qps=qps,
        offline_expected_qps=qps,
    )
    wait_ns = int(settings.server_target_latency_ns) // 20 if scenario == "Server" else 0
    qsl = DatasetQSL(dataset)
    with tempfile.TemporaryDirectory() as tmp:
        sut = BackendSUT(
            backend,
            qsl.get_samples,
            runnable.encode,
            workers=workers,
            policy=BatchingPolicy(runnable.default_batch_size, wait_ns),
        )
        try:
            out = run_test(
                sut, qsl, settings, LogSettings(LogOutputSettings(outdir=tmp), enable_trace=False)
            )
        finally:
            sut.close()
    return out.performance.result


def peak_server_qps(
    setup: tuple[Any, ...], start_qps: float, seconds: float, workers: int
) -> float:
    task, runnable, dataset, backend, _ = setup
    lower, upper = 0.0, start_qps
    while True:  # double until INVALID
        r = _run(task, runnable, dataset, backend, "Server", seconds, upper, workers)
        if not r.valid:
            break
        lower, upper = upper, upper * 2
    while lower == 0.0 or upper / lower > 1.1:  # bisect to 10 %
        mid = upper / 2 if lower == 0.0 else (lower + upper) / 2
        if mid < max(1.0, start_qps / 16):  # not VALID even at 1/16 of the start: report 0
            return lower
        r = _run(task, runnable, dataset, backend, "Server", seconds, mid, workers)
        if r.valid:
            lower = mid
        else:
            upper = mid
    return lower


def measure(task_name: str, reps: int, seconds: float, workers: int) -> dict[str, float]:
    setup = _setup(task_name, None)
    task, runnable, dataset, backend, cal = setup
    offline, server = [], []
    expected = 1.3 * cal.batch_size / cal.batch_s * (1 + 0.25 * (workers - 1))
    for _ in range(reps):
        r = _run(task, runnable, dataset, backend, "Offline", seconds, expected, workers)
        offline.append(float(r.primary_metric_value))
        start = max(1.0, 0.05 * offline[-1])
        server.append(peak_server_qps(setup, start, seconds, workers))
        print(
            f"{task_name}: offline {offline[-1]:,.0f}/s server {server[-1]:,.0f} QPS",
            file=sys.stderr,
            flush=True,
        )
    o, s = statistics.median(offline), statistics.median(server)
    bound_ms = task.bounds.server_target_latency_ms or 10.0
    return {"offline": o, "server": s, "ratio": s / o, "bound_ms": bound_ms}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 s runs, 3 reps")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    reps = max(3, args.reps)
    seconds = 1.0 if args.quick else 3.0
    tasks = ["digits"]
    if importlib.util.find_spec("mlpace.workloads.tasks.encoder") is not None:
        from mlpace.workloads.registry import all_tasks

        tasks += [t.name for t in all_tasks() if "encoder" in t.name and t.runnable]
    rows = [(name, measure(name, reps, seconds, args.workers)) for name in tasks]
    lines = [
        f"Server/Offline throughput ratio (Fig 4.13 idea), {args.workers} workers, "
        f"median of {reps} x {seconds:g} s runs",
        "",
        "| task | Offline (samples/s) | Server peak VALID (QPS) | latency bound | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['offline']:,.0f} | {r['server']:,.0f} | "
            f"{r['bound_ms']:g} ms | {r['ratio']:.2f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
