"""The null system under test: answers every sample at once, to measure the load generator."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from mlpace.errors import MlpaceError
from mlpace.loadgen.sut import QuerySample


class NullSUT:
    """Completes every issued sample immediately, with no payload (the sink's fast path).

    ``completion="inline"`` completes inside ``issue_queries``; ``"thread"`` hands the ids to one
    worker thread through a queue (what a real asynchronous SUT does). The worker is a daemon
    started on first use; :meth:`close` stops it. ``delay_ns`` adds a real service time to every
    query (a busy-wait before it completes, on the issuing thread or the worker), e.g. to check
    that ``mlpace compare`` catches a 50 µs regression.
    """

    def __init__(
        self, completion: str = "inline", name: str = "NullSUT", delay_ns: int = 0
    ) -> None:
        if completion not in ("inline", "thread"):
            raise MlpaceError(
                f"NullSUT completion must be 'inline' or 'thread', not {completion!r}"
            )
        if delay_ns < 0:
            raise MlpaceError(f"NullSUT delay_ns must be >= 0, not {delay_ns}")
        self.name = name
        self.completion = completion
        self.delay_ns = int(delay_ns)
        self._complete_ids: Callable[[Sequence[int]], None] | None = None
        self._queue: queue.SimpleQueue[list[int] | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    def bind(self, sink: Any) -> None:
        self._complete_ids = sink.complete_ids

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        complete = self._complete_ids
        if complete is None:
            raise MlpaceError("NullSUT was not bound to a response sink (use run_test)")
        if self.completion == "inline":
            if self.delay_ns:
                _spin(self.delay_ns)
            complete(ids)
            return
        if self._worker is None:
            self._start_worker()
        self._queue.put(ids)

    def issue_queries(self, samples: Sequence[QuerySample]) -> None:
        self.issue_query_ids([s.id for s in samples], [s.index for s in samples])

    def flush_queries(self) -> None:
        return None

    def close(self) -> None:
        """Stop the worker thread (if one was started)."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    def _start_worker(self) -> None:
        self._worker = threading.Thread(target=self._work, name="NullSUT-worker", daemon=True)
        self._worker.start()

    def _work(self) -> None:
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        while True:
            ids = get()
            if ids is None:
                return
            if self.delay_ns:  # one service time per query: no draining
                _spin(self.delay_ns)
                complete = self._complete_ids
                if complete is not None:
                    complete(ids)
                continue
            # Drain whatever else is queued so one completion call covers it all.
            stop = False
            batch: list[int] | None = None
            while True:
                try:
                    more = get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                if batch is None:
                    batch = list(ids)
                    ids = batch
                batch.extend(more)
            complete = self._complete_ids
            if complete is not None:
                complete(ids)
            if stop:
                return


def _spin(delay_ns: int) -> None:
    """Busy-wait: a sleep would add the OS wake-up lag (tens of µs) on top of the delay."""
    end = time.perf_counter_ns() + delay_ns
    while time.perf_counter_ns() < end:
        pass


class NullQSL:
    """A sample library of ``total`` samples that need no loading."""

    def __init__(
        self, total: int = 1024, performance: int | None = None, name: str = "NullQSL"
    ) -> None:
        self.name = name
        self.total_sample_count = int(total)
        self.performance_sample_count = int(total if performance is None else performance)

    def load_samples(self, indices: Sequence[int]) -> None:
        return None

    def unload_samples(self, indices: Sequence[int]) -> None:
        return None
