"""What every scenario shares: the response sink, the issue context and the scenario interface.

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

import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from mlpace.clock import Clock
from mlpace.loadgen.raw import LogEvent
from mlpace.loadgen.schedule import Schedule
from mlpace.loadgen.sut import QuerySample, QuerySampleResponse

# How many individual error lines of each kind the sink writes before it only counts them (a SUT
# that answers a million unknown ids must not turn the detail log into a million lines).
MAX_LOGGED_PER_KIND = 20

# complete_ids batches at least this long take the vectorised path (NumPy's fixed cost is a few
# microseconds; a Python loop costs ~0.1 µs per id).
VECTOR_MIN_IDS = 256

# Schedules and sample indices are turned into Python lists this many entries at a time: fast
# to index in the hot loop, bounded in memory (a converted entry costs ~40 bytes), and one
# conversion (~0.1 ms) delays only a handful of queries.
CHUNK = 16_384

# Without a sample timeout, a silent SUT gets a note in the detail log after this long, then
# after twice as long again, and so on.
STALL_NOTICE_NS = 60_000_000_000

ErrorLogger = Callable[[str, str], None]
AccuracyWriter = Callable[[int, int, bytes, "bytes | None", "int | None"], None]


def _filled(n: int, value: int) -> array[int]:
    return array("q", [value]) * n


class SutRaised(Exception):
    """Internal: a SUT or QSL callback raised; carries the original exception."""

    def __init__(self, where: str, original: BaseException) -> None:
        self.where = where
        self.original = original
        super().__init__(f"{where} raised {type(original).__name__}: {original}")


class ResponseRecorder:
    """The thread-safe response sink a SUT is bound to (``sut.bind(sink)``).

    One recorder serves the whole ``run_test`` call; :meth:`begin_pass` points it at the storage
    of the pass now running. Answers for ids outside the samples issued so far in this pass, and
    second answers for a sample, are counted, logged as errors and otherwise ignored.
    """

    def __init__(self, now_ns: Callable[[], int], log_error: ErrorLogger) -> None:
        self._now = now_ns
        self._log_error = log_error
        self._lock = threading.Lock()
        self.idle = threading.Event()
        self.waiter = False
        self.active = False
        self.first_id = 0
        self.issued = 0  # samples issued in this pass (positions 0..issued-1 are valid)
        self.completed = 0  # samples completed (first answer only)
        self.capacity = 0
        self.completed_ns: array[int] = array("q")
        self.first_token_ns: array[int] = array("q")
        self.n_tokens: array[int] = array("q")
        self.sample_index: np.ndarray[Any, np.dtype[np.int64]] = np.zeros(0, dtype=np.int64)
        self._log_all = False
        self._log_mask: bytes | bytearray = b""
        self._any_logged = False
        self._accuracy: AccuracyWriter | None = None
        self._token_data: dict[int, bytes] = {}
        self.use_tokens = False
        self.check_first_token = False
        self.unknown_id_responses = 0
        self.duplicate_responses = 0
        self.token_errors = 0
        self.late_responses = 0
        self._error_counts: dict[str, int] = {}
        self.events: list[LogEvent] = []

    # ------------------------------------------------------------------ engine side
    def begin_pass(
        self,
        *,
        first_id: int,
        sample_index: np.ndarray[Any, np.dtype[np.int64]],
        log_all: bool,
        log_mask: bytes | bytearray,
        accuracy: AccuracyWriter | None,
        use_tokens: bool,
        check_first_token: bool,
    ) -> None:
        n = len(sample_index)
        with self._lock:
            self.first_id = first_id
            self.capacity = n
            self.issued = 0
            self.completed = 0
            self.completed_ns = _filled(n, -1)
            # Token columns only when tokens are recorded; otherwise allocated on first use
            # (a SUT reporting tokens anyway), so a plain run keeps 8 bytes per sample here.
            self.first_token_ns = _filled(n, -1) if use_tokens else array("q")
            self.n_tokens = _filled(n, 0) if use_tokens else array("q")
            self.sample_index = sample_index
            self._log_all = log_all
            self._log_mask = log_mask
            self._any_logged = log_all or 1 in log_mask  # C-speed scan of the mask bytes
            self._accuracy = accuracy
            self._token_data = {}
            self.use_tokens = use_tokens
            self.check_first_token = check_first_token
            self.waiter = False
            self.idle.clear()
            self.active = True

    @property
    def any_logged(self) -> bool:
        """True while the current pass logs some sample's payload (accuracy mode or sampled
        accuracy logging); False means completions need no payload at all."""
        return self._any_logged

    def end_pass(self) -> None:
        with self._lock:
            self.active = False

    def release(self) -> None:
        """Drop this pass's per-sample columns (the raw record took them over); after
        :meth:`end_pass` nothing writes to them."""
        with self._lock:
            empty = array("q")
            self.completed_ns = self.first_token_ns = self.n_tokens = empty
            self.capacity = 0
            self.sample_index = np.zeros(0, dtype=np.int64)
            self._log_mask = b""

    def missing_ids(self) -> list[int]:
        """Sequence ids issued in this pass that never completed."""
        done = np.frombuffer(self.completed_ns, dtype=np.int64)[: self.issued]
        return [int(i) + self.first_id for i in np.flatnonzero(done < 0)]

    # ------------------------------------------------------------------ error bookkeeping
    def _error(self, kind: str, text: str) -> None:
        # Called with the lock held.
        count = self._error_counts.get(kind, 0) + 1
        self._error_counts[kind] = count
        if count <= MAX_LOGGED_PER_KIND:
            self.events.append(LogEvent("error_runtime", text, True, self._now()))
            self._log_error("error_runtime", text)
        elif count == MAX_LOGGED_PER_KIND + 1:
            text = f"further '{kind}' errors are counted but not logged one by one"
            self.events.append(LogEvent("error_runtime", text, True, self._now()))
            self._log_error("error_runtime", text)

    def _bad_id(self, sample_id: int, k: int) -> None:
        if not self.active:
            self.late_responses += 1
            self._error("late", f"response for sample id {sample_id} arrived after the test ended")
        elif 0 <= k < self.issued:
            self.duplicate_responses += 1
            self._error("duplicate", f"sample id {sample_id} was completed more than once")
        else:
            self.unknown_id_responses += 1
            self._error("unknown", f"response for unknown sample id {sample_id} (never issued)")

    # ------------------------------------------------------------------ the sink API
    def logs_payload(self, sample_id: int) -> bool:
        """True if this sample's response bytes go into the accuracy log."""
        k = sample_id - self.first_id
        if not self._any_logged or not 0 <= k < self.capacity:
            return False
        return self._log_all or bool(self._log_mask[k])

    def complete_ids(self, ids: Sequence[int] | np.ndarray[Any, Any]) -> None:
        """Fast path: mark samples done, no payload (logged samples get an empty entry)."""
        if self._any_logged:
            # Accuracy mode or sampled logging: the logged samples take the general path (with
            # empty payloads); in a sampled run (TEST01) the others keep the fast path.
            listed = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
            logged = listed if self._log_all else [i for i in listed if self.logs_payload(i)]
            if logged:
                self.complete([QuerySampleResponse(int(i)) for i in logged])
                if len(logged) == len(listed):
                    return
                chosen = set(logged)
                listed = [i for i in listed if i not in chosen]
            self._complete_fast(listed)
            return
        self._complete_fast(ids)

    def _complete_fast(self, ids: Sequence[int] | np.ndarray[Any, Any]) -> None:
        if isinstance(ids, np.ndarray) or len(ids) >= VECTOR_MIN_IDS:
            self._complete_vector(ids)
            return
        now = self._now()
        with self._lock:
            comp = self.completed_ns
            first = self.first_id
            issued = self.issued if self.active else 0
            bad = 0
            for i in ids:
                k = i - first
                if 0 <= k < issued and comp[k] < 0:
                    comp[k] = now
                else:
                    bad += 1
                    self._bad_id(i, k)
            self.completed += len(ids) - bad
            wake = self.waiter and self.completed >= self.issued
        if wake:
            self.idle.set()

    def _complete_vector(self, ids: Sequence[int] | np.ndarray[Any, Any]) -> None:
        # Big batches (an Offline answer): NumPy instead of a Python loop per id.
        arr = np.asarray(ids, dtype=np.int64).ravel()
        now = self._now()
        with self._lock:
            issued = self.issued if self.active else 0
            view = np.frombuffer(self.completed_ns, dtype=np.int64)
            k = arr - self.first_id
            ok = (k >= 0) & (k < issued)
            if not ok.all():
                for pos in np.flatnonzero(~ok).tolist():
                    self._bad_id(int(arr[pos]), int(k[pos]))
                k = k[ok]
            fresh = view[k] < 0
            if not fresh.all():
                for kk in k[~fresh].tolist():
                    self._bad_id(kk + self.first_id, kk)
                k = k[fresh]
            good = int(k.shape[0])
            if good:
                low = int(k.min())
                counts = np.bincount(k - low)
                if int(counts.max()) > 1:  # the same id twice in one batch
                    for kk in np.flatnonzero(counts > 1).tolist():
                        for _ in range(int(counts[kk]) - 1):
                            self._bad_id(kk + low + self.first_id, kk + low)
                    good = int(np.count_nonzero(counts))
                view[k] = now
            del view  # release the buffer export before the array can be replaced
            self.completed += good
            wake = self.waiter and self.completed >= self.issued
        if wake:
            self.idle.set()

    def complete(self, responses: Sequence[QuerySampleResponse]) -> None:
        """Mark samples done; logged samples have their bytes copied now."""
        now = self._now()
        with self._lock:
            comp = self.completed_ns
            first = self.first_id
            issued = self.issued if self.active else 0
            ntok = self.n_tokens
            use_tokens = self.use_tokens
            good = 0
            logged: list[tuple[int, bytes, int]] = []
            for r in responses:
                i = r.id
                k = i - first
                if 0 <= k < issued and comp[k] < 0:
                    comp[k] = now
                    good += 1
                    n = r.n_tokens
                    if n:
                        if not ntok:
                            ntok = self.n_tokens = _filled(self.capacity, 0)
                        ntok[k] = n
                    if use_tokens:
                        self._check_tokens_locked(i, k, n)
                    if self._any_logged and (self._log_all or self._log_mask[k]):
                        logged.append((i, bytes(r.data), n))
                else:
                    self._bad_id(i, k)
            if logged:
                self._log_payloads_locked(logged, first)
            self.completed += good
            wake = self.waiter and self.completed >= self.issued
        if wake:
            self.idle.set()

    def first_token(self, responses: Sequence[QuerySampleResponse]) -> None:
        """Mark the first token of samples (TTFT); the payload is kept for logged samples."""
        now = self._now()
        with self._lock:
            ft = self.first_token_ns
            if not ft and self.capacity:
                ft = self.first_token_ns = _filled(self.capacity, -1)
            comp = self.completed_ns
            first = self.first_id
            issued = self.issued if self.active else 0
            for r in responses:
                i = r.id
                k = i - first
                if not 0 <= k < issued:
                    self._bad_id(i, -1)
                    continue
                if comp[k] >= 0:
                    self.token_errors += 1
                    self._error("token", f"first token of sample id {i} reported after completion")
                    continue
                if ft[k] >= 0:
                    self.token_errors += 1
                    self._error("token", f"first token of sample id {i} reported twice")
                    continue
                ft[k] = now
                if self._any_logged and (self._log_all or self._log_mask[k]):
                    self._token_data[k] = bytes(r.data)

    # ------------------------------------------------------------------ helpers (lock held)
    def _check_tokens_locked(self, sample_id: int, k: int, n_tokens: int) -> None:
        problem = ""
        if n_tokens == 0:
            problem = "n_tokens argument missing or 0 in the response"
        elif n_tokens < 0:
            problem = f"negative n_tokens ({n_tokens})"
        elif n_tokens == 1:
            problem = "Number of tokens need to be greater than 1"
        elif self.check_first_token and self.first_token_ns[k] < 0:
            problem = "completed before its first token was reported"
        if problem:
            self.token_errors += 1
            self._error("token", f"sample id {sample_id}: {problem}")

    def _log_payloads_locked(self, items: list[tuple[int, bytes, int]], first: int) -> None:
        writer = self._accuracy
        if writer is None:
            return
        log_all = self._log_all
        mask = self._log_mask
        index = self.sample_index
        use_tokens = self.use_tokens
        tokens = self._token_data
        for i, data, n in items:
            k = i - first
            if not 0 <= k < self.capacity or not (log_all or mask[k]):
                continue
            token_data = tokens.pop(k, None) if self.check_first_token and use_tokens else None
            writer(i, int(index[k]), data, token_data, n if use_tokens else None)


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
