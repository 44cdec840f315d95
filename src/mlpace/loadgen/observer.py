"""Watching a pass while it runs: the observer protocol and the engine's live view of a pass.

``run_test(..., observer=obs)`` calls ``obs.pass_started(view)`` before a pass issues its first
query and ``obs.pass_ended(view, result)`` after its result is computed. The view may be read
from any thread while the pass runs (a progress display polls it); reading never blocks the
issuing thread. At the end of the pass the view is frozen: its counts stay, its recent windows
are empty. The loadgen layer owns these shapes (it depends on nothing above it); the
progress display in ``mlpace.report`` reads passes through them.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from mlpace.loadgen.enums import TestMode, TestScenario


class PassView(Protocol):
    """What an observer may read while a pass runs."""

    scenario: TestScenario
    mode: TestMode
    target_qps: float
    min_duration_ns: int
    min_query_count: int
    target_latency_ns: int
    target_latency_percentile: float

    def elapsed_ns(self) -> int: ...
    def issued_queries(self) -> int: ...
    def issued_samples(self) -> int: ...
    def completed_samples(self) -> int: ...
    def recent_latencies_ns(self, max_count: int) -> npt.NDArray[np.int64]: ...
    def recent_issue_lag_ns(self, max_count: int) -> npt.NDArray[np.int64]: ...


class RunObserver(Protocol):
    """Told when each pass of a ``run_test`` call starts and ends."""

    def pass_started(self, view: PassView) -> None: ...
    def pass_ended(self, view: PassView, result: Any) -> None: ...


_EMPTY: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)


class LivePassView:
    """The engine's :class:`PassView` over the running pass's context and response recorder.

    Reads are racy by design (no lock with the issuing thread): a count may be one behind, a
    sample just completed may not show yet; every number is a consistent-enough snapshot for a
    display, never an input to the result.
    """

    def __init__(
        self,
        *,
        ctx: Any,
        recorder: Any,
        now_ns: Any,
        scenario: TestScenario,
        accuracy: bool,
        target_qps: float,
        min_duration_ns: int,
        min_query_count: int,
        target_latency_ns: int,
        target_latency_percentile: float,
    ) -> None:
        self.scenario = scenario
        self.mode = TestMode.AccuracyOnly if accuracy else TestMode.PerformanceOnly
        self.target_qps = target_qps
        self.min_duration_ns = min_duration_ns
        self.min_query_count = min_query_count
        self.target_latency_ns = target_latency_ns
        self.target_latency_percentile = target_latency_percentile
        self._ctx = ctx
        self._rec = recorder
        self._now = now_ns
        self.start_ns: int | None = None  # set when the first query is about to be issued
        self._frozen: tuple[int, int, int, int] | None = None

    # ------------------------------------------------------------------ engine side
    def freeze(self) -> None:
        """Keep the final counts; drop the references to the pass's storage."""
        self._frozen = (
            self.elapsed_ns(),
            self.issued_queries(),
            self.issued_samples(),
            self.completed_samples(),
        )
        self._ctx = self._rec = None

    # ------------------------------------------------------------------ the view
    def elapsed_ns(self) -> int:
        if self._frozen is not None:
            return self._frozen[0]
        start = self.start_ns
        return 0 if start is None else max(0, int(self._now()) - start)

    def issued_queries(self) -> int:
        return self._frozen[1] if self._frozen is not None else int(self._ctx.queries_issued)

    def issued_samples(self) -> int:
        return self._frozen[2] if self._frozen is not None else int(self._rec.issued)

    def completed_samples(self) -> int:
        return self._frozen[3] if self._frozen is not None else int(self._rec.completed)

    def recent_issue_lag_ns(self, max_count: int) -> npt.NDArray[np.int64]:
        ctx = self._ctx
        if ctx is None or max_count <= 0:
            return _EMPTY
        nq = int(ctx.queries_issued)
        q0 = max(0, nq - max_count)
        issued = np.frombuffer(ctx.query_issued, dtype=np.int64)[q0:nq]
        scheduled = np.frombuffer(ctx.query_scheduled, dtype=np.int64)[q0:nq]
        lag: npt.NDArray[np.int64] = issued - scheduled
        return lag

    def recent_latencies_ns(self, max_count: int) -> npt.NDArray[np.int64]:
        """Latencies (completion - scheduled time) of the newest completed samples among the
        last ``max_count`` issued."""
        ctx, rec = self._ctx, self._rec
        if ctx is None or rec is None or max_count <= 0:
            return _EMPTY
        nq = int(ctx.queries_issued)
        ns = min(int(rec.issued), len(rec.completed_ns))
        if nq == 0 or ns == 0:
            return _EMPTY
        # Every query has at least one sample, so the last max_count queries cover the last
        # max_count samples; walk their lengths back from the newest issued sample.
        q0 = max(0, nq - max_count)
        lengths = np.frombuffer(ctx.query_length, dtype=np.int64)[q0:nq]
        scheduled = np.frombuffer(ctx.query_scheduled, dtype=np.int64)[q0:nq]
        back = np.cumsum(lengths[::-1])
        take = int(np.searchsorted(back, max_count)) + 1  # queries needed, newest first
        take = min(take, lengths.shape[0])
        lengths, scheduled = lengths[-take:], scheduled[-take:]
        total = int(lengths.sum())
        per_sample = np.repeat(scheduled, lengths) if total <= 4 * max_count else None
        count = min(max_count, ns, total)
        completed = np.frombuffer(rec.completed_ns, dtype=np.int64)[ns - count : ns]
        if per_sample is None:  # one huge query (Offline): all its samples share its time
            sched = np.full(count, scheduled[-1], dtype=np.int64)
        else:
            sched = per_sample[per_sample.shape[0] - count :]
        done = completed >= 0
        out: npt.NDArray[np.int64] = completed[done] - sched[done]
        return out


__all__ = ["LivePassView", "PassView", "RunObserver"]
