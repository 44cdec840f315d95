"""The response recorder: the thread-safe sink a SUT answers into (``sut.bind(sink)``).

One recorder serves a whole ``run_test`` call; the engine points it at each pass's storage.
Completions are ``completed_ns[id - first_id] = now`` into preallocated ``array('q')`` columns
under one lock; big batches (an Offline answer) take a vectorised NumPy path. Answers for ids
never issued, second answers and late answers are counted and logged (the first
:data:`MAX_LOGGED_PER_KIND` of each kind one by one), never fatal; ``fail(ids, reason)`` lets a
SUT give up on samples so the run ends INVALID instead of waiting for them.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlpace.loadgen.raw import LogEvent
from mlpace.loadgen.sut import QuerySampleResponse

# How many individual error lines of each kind the sink writes before it only counts them (a SUT
# that answers a million unknown ids must not turn the detail log into a million lines).
MAX_LOGGED_PER_KIND = 20

# complete_ids batches at least this long take the vectorised path (NumPy's fixed cost is a few
# microseconds; a Python loop costs ~0.1 µs per id).
VECTOR_MIN_IDS = 256

# ``completed_ns`` value of a sample the SUT reported as failed (:meth:`ResponseRecorder.fail`):
# answered, so nobody waits for it, but never completed; turned back into -1 at the end of the pass.
FAILED = -2

ErrorLogger = Callable[[str, str], None]
AccuracyWriter = Callable[[int, int, bytes, "bytes | None", "int | None"], None]


def filled(n: int, value: int) -> array[int]:
    """An ``array('q')`` of ``n`` copies of ``value``."""
    return array("q", [value]) * n


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
        self.failed_samples = 0
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
            self.completed_ns = filled(n, -1)
            # Token columns only when tokens are recorded; otherwise allocated on first use
            # (a SUT reporting tokens anyway), so a plain run keeps 8 bytes per sample here.
            self.first_token_ns = filled(n, -1) if use_tokens else array("q")
            self.n_tokens = filled(n, 0) if use_tokens else array("q")
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
            if self.failed_samples and self.capacity:
                done = np.frombuffer(self.completed_ns, dtype=np.int64)
                done[done == FAILED] = -1  # failed samples are "never completed" in the record
                del done

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
                if 0 <= k < issued and comp[k] == -1:
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
            fresh = view[k] == -1
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
                if 0 <= k < issued and comp[k] == -1:
                    comp[k] = now
                    good += 1
                    n = r.n_tokens
                    if n:
                        if not ntok:
                            ntok = self.n_tokens = filled(self.capacity, 0)
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
                ft = self.first_token_ns = filled(self.capacity, -1)
            comp = self.completed_ns
            first = self.first_id
            issued = self.issued if self.active else 0
            for r in responses:
                i = r.id
                k = i - first
                if not 0 <= k < issued:
                    self._bad_id(i, -1)
                    continue
                if comp[k] != -1:
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

    def fail(self, ids: Sequence[int], reason: str) -> None:
        """The SUT gives up on samples (a lost request, a server error): each is counted and
        logged as an error, counts as answered (nobody waits for it) but never as completed, so
        the pass ends INVALID (``all_samples_completed``). A later answer for it is a duplicate."""
        with self._lock:
            comp = self.completed_ns
            first = self.first_id
            issued = self.issued if self.active else 0
            good = 0
            for i in ids:
                k = i - first
                if 0 <= k < issued and comp[k] == -1:
                    comp[k] = FAILED
                    good += 1
                    self.failed_samples += 1
                    self._error("failed", f"sample id {i} failed: {reason}")
                else:
                    self._bad_id(i, k)
            self.completed += good
            wake = self.waiter and self.completed >= self.issued
        if wake:
            self.idle.set()

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


__all__ = ["FAILED", "ResponseRecorder", "filled"]
