"""What every scenario shares: the issue context and the scenario interface (the response sink
lives in :mod:`mlpace.loadgen._recorder`; ``ResponseRecorder`` is re-exported here).

The hot path is deliberately plain Python over preallocated storage:

* sample sequence ids are ``first_id + position`` (position = order of issue within the pass),
  so a completion is ``completed_ns[id - first_id] = now`` into an ``array('q')``;
* a scenario reads its schedule as Python lists, because indexing NumPy scalars costs far more
  than indexing lists, but converts it in chunks of :data:`CHUNK` entries
  (:meth:`PreparedSchedule.chunks`), so a million-query run never holds a Python int per query;
* per-query records go into preallocated ``array('q')`` columns written by index, and the sample
  indices are read through a chunked list window (:meth:`IssueContext.issue`);
* the SUT gets ``issue_query_ids(ids, indices)`` when it has that method (no per-sample objects),
  otherwise the list of :class:`QuerySample` the protocol requires.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from mlpace.clock import Clock
from mlpace.loadgen._recorder import ResponseRecorder
from mlpace.loadgen._recorder import filled as _filled
from mlpace.loadgen.schedule import Schedule
from mlpace.loadgen.sut import QuerySample

# Schedules and sample indices are turned into Python lists this many entries at a time: fast
# to index in the hot loop, bounded in memory (a converted entry costs ~40 bytes), and one
# conversion (~0.1 ms) delays only a handful of queries.
CHUNK = 16_384

# Without a sample timeout, a silent SUT gets a note in the detail log after this long, then
# after twice as long again, and so on.
STALL_NOTICE_NS = 60_000_000_000


class SutRaised(Exception):
    """Internal: a SUT or QSL callback raised; carries the original exception."""

    def __init__(self, where: str, original: BaseException) -> None:
        self.where = where
        self.original = original
        super().__init__(f"{where} raised {type(original).__name__}: {original}")


class IssueContext:
    """The running pass as the scenarios see it: clock, SUT, recorder, limits, bookkeeping."""

    def __init__(
        self,
        *,
        clock: Clock,
        sut: Any,
        recorder: ResponseRecorder,
        total_queries: int,
        min_query_count: int,
        target_duration_ns: int,
        max_query_count: int,
        max_duration_ns: int,
        max_async_queries: int,
        coalesce: bool,
        sample_timeout_ns: int,
        message: Callable[[str], None],
        error: Callable[[str, str], None],
    ) -> None:
        self.clock = clock
        self.now_ns = clock.now_ns
        self.recorder = recorder
        self.min_query_count = min_query_count
        self.target_duration_ns = target_duration_ns
        self.max_query_count = max_query_count
        self.max_duration_ns = max_duration_ns
        self.max_async_queries = max_async_queries
        self.coalesce = coalesce
        self.sample_timeout_ns = sample_timeout_ns
        self.message = message
        self.error = error
        self.query_scheduled: array[int] = _filled(total_queries, 0)
        self.query_issued: array[int] = _filled(total_queries, 0)
        self.query_length: array[int] = _filled(total_queries, 0)
        self.queries_issued = 0
        self.pass_start_ns = 0
        self.start_ns = 0  # start of the chunk now being issued
        self.timed_out = False
        self.stall_reason = ""
        self.ended_early = False
        # The pass's sample indices; ``issue`` reads them through a list window of CHUNK
        # entries (``_win`` covers positions ``_win_lo .. _win_lo + len(_win) - 1``).
        self.sample_index: np.ndarray[Any, np.dtype[np.int64]] = np.zeros(0, dtype=np.int64)
        self._win: list[int] = []
        self._win_lo = 0
        self._fast_issue: Callable[[list[int], list[int]], Any] | None = getattr(
            sut, "issue_query_ids", None
        )
        self._issue: Callable[[list[QuerySample]], Any] = sut.issue_queries

    def issue(self, pos: int, count: int, now: int) -> None:
        """Hand samples ``pos .. pos+count-1`` of the pass to the SUT as one issue call."""
        rec = self.recorder
        rec.issued = pos + count  # before the call: an inline SUT completes inside it
        first = rec.first_id + pos
        k = pos - self._win_lo
        win = self._win
        if count == 1:  # the common Server / SingleStream case, without range() and slicing
            if not 0 <= k < len(win):
                win = self._refill(pos)
                k = 0
            ids = [first]
            indices = [win[k]]
        else:
            ids = list(range(first, first + count))
            if k >= 0 and k + count <= len(win):
                indices = win[k : k + count]
            elif count >= CHUNK:  # Offline's big query: one conversion, no window
                indices = self.sample_index[pos : pos + count].tolist()
            else:
                indices = self._refill(pos)[:count]
        try:
            if self._fast_issue is not None:
                self._fast_issue(ids, indices)
            else:
                self._issue(list(map(QuerySample, ids, indices)))
        except Exception as exc:
            raise SutRaised("issue_queries", exc) from exc

    def _refill(self, pos: int) -> list[int]:
        self._win_lo = pos
        win: list[int] = self.sample_index[pos : pos + CHUNK].tolist()
        self._win = win
        return win

    def release(self) -> None:
        """Drop the per-query columns and the index window (after the raw record was built)."""
        self.query_scheduled = self.query_issued = self.query_length = array("q")
        self._win = []

    def wait_all(self) -> bool:
        """Block until every issued sample completed.

        False once ``sample_timeout_ms`` (when set) passed with no completion at all, or when the
        clock proves nothing can complete any more (a virtual clock with no pending timer).
        Without a timeout a long silence only leaves notes in the detail log (after 1, 2, 4...
        minutes): a slow system under test is legitimate, a LoadGen must not kill it.
        """
        rec = self.recorder
        if rec.completed >= rec.issued:
            return True
        limit = self.sample_timeout_ns
        clock = self.clock
        now = self.now_ns
        last = rec.completed
        last_progress = now()
        notice_after = STALL_NOTICE_NS
        wait = clock.wait
        idle = rec.idle
        try:
            while True:
                rec.waiter = True
                idle.clear()
                if rec.completed >= rec.issued:
                    return True
                silent = now() - last_progress
                budget = notice_after - silent
                if limit > 0:
                    budget = min(budget, limit - silent)
                if wait(idle, max(budget, 0)):
                    continue
                if rec.completed != last:
                    last = rec.completed
                    last_progress = now()
                    notice_after = STALL_NOTICE_NS
                    continue
                silent = now() - last_progress
                if limit > 0 and silent >= limit:
                    self.stall_reason = (
                        f"no sample completed for {limit // 1_000_000} ms (sample_timeout_ms)"
                    )
                    return False
                if getattr(clock, "pending_timers", None) == 0:
                    self.stall_reason = (
                        "no sample completed and nothing is left that could complete one "
                        "(virtual clock with no pending timer)"
                    )
                    return False
                if silent >= notice_after:
                    self.message(
                        f"Waiting for {rec.issued - rec.completed} outstanding samples: none "
                        f"completed for {silent // 1_000_000_000} s. mlpace waits as long as it "
                        "takes; set sample_timeout_ms to give up after a silence instead."
                    )
                    notice_after *= 2
        finally:
            rec.waiter = False

    def wait_briefly(self, timeout_ns: int) -> bool:
        """Wait up to ``timeout_ns`` for the outstanding samples (after an error or Ctrl-C)."""
        rec = self.recorder
        deadline = self.now_ns() + timeout_ns
        idle = rec.idle
        try:
            while rec.completed < rec.issued:
                rec.waiter = True
                idle.clear()
                if rec.completed >= rec.issued:
                    break
                left = deadline - self.now_ns()
                if left <= 0 or not self.clock.wait(idle, left):
                    break
        finally:
            rec.waiter = False
        return rec.completed >= rec.issued


@dataclass(frozen=True, eq=False)
class PreparedSchedule:
    """A schedule as the issue loops read it: chunks of plain Python lists (:meth:`chunks`).

    Converting a whole million-query schedule up front would hold ~120 bytes of Python ints per
    query; a chunk of :data:`CHUNK` queries converts in about a tenth of a millisecond.
    """

    schedule: Schedule

    @property
    def query_count(self) -> int:
        return int(self.schedule.query_start.shape[0])

    def chunks(self, size: int = CHUNK) -> Iterator[tuple[int, list[int], list[int], list[int]]]:
        """``(q0, offsets_ns, query_start, query_length)`` for queries ``q0 .. q0+len-1``."""
        s = self.schedule
        offsets, starts, lengths = s.scheduled_offset_ns, s.query_start, s.query_length
        for q0 in range(0, self.query_count, size):
            q1 = q0 + size
            yield (
                q0,
                offsets[q0:q1].tolist(),
                starts[q0:q1].tolist(),
                lengths[q0:q1].tolist(),
            )


def prepare(schedule: Schedule) -> PreparedSchedule:
    return PreparedSchedule(schedule=schedule)


class Scenario(Protocol):
    """One scenario's issue loop over one pre-generated schedule."""

    name: str

    def issue_all(
        self,
        ctx: IssueContext,
        schedule: PreparedSchedule,
        *,
        first_query: int,
        first_position: int,
        accuracy: bool,
    ) -> None:
        """Issue the schedule's queries (from ``ctx.start_ns``) until its end rule says stop.

        Query ``q`` of the schedule is the pass's query ``first_query + q``; its samples start at
        pass position ``first_position + schedule.query_start[q]``. Record each query's scheduled
        and issued times in ``ctx.query_scheduled`` / ``ctx.query_issued`` and increase
        ``ctx.queries_issued``. Raise :class:`SutRaised` through; never wait for the tail (the
        engine does after ``flush_queries``).
        """
        ...


# Detail-log messages for the end of issuing (our wording).
MSG_ENDING_NATURALLY = "Ending naturally: minimum query count and test duration met."
MSG_MAX_QUERY_COUNT = "Ending early: max_query_count reached."
MSG_MAX_DURATION = "Ending early: max_duration reached."
MSG_TOO_MANY_OUTSTANDING = "Ending early: too many outstanding queries (max_async_queries)."
MSG_RAN_OUT = (
    "Ran out of generated queries before the minimum query count and test duration were met: "
    "the SUT is more than twice as fast as the expected latency / target QPS hint; make the hint "
    "more accurate so enough queries are generated."
)


def sequential_issue(
    ctx: IssueContext,
    schedule: PreparedSchedule,
    *,
    first_query: int,
    first_position: int,
    accuracy: bool,
) -> None:
    """SingleStream / MultiStream: issue a query, wait for all its samples, issue the next.

    A query's scheduled time is its issue time. After each issue (performance mode) the run ends
    once ``min_query_count`` queries were issued and the issue time is past the target duration.
    """
    now_ns = ctx.now_ns
    q_sched = ctx.query_scheduled
    q_issued = ctx.query_issued
    q_len = ctx.query_length
    min_q = ctx.min_query_count
    end_at = ctx.start_ns + ctx.target_duration_ns
    max_q = 0 if accuracy else ctx.max_query_count
    max_end = ctx.start_ns + ctx.max_duration_ns if ctx.max_duration_ns > 0 else 0
    if accuracy:
        max_end = 0
    issue = ctx.issue
    wait_all = ctx.wait_all
    for q0, _, starts, lengths in schedule.chunks():
        for q in range(len(starts)):
            if not wait_all():
                ctx.timed_out = True
                return
            now = now_ns()
            g = first_query + q0 + q
            if max_q and g >= max_q:
                ctx.error("error_runtime", MSG_MAX_QUERY_COUNT)
                ctx.ended_early = True
                return
            if max_end and now > max_end:
                ctx.error("error_runtime", MSG_MAX_DURATION)
                ctx.ended_early = True
                return
            q_sched[g] = now
            q_issued[g] = now
            length = lengths[q]
            q_len[g] = length
            ctx.queries_issued = g + 1
            issue(first_position + starts[q], length, now)
            if not accuracy and g + 1 >= min_q and now >= end_at:
                ctx.message(MSG_ENDING_NATURALLY)
                return
    if not accuracy:
        ctx.error("error_runtime", MSG_RAN_OUT)
