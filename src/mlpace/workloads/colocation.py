"""Latency-bounded throughput of DLRM inference against batch size and co-located instances.

The recommendation-inference study (Gupta et al., 2019) found that batching and co-locating
inferences change latency-bounded throughput drastically: a bigger batch amortizes the
per-call overhead, more instances on more cores add throughput, and both lengthen each
request's latency until the tail crosses the bound. This module measures the same grid here.

One *point* is ``(batch size B, instances N)``: N worker processes, each pinned to its own core
(``sched_setaffinity``; instance i on core ``i mod cores``, so N > cores shares cores), each
holding its own copy of the model with one framework thread. After a common start barrier each
instance serves requests of B samples back to back (a closed loop: one request in flight per
instance, the study's set-up) for ``duration_s``, timing every request. The point reports the
request latency percentiles over all instances, the aggregate throughput (samples per second
over the common window) and the *latency-bounded* throughput: the throughput when the p99
request latency is within the bound, else 0.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpace.errors import TaskError

__all__ = [
    "StudyPoint",
    "bounded_throughput",
    "format_table",
    "measure_point",
    "median_points",
    "run_study",
    "summarize",
]


@dataclass(frozen=True)
class StudyPoint:
    batch_size: int
    instances: int
    requests: int
    p50_ms: float
    p99_ms: float
    throughput: float  # samples per second, all instances together
    bound_ms: float
    pinned: bool

    @property
    def bounded_throughput(self) -> float:
        return bounded_throughput(self.throughput, self.p99_ms, self.bound_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "instances": self.instances,
            "requests": self.requests,
            "p50_ms": round(self.p50_ms, 4),
            "p99_ms": round(self.p99_ms, 4),
            "throughput": round(self.throughput, 1),
            "bounded_throughput": round(self.bounded_throughput, 1),
            "bound_ms": self.bound_ms,
            "pinned": self.pinned,
        }


def bounded_throughput(throughput: float, p99_ms: float, bound_ms: float) -> float:
    """The throughput if the p99 latency meets the bound, else 0 (the point is not usable)."""
    return throughput if p99_ms <= bound_ms else 0.0


def summarize(
    latencies_s: Sequence[Sequence[float]],
    window_s: float,
    *,
    batch_size: int,
    bound_ms: float,
    pinned: bool,
) -> StudyPoint:
    """A point from every instance's request latencies and the common measuring window."""
    every = np.concatenate([np.asarray(x, dtype=np.float64) for x in latencies_s])
    if every.size == 0 or window_s <= 0:
        raise TaskError("a study point completed no request; lengthen the duration")
    return StudyPoint(
        batch_size=batch_size,
        instances=len(latencies_s),
        requests=int(every.size),
        p50_ms=float(np.percentile(every, 50)) * 1e3,
        p99_ms=float(np.percentile(every, 99)) * 1e3,
        throughput=every.size * batch_size / window_s,
        bound_ms=bound_ms,
        pinned=pinned,
    )


# ------------------------------------------------------------------------------ workers
def _make_forward(backend: str, model_path: str | None) -> Callable[[dict[str, np.ndarray]], Any]:
    from mlpace.workloads.models import dlrm

    spec = dlrm.load_spec(model_path)
    if backend == "numpy":
        return dlrm.numpy_forward(spec)  # type: ignore[no-any-return]
    if backend == "torch":
        import torch

        torch.set_num_threads(1)
        module = dlrm.build_torch(spec)

        def forward(batch: dict[str, np.ndarray]) -> Any:
            with torch.inference_mode():
                return module(
                    dense=torch.from_numpy(batch["dense"]), sparse=torch.from_numpy(batch["sparse"])
                )

        return forward
    raise TaskError(f"the study runs on numpy or torch, not {backend!r}")


def _worker(
    core: int | None,
    backend: str,
    model_path: str | None,
    batch_size: int,
    duration_s: float,
    seed: int,
    barrier: Any,
    results: Any,
) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover - ships with scikit-learn
        pass
    from mlpace.workloads.datasets.criteo_synthetic import GeneratedCriteo

    forward = _make_forward(backend, model_path)
    data = GeneratedCriteo(4096, split="test")
    rng = np.random.default_rng(seed)
    batches = [data.get_samples(rng.integers(0, data.size, batch_size).tolist()) for _ in range(64)]
    forward(batches[0])  # warm-up outside the window
    barrier.wait()
    start = time.perf_counter()
    stop = start + duration_s
    latencies: list[float] = []
    k = 0
    now = start
    while now < stop:
        t0 = time.perf_counter()
        forward(batches[k % len(batches)])
        now = time.perf_counter()
        latencies.append(now - t0)
        k += 1
    results.put((start, now, latencies))


def measure_point(
    batch_size: int,
    instances: int,
    *,
    duration_s: float = 2.0,
    bound_ms: float = 60.0,
    backend: str = "numpy",
    model_path: str | None = None,
    pin: bool = True,
) -> StudyPoint:
    """Run one ``(batch_size, instances)`` point (see the module doc)."""
    if batch_size < 1 or instances < 1:
        raise TaskError(f"batch size and instances must be >= 1 (got {batch_size}, {instances})")
    can_pin = pin and hasattr(os, "sched_setaffinity")
    cores = sorted(os.sched_getaffinity(0)) if can_pin else []
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(instances)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(
                cores[i % len(cores)] if can_pin else None,
                backend,
                model_path,
                batch_size,
                duration_s,
                1000 * batch_size + i,
                barrier,
                results,
            ),
            daemon=True,
        )
        for i in range(instances)
    ]
    for p in procs:
        p.start()
    got: list[tuple[float, float, list[float]]] = []
    try:
        for _ in procs:
            got.append(results.get(timeout=120 + 4 * duration_s))
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    # The window every counted request lies in: first start to last finish.
    window = max(e for _, e, _ in got) - min(s for s, _, _ in got)
    return summarize(
        [lat for _, _, lat in got], window, batch_size=batch_size, bound_ms=bound_ms, pinned=can_pin
    )


def run_study(
    batch_sizes: Sequence[int],
    instance_counts: Sequence[int],
    *,
    duration_s: float = 2.0,
    bound_ms: float = 60.0,
    backend: str = "numpy",
    model_path: str | None = None,
    pin: bool = True,
    say: Callable[[str], None] | None = None,
) -> list[StudyPoint]:
    """Every point of the grid, batch size outer, instances inner."""
    points: list[StudyPoint] = []
    for b in batch_sizes:
        for n in instance_counts:
            point = measure_point(
                b,
                n,
                duration_s=duration_s,
                bound_ms=bound_ms,
                backend=backend,
                model_path=model_path,
                pin=pin,
            )
            points.append(point)
            if say is not None:
                say(
                    f"batch {b:>4} x {n} instance(s): p99 {point.p99_ms:8.3f} ms, "
                    f"{point.throughput:10.1f} samples/s"
                )
    return points


def median_points(repetitions: Sequence[Sequence[StudyPoint]]) -> list[StudyPoint]:
    """Per grid point, the median over repetitions of p50, p99 and throughput (each on its own:
    the medians of a noisy machine, not one lucky repetition)."""
    if not repetitions:
        return []
    out: list[StudyPoint] = []
    for k, first in enumerate(repetitions[0]):
        same = [rep[k] for rep in repetitions]
        out.append(
            StudyPoint(
                batch_size=first.batch_size,
                instances=first.instances,
                requests=int(np.median([p.requests for p in same])),
                p50_ms=float(np.median([p.p50_ms for p in same])),
                p99_ms=float(np.median([p.p99_ms for p in same])),
                throughput=float(np.median([p.throughput for p in same])),
                bound_ms=first.bound_ms,
                pinned=first.pinned,
            )
        )
    return out


def format_table(points: Sequence[StudyPoint]) -> str:
    """A Markdown table: one row per batch size, one column per instance count (bounded
    throughput in samples/s, with the p99 latency), '—' where the bound is missed."""
    sizes = sorted({p.batch_size for p in points})
    counts = sorted({p.instances for p in points})
    by = {(p.batch_size, p.instances): p for p in points}
    head = "| batch \\ instances | " + " | ".join(str(n) for n in counts) + " |"
    lines = [head, "|" + "---|" * (len(counts) + 1)]
    for b in sizes:
        cells = []
        for n in counts:
            p = by.get((b, n))
            if p is None:
                cells.append("")
            elif p.bounded_throughput > 0:
                cells.append(f"{p.bounded_throughput:,.0f} (p99 {p.p99_ms:.2f} ms)")
            else:
                cells.append(f"— (p99 {p.p99_ms:.1f} ms > {p.bound_ms:g})")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    best = max(points, key=lambda p: p.bounded_throughput, default=None)
    if best is not None and best.bounded_throughput > 0 and not math.isnan(best.throughput):
        lines.append("")
        lines.append(
            f"best latency-bounded throughput: {best.bounded_throughput:,.0f} samples/s at batch "
            f"{best.batch_size} x {best.instances} instance(s)"
        )
    return "\n".join(lines)
