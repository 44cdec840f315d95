"""``BackendSUT``: a system under test that runs a backend on worker threads, with batching.

Samples wait in one queue; each of ``workers`` threads takes a batch from it:

* **Offline** (``max_wait_ns = 0``): whatever is queued, up to ``max_batch_size`` — the one big
  query is cut into full batches.
* **Server** (dynamic batching): once a first sample is queued, a worker waits until either
  ``max_batch_size`` samples are there or the *first* one has waited ``max_wait_ns``, then runs
  what it has. The wait trades latency for batch efficiency, so it must stay well inside the
  latency bound. ``flush_queries`` ends the waiting (no more samples are coming).
* SingleStream / MultiStream: ``max_wait_ns = 0``; a MultiStream query arrives whole, so it is
  one batch.

Each batch is fetched from the data set, run through the backend, encoded (one payload per
sample, what the accuracy script decodes) and completed through the LoadGen sink in one call.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpace.errors import SutError
from mlpace.loadgen.sut import QuerySample, QuerySampleResponse
from mlpace.workloads.backends.base import Backend

__all__ = ["BackendSUT", "BatchingPolicy", "batch_decision"]

GetSamples = Callable[[Sequence[int]], Any]
Encode = Callable[[Any], list[bytes]]


@dataclass(frozen=True)
class BatchingPolicy:
    """How workers form batches: at most ``max_batch_size``, waiting at most ``max_wait_ns``."""

    max_batch_size: int = 32
    max_wait_ns: int = 0

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise SutError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        if self.max_wait_ns < 0:
            raise SutError(f"max_wait_ns must be >= 0, got {self.max_wait_ns}")


def batch_decision(
    queued: int, first_arrival_ns: int, now_ns: int, policy: BatchingPolicy, *, draining: bool
) -> tuple[int, int]:
    """``(take, wait_ns)``: run ``take`` samples now, or (take 0) wait up to ``wait_ns`` more.

    Pure, so the batching rule is testable without threads or clocks.
    """
    if queued <= 0:
        return 0, 0
    if queued >= policy.max_batch_size:
        return policy.max_batch_size, 0
    if draining or policy.max_wait_ns == 0:
        return queued, 0
    waited_ns = now_ns - first_arrival_ns
    if waited_ns >= policy.max_wait_ns:
        return queued, 0
    return 0, policy.max_wait_ns - waited_ns


class BackendSUT:
    """Runs ``backend`` on ``workers`` threads; completes through the bound LoadGen sink.

    ``get_samples(indices)`` returns the preprocessed batch for QSL indices (a
    :class:`~mlpace.workloads.datasets.base.DatasetQSL` has it); ``encode(outputs)`` turns the
    backend output into one payload per sample.
    """

    def __init__(
        self,
        backend: Backend,
        get_samples: GetSamples,
        encode: Encode,
        *,
        workers: int = 1,
        policy: BatchingPolicy | None = None,
        name: str | None = None,
        now_ns: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        if workers < 1:
            raise SutError(f"workers must be >= 1, got {workers}")
        self.backend = backend
        self.get_samples = get_samples
        self.encode = encode
        self.workers = workers
        self.policy = policy or BatchingPolicy()
        self.name = name or f"BackendSUT({backend.name})"
        self._now = now_ns
        self._sink: Any = None
        self._queue: collections.deque[tuple[int, int, int]] = collections.deque()
        self._cond = threading.Condition()
        self._draining = False
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        # Statistics (read after a run): batch sizes, samples served.
        self.batch_sizes: collections.Counter[int] = collections.Counter()
        self._stats_lock = threading.Lock()

    # ------------------------------------------------------------------ LoadGen protocol
    def bind(self, sink: Any) -> None:
        self._sink = sink
        self.start()

    def issue_queries(self, samples: Sequence[QuerySample]) -> None:
        self.issue_query_ids([s.id for s in samples], [s.index for s in samples])

    def issue_query_ids(self, ids: Sequence[int], indices: Sequence[int]) -> None:
        if self._error is not None:
            raise SutError(f"a worker failed earlier: {self._error}") from self._error
        if not self._threads:
            self.start()
        now = self._now()
        with self._cond:
            self._draining = False
            self._queue.extend(zip(ids, indices, [now] * len(ids)))
            if len(ids) > 1:
                self._cond.notify_all()
            else:
                self._cond.notify()

    def flush_queries(self) -> None:
        # No more samples are coming in this pass: stop waiting for batches to fill.
        if self._error is not None:
            raise SutError(f"a worker failed: {self._error}") from self._error
        with self._cond:
            self._draining = True
            self._cond.notify_all()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._threads:
            return
        self._closing = False
        for i in range(self.workers):
            t = threading.Thread(target=self._worker, name=f"mlpace-sut-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def close(self) -> None:
        """Stop the workers (after the queue is empty)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for t in self._threads:
            t.join()
        self._threads = []

    def __enter__(self) -> BackendSUT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, object]:
        """Thread and batching settings, plus the backend's own (for the logs and summary)."""
        total = sum(self.batch_sizes.values())
        served = sum(k * v for k, v in self.batch_sizes.items())
        return {
            "sut": self.name,
            "workers": self.workers,
            "max_batch_size": self.policy.max_batch_size,
            "max_wait_ms": self.policy.max_wait_ns / 1e6,
            "batches": total,
            "mean_batch_size": round(served / total, 2) if total else 0.0,
            **self.backend.describe(),
        }

    # ------------------------------------------------------------------ workers
    def _take(self) -> list[tuple[int, int, int]] | None:
        """Block until a batch is due; None when closing with nothing left."""
        q = self._queue
        with self._cond:
            while True:
                if not q:
                    if self._closing:
                        return None
                    self._cond.wait()
                    continue
                take, wait_ns = batch_decision(
                    len(q), q[0][2], self._now(), self.policy, draining=self._draining
                )
                if take:
                    return [q.popleft() for _ in range(take)]
                self._cond.wait(wait_ns / 1e9)

    def _worker(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._run_batch(batch)
            except Exception as exc:
                # Keep the first error: the next issue/flush call raises it, so LoadGen logs it
                # and ends the run instead of waiting for samples that will never complete.
                if self._error is None:
                    self._error = exc

    def _run_batch(self, batch: list[tuple[int, int, int]]) -> None:
        ids = [b[0] for b in batch]
        x = self.get_samples([b[1] for b in batch])
        y = self.backend.predict(x)
        sink = self._sink
        with self._stats_lock:
            self.batch_sizes[len(ids)] += 1
        if sink is None:
            return
        if not getattr(sink, "any_logged", True):
            # The pass logs no payload at all (the usual performance run): one fast call.
            sink.complete_ids(ids)
            return
        logs = getattr(sink, "logs_payload", None)
        if logs is not None:
            logged = [k for k, i in enumerate(ids) if logs(i)]
            if not logged:
                # Nothing of this batch is logged: skip encoding and the response objects.
                sink.complete_ids(ids)
                return
            if len(logged) < len(ids):
                # A sampled run (TEST01) logs a few samples: only those pay for a response
                # object; the rest take the fast path, so logging costs the run almost nothing.
                if isinstance(y, np.ndarray):
                    rows = self.encode(y[logged])
                else:  # several outputs: encode them all, keep the logged rows
                    every = self.encode(y)
                    rows = [every[k] for k in logged]
                sink.complete([QuerySampleResponse(ids[k], p) for k, p in zip(logged, rows)])
                chosen = set(logged)
                sink.complete_ids([i for k, i in enumerate(ids) if k not in chosen])
                return
        payloads = self.encode(y)
        sink.complete([QuerySampleResponse(i, p) for i, p in zip(ids, payloads)])


def argmax_int32(outputs: Any) -> list[bytes]:
    """Classifier payload: the predicted class of each row as little-endian int32."""
    classes = np.asarray(outputs).reshape(len(outputs), -1).argmax(axis=1).astype("<i4")
    return [c.tobytes() for c in classes]
