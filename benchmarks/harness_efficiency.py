"""Harness efficiency: Offline throughput through BackendSUT + LoadGen vs the bare backend.

For the digits model on each backend (numpy, onnxruntime when installed), with the same batch
size and one worker thread on both sides:

* direct: ``backend.predict`` on consecutive batches of the validation data in a plain loop;
* harness: an Offline PerformanceOnly run (LoadGen issues one query, BackendSUT batches it,
  completes through the sink, the logs are written), samples/s from the run's result.

Efficiency = harness / direct (target >= 90 %). Every number is the median of ``--reps``
repetitions (>= 3).

    python benchmarks/harness_efficiency.py [--quick] [--reps N] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _direct_rate(backend: object, dataset: object, batch_size: int, seconds: float) -> float:
    n = dataset.size  # type: ignore[attr-defined]
    batches = [
        dataset.get_samples([(i + k) % n for k in range(batch_size)])  # type: ignore[attr-defined]
        for i in range(0, n, batch_size)
    ]
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for b in batches:
            backend.predict(b)  # type: ignore[attr-defined]
            done += len(b)
    return done / (time.perf_counter() - start)


def _harness_rate(
    backend: object,
    dataset: object,
    encode: object,
    batch_size: int,
    expected_qps: float,
    seconds: float,
) -> float:
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.enums import TestMode, TestScenario
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
    from mlpace.loadgen.settings import TestSettings
    from mlpace.workloads.datasets.base import DatasetQSL
    from mlpace.workloads.sut import BackendSUT, BatchingPolicy

    qsl = DatasetQSL(dataset)  # type: ignore[arg-type]
    settings = TestSettings(
        scenario=TestScenario.Offline,
        mode=TestMode.PerformanceOnly,
        offline_expected_qps=expected_qps,
        min_duration_ms=int(seconds * 1000),
        min_query_count=1,
    )
    with tempfile.TemporaryDirectory() as tmp:
        sut = BackendSUT(
            backend,
            qsl.get_samples,
            encode,
            workers=1,  # type: ignore[arg-type]
            policy=BatchingPolicy(batch_size, 0),
        )
        try:
            out = run_test(
                sut, qsl, settings, LogSettings(LogOutputSettings(outdir=tmp), enable_trace=False)
            )
        finally:
            sut.close()
    assert out.performance is not None
    return float(out.performance.result.primary_metric_value)


def measure(backend_name: str, reps: int, seconds: float, batch_size: int) -> dict[str, float]:
    from mlpace.workloads.backends import make_backend
    from mlpace.workloads.models.resnet50 import default_cache_dir
    from mlpace.workloads.registry import get_task

    runnable = get_task("digits").runnable
    assert runnable is not None
    model = runnable.make_model(default_cache_dir(), None)
    dataset = runnable.make_dataset(None, model.metadata)
    backend = make_backend(backend_name, threads=1)
    backend.load(model)
    direct, harness = [], []
    for _ in range(reps):
        d = _direct_rate(backend, dataset, batch_size, seconds)
        direct.append(d)
        # Expect 10 % more than direct so the query lasts the minimum duration.
        harness.append(
            _harness_rate(backend, dataset, runnable.encode, batch_size, 1.1 * d, seconds)
        )
    d_med, h_med = statistics.median(direct), statistics.median(harness)
    return {"direct": d_med, "harness": h_med, "efficiency": h_med / d_med}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 s per measurement, 3 reps")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    reps = max(3, args.reps)
    seconds = 1.0 if args.quick else 3.0
    backends = ["numpy"]
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        backends.append("onnxruntime")
    rows = []
    for name in backends:
        r = measure(name, reps, seconds, args.batch_size)
        rows.append((name, r))
        print(
            f"{name}: direct {r['direct']:,.0f}/s harness {r['harness']:,.0f}/s "
            f"-> {r['efficiency']:.1%}",
            file=sys.stderr,
            flush=True,
        )
    lines = [
        f"Harness efficiency, digits CNN, Offline, batch {args.batch_size}, 1 worker, "
        f"median of {reps} x {seconds:g} s",
        "",
        "| backend | direct loop (samples/s) | BackendSUT + LoadGen (samples/s) | efficiency |",
        "|---|---:|---:|---:|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['direct']:,.0f} | {r['harness']:,.0f} | {r['efficiency']:.1%} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
