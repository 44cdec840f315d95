"""The issuing engine: ``run_test`` walks pre-generated schedules against a clock and a SUT.

How the SUT answers
-------------------
The engine creates one thread-safe response sink per ``run_test`` call (a
:class:`~mlpace.loadgen._recorder.ResponseRecorder`) and, if the SUT has a ``bind(sink)``
method, calls it before the first pass. The sink offers:

* ``complete(responses)``: a sequence of :class:`QuerySampleResponse`; the bytes of logged
  samples are copied before it returns, so the caller may reuse its buffers;
* ``first_token(responses)``: first-token times (TTFT) for token-latency runs;
* ``complete_ids(ids)``: the fast path, a sequence (or NumPy array) of sample ids, no payload;
* ``logs_payload(id) -> bool``: whether that sample's bytes would be logged (lets a facade skip
  copying payloads nobody keeps).

Sample ids are small integers (the issue sequence number, counting on across the passes of one
call). If the SUT has ``issue_query_ids(ids, indices)`` the engine calls it with two plain lists
instead of building :class:`QuerySample` objects.

Misbehaving SUTs
----------------
* An answer for an id that was never issued (or after its pass ended) and a second answer for a
  sample are counted (``RawRun.unknown_id_responses`` / ``duplicate_responses``), logged as
  ``error_runtime`` (the first 20 of each kind one by one) and otherwise ignored.
* If ``issue_queries``, ``flush_queries`` or a QSL callback raises, issuing stops, the error is
  logged as ``error_runtime``, outstanding samples get a short grace period, the pass is marked
  INVALID (``RawRun.interrupted``) and the logs are finished and closed; then ``run_test`` raises
  :class:`SutCallbackError` (chained to the original exception).
* If ``sample_timeout_ms`` is set (off by default: a slow SUT is legitimate) and no sample
  completes for that long while some are outstanding, the engine stops waiting, logs the
  missing ids, finishes the logs and raises :class:`SutTimeoutError`. On a virtual clock the
  same happens as soon as no timer is left that could complete a sample.
* Ctrl-C (``KeyboardInterrupt``) stops issuing, waits briefly for outstanding samples, writes
  everything with the reason "interrupted by the user (Ctrl-C)" and raises
  :class:`RunInterrupted`.

In all three cases every log file is complete and readable before the exception leaves
``run_test``.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.clock import Clock, MonotonicClock
from mlpace.errors import (
    MlpaceError,
    RunInterrupted,
    SutCallbackError,
    SutTimeoutError,
    interrupt_reason,
)
from mlpace.loadgen._recorder import ResponseRecorder
from mlpace.loadgen.effective import EffectiveSettings, effective_settings
from mlpace.loadgen.enums import TestMode
from mlpace.loadgen.log_settings import LogSettings
from mlpace.loadgen.logs import LogSession
from mlpace.loadgen.observer import LivePassView, RunObserver
from mlpace.loadgen.raw import LogEvent, RawRun
from mlpace.loadgen.results import RunResult, compute_result
from mlpace.loadgen.scenarios import scenario_for
from mlpace.loadgen.scenarios.base import IssueContext, SutRaised, prepare
from mlpace.loadgen.schedule import accuracy_log_mask, loadable_sets, make_schedule
from mlpace.loadgen.settings import TestSettings

INTERRUPT_REASON = "interrupted by the user (Ctrl-C)"
# After an error or Ctrl-C, how long outstanding samples get to finish before the logs are
# written anyway.
GRACE_NS = 1_000_000_000
# A short GIL switch interval while issuing (restored afterwards): when the issuing thread spins
# for the last microseconds before an arrival and a SUT worker thread wants the interpreter, the
# worker gets it within this long (not the default 5 ms), and an issue waits no longer for a
# worker that holds it. Shorter costs more than it gives: at 5 µs the forced switches between a
# GIL-holding worker and the issuer tripled the CPU per query (benchmarks/, "levers").
HOT_SWITCH_INTERVAL_S = 50e-6
# The issuing thread's timer slack while it issues (Linux): the kernel may otherwise wake a
# sleeping thread up to 50 µs late, which the issuer would have to cover by spinning.
HOT_TIMER_SLACK_NS = 1_000


@dataclass(frozen=True)
class PassOutcome:
    """One accuracy or performance pass: the raw record, its result and its settings."""

    raw: RawRun
    result: RunResult
    effective: EffectiveSettings


@dataclass(frozen=True)
class TestOutcome:
    """What ``run_test`` returns when the run ended normally (VALID or INVALID)."""

    __test__ = False  # not a pytest test class

    effective: EffectiveSettings
    accuracy: PassOutcome | None
    performance: PassOutcome | None
    summary: str
    log_paths: Mapping[str, Path]
    # FindPeakPerformance: the highest target QPS that met the performance constraint, and every
    # probe as (target_qps, constraint met).
    peak_qps: float | None = None
    probes: tuple[tuple[float, bool], ...] = ()

    @property
    def valid(self) -> bool:
        """The performance pass is VALID (an accuracy-only run: it ended without errors)."""
        if self.performance is not None:
            return bool(self.performance.result.valid)
        return self.accuracy is not None and not self.accuracy.raw.interrupted


@dataclass
class _PassState:
    failure: MlpaceError | None = None
    interrupted: bool = False
    reason: str = ""
    events: list[LogEvent] = field(default_factory=list)


@contextmanager
def _hot_runtime() -> Iterator[None]:
    """No garbage collection and a short GIL switch interval while a pass issues."""
    gc_was_enabled = gc.isenabled()
    old_interval = sys.getswitchinterval()
    gc.freeze()
    gc.disable()
    sys.setswitchinterval(HOT_SWITCH_INTERVAL_S)
    old_slack = _set_timer_slack(HOT_TIMER_SLACK_NS)
    try:
        yield
    finally:
        if old_slack is not None:
            _set_timer_slack(old_slack)
        sys.setswitchinterval(old_interval)
        gc.unfreeze()
        if gc_was_enabled:
            gc.enable()


_PR_SET_TIMERSLACK = 29
_PR_GET_TIMERSLACK = 30


def _set_timer_slack(slack_ns: int) -> int | None:
    """Set this thread's timer slack (Linux ``prctl``); the old value, or None where unsupported."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        old = int(prctl(_PR_GET_TIMERSLACK, 0, 0, 0, 0))
        if old < 0 or prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(slack_ns), 0, 0, 0) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return old


def _apply_audit_config(settings: TestSettings, path: str | Path) -> tuple[TestSettings, list[str]]:
    """Apply an audit.config over ``settings`` (model ``*``, as the official LoadGen does)."""
    from mlpace.loadgen.config import ConfType, apply_config, read_config

    return apply_config(
        settings, read_config(path, ConfType.AUDIT), model="*", scenario=settings.scenario
    )


class _Engine:
    """One ``run_test`` call: the log session, the sink, and the passes."""

    def __init__(
        self,
        sut: Any,
        qsl: Any,
        clock: Clock,
        session: LogSession,
        requested: TestSettings,
        observer: RunObserver | None = None,
    ) -> None:
        self.observer = observer
        self.sut = sut
        self.qsl = qsl
        self.clock = clock
        self.session = session
        self.requested = requested
        self._log_lock = threading.Lock()
        self._state = _PassState()
        self.recorder = ResponseRecorder(clock.now_ns, self._sink_error)
        self.next_id = 0
        accuracy_log = session.accuracy
        self._accuracy_add: Callable[[int, int, bytes, bytes | None, int | None], None] = (
            lambda seq_id, qsl_idx, data, token_data, token_count: accuracy_log.add(
                seq_id, qsl_idx, data, token_data=token_data, token_count=token_count
            )
        )

    # ------------------------------------------------------------------ logging (thread-safe)
    def message(self, text: str) -> None:
        with self._log_lock:
            self.session.message(text)

    def event(self, key: str, value: object) -> None:
        with self._log_lock:
            self.session.event(key, value)

    def error(self, key: str, text: str) -> None:
        self._state.events.append(LogEvent(key, text, True, self.clock.now_ns()))
        with self._log_lock:
            self.session.error(key, text)

    def warning(self, text: str) -> None:
        self._state.events.append(
            LogEvent("warning_generic_message", text, False, self.clock.now_ns())
        )
        with self._log_lock:
            self.session.warning(text)

    def _sink_error(self, key: str, text: str) -> None:
        # The recorder keeps its own LogEvents; only write the line.
        with self._log_lock:
            self.session.error(key, text)

    def _call(self, where: str, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:
            raise SutRaised(where, exc) from exc

    # ------------------------------------------------------------------ one pass
    def run_pass(self, effective: EffectiveSettings, *, accuracy: bool) -> PassOutcome:
        state = self._state = _PassState()
        rec = self.recorder
        scenario = scenario_for(effective.scenario)
        sets = loadable_sets(effective, accuracy=accuracy)
        schedules = [make_schedule(effective, s, accuracy=accuracy) for s in sets]
        total_samples = sum(s.sample_count for s in schedules)
        total_queries = sum(s.query_count for s in schedules)
        if len(schedules) == 1:
            sample_index = schedules[0].sample_index
        elif schedules:
            sample_index = np.concatenate([s.sample_index for s in schedules])
        else:
            sample_index = np.zeros(0, dtype=np.int64)
        mask = b"" if accuracy else accuracy_log_mask(effective, total_samples).tobytes()
        use_tokens = bool(effective.use_token_latencies)
        rec.begin_pass(
            first_id=self.next_id,
            sample_index=sample_index,
            log_all=accuracy,
            log_mask=mask,
            accuracy=self._accuracy_add,
            use_tokens=use_tokens,
            check_first_token=use_tokens and effective.policy.measures_first_token,
        )
        ctx = IssueContext(
            clock=self.clock,
            sut=self.sut,
            recorder=rec,
            total_queries=total_queries,
            min_query_count=int(effective.min_query_count),
            target_duration_ns=effective.target_duration_ns,
            max_query_count=int(effective.max_query_count),
            max_duration_ns=effective.max_duration_ns,
            max_async_queries=int(effective.max_async_queries),
            coalesce=bool(effective.requested.server_coalesce_queries),
            sample_timeout_ns=effective.sample_timeout_ns,
            message=self.message,
            error=self.error,
        )
        ctx.sample_index = sample_index
        view = self._observe_start(effective, ctx, accuracy)
        prepared = [prepare(s) for s in schedules]
        self.message("Starting accuracy mode" if accuracy else "Starting performance mode")
        now = self.clock.now_ns
        pass_start: int | None = None
        start_wall_ns = 0
        first_query = 0
        first_position = 0
        loaded: list[int] = []
        loaded_all: list[int] = []
        try:
            with _hot_runtime():
                for sample_set, schedule in zip(sets, prepared):
                    loaded = sample_set.real.tolist()
                    self._call("load_samples", self.qsl.load_samples, loaded)
                    loaded_all.extend(loaded)
                    self.event("loaded_qsl_set", loaded)
                    generated = schedule.schedule
                    self.event("generated_query_count", generated.generated_query_count)
                    self.event("generated_samples_per_query", generated.generated_samples_per_query)
                    self.event("generated_query_duration", generated.generated_query_duration_ns)
                    start = now()
                    if pass_start is None:
                        pass_start = start
                        start_wall_ns = time.time_ns()
                        if view is not None:
                            view.start_ns = start
                    ctx.start_ns = start
                    scenario.issue_all(
                        ctx,
                        schedule,
                        first_query=first_query,
                        first_position=first_position,
                        accuracy=accuracy,
                    )
                    self._call("flush_queries", self.sut.flush_queries)
                    if not ctx.timed_out and not ctx.wait_all():
                        ctx.timed_out = True
                    if ctx.timed_out:
                        break
                    unload, loaded = loaded, []
                    self._call("unload_samples", self.qsl.unload_samples, unload)
                    first_query += schedule.query_count
                    first_position += generated.sample_count
        except SutRaised as exc:
            state.interrupted = True
            state.reason = str(exc)
            self.error("error_runtime", f"SUT error: {exc}")
            ctx.wait_briefly(GRACE_NS)
            failure = SutCallbackError(f"{exc} (the logs were written and the run is INVALID)")
            failure.__cause__ = exc.original
            state.failure = failure
        except KeyboardInterrupt as stop:
            reason, exit_code = interrupt_reason(stop)
            state.interrupted = True
            state.reason = reason
            self.error("error_runtime", f"Ending early: {reason}")
            ctx.wait_briefly(GRACE_NS)
            state.failure = RunInterrupted(
                f"{reason}; the logs written so far are complete", exit_code=exit_code
            )
        if ctx.timed_out:
            missing = rec.missing_ids()
            err = SutTimeoutError(
                f"{ctx.stall_reason or 'no sample completed'} "
                f"({len(missing)} of {rec.issued} issued samples outstanding)",
                missing_ids=missing,
            )
            self.error("error_runtime", str(err))
            state.interrupted = True
            state.reason = str(err)
            state.failure = err
        if loaded:  # still loaded after an early end: unload, best effort
            try:
                self.qsl.unload_samples(loaded)
            except Exception as exc:  # the run already failed; just record it
                self.error("error_runtime", f"unload_samples raised {type(exc).__name__}: {exc}")
        rec.end_pass()
        end_wall_ns = time.time_ns()
        if pass_start is None:
            pass_start = now()
            start_wall_ns = end_wall_ns
        raw = self._build_raw(
            effective, accuracy, ctx, sample_index, pass_start, start_wall_ns, end_wall_ns, state
        )
        raw = dataclasses.replace(raw, loaded_sample_indices=tuple(loaded_all))
        if view is not None:
            view.freeze()
        # The raw record owns the per-sample data now: free the pass's working storage before
        # the results stage allocates its sorted copies (this is the run's memory peak).
        ctx.release()
        rec.release()
        del ctx, schedules, prepared, sets
        schedule = generated = None  # type: ignore[assignment]
        self.next_id += raw.issued_sample_count
        with self._log_lock:
            self.session.end_pass(raw)  # contention counters, power_begin / power_end
        result = compute_result(raw, effective)
        if view is not None:
            self._observe_end(view, result)
        return PassOutcome(raw=raw, result=result, effective=effective)

    # ------------------------------------------------------------------ observer
    def _observe_start(
        self, effective: EffectiveSettings, ctx: IssueContext, accuracy: bool
    ) -> LivePassView | None:
        if self.observer is None:
            return None
        view = LivePassView(
            ctx=ctx,
            recorder=self.recorder,
            now_ns=self.clock.now_ns,
            scenario=effective.scenario,
            accuracy=accuracy,
            target_qps=float(effective.target_qps),
            min_duration_ns=effective.min_duration_ns,
            min_query_count=int(effective.min_query_count),
            target_latency_ns=int(effective.target_latency_ns),
            target_latency_percentile=float(effective.target_latency_percentile),
        )
        try:
            self.observer.pass_started(view)
        except Exception as exc:  # an observer must never stop the run
            self.warning(f"run observer failed at pass start ({type(exc).__name__}: {exc})")
            self.observer = None
            return None
        return view

    def _observe_end(self, view: LivePassView, result: RunResult) -> None:
        if self.observer is None:
            return
        try:
            self.observer.pass_ended(view, result)
        except Exception as exc:
            self.warning(f"run observer failed at pass end ({type(exc).__name__}: {exc})")

    def _build_raw(
        self,
        effective: EffectiveSettings,
        accuracy: bool,
        ctx: IssueContext,
        sample_index: np.ndarray[Any, np.dtype[np.int64]],
        pass_start: int,
        start_wall_ns: int,
        end_wall_ns: int,
        state: _PassState,
    ) -> RawRun:
        rec = self.recorder
        nq = ctx.queries_issued
        ns = rec.issued

        def col(values: Any, n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
            # Zero-copy: the NumPy view keeps the ``array('q')`` alive once the pass drops it.
            out: np.ndarray[Any, np.dtype[np.int64]] = np.frombuffer(values, dtype=np.int64)[:n]
            return out

        def rel(values: Any, n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
            if len(values) < n:  # never allocated: all -1, without storage
                return np.broadcast_to(np.int64(-1), (n,))
            out = col(values, n)
            np.subtract(out, pass_start, out=out, where=out >= 0)
            return out

        lengths = col(ctx.query_length, nq)
        q_sched = col(ctx.query_scheduled, nq)
        q_sched -= pass_start
        q_issued = col(ctx.query_issued, nq)
        q_issued -= pass_start
        if ns == nq and not (lengths != 1).any():
            # One sample per query (Server, SingleStream): the per-sample times are the
            # per-query ones, shared instead of copied.
            query_of_sample = np.arange(nq, dtype=np.int64)
            scheduled_ns, issued_ns = q_sched, q_issued
        else:
            query_of_sample = np.repeat(np.arange(nq, dtype=np.int64), lengths)[:ns]
            scheduled_ns, issued_ns = q_sched[query_of_sample], q_issued[query_of_sample]

        events = tuple(state.events) + tuple(rec.events)
        rec.events = []
        return RawRun(
            scenario=effective.scenario,
            mode=TestMode.AccuracyOnly if accuracy else TestMode.PerformanceOnly,
            sample_index=np.ascontiguousarray(sample_index[:ns]),
            query_of_sample=query_of_sample,
            scheduled_ns=scheduled_ns,
            issued_ns=issued_ns,
            completed_ns=rel(rec.completed_ns, ns),
            first_token_ns=rel(rec.first_token_ns, ns),
            n_tokens=(
                col(rec.n_tokens, ns)
                if len(rec.n_tokens) >= ns
                else np.broadcast_to(np.int64(0), (ns,))
            ),
            query_scheduled_ns=q_sched,
            query_issued_ns=q_issued,
            first_sample_id=rec.first_id,
            start_wall_ns=start_wall_ns,
            end_wall_ns=end_wall_ns,
            events=tuple(sorted(events, key=lambda e: e.time_ns)),
            interrupted=state.interrupted,
            interrupt_reason=state.reason,
            unknown_id_responses=rec.unknown_id_responses + rec.late_responses,
            duplicate_responses=rec.duplicate_responses,
        )

    @property
    def failure(self) -> MlpaceError | None:
        return self._state.failure


def _log_paths(session: LogSession, log_settings: LogSettings) -> dict[str, Path]:
    paths = getattr(session, "paths", None)
    if isinstance(paths, Mapping):
        return {str(k): Path(v) for k, v in paths.items()}
    kinds = ["summary", "detail", "accuracy"] + (["trace"] if log_settings.enable_trace else [])
    return {kind: log_settings.log_output.path(kind) for kind in kinds}


def run_test(
    sut: Any,
    qsl: Any,
    settings: TestSettings,
    log_settings: LogSettings = LogSettings(),  # noqa: B008 - frozen, so a shared default is safe
    *,
    clock: Clock | None = None,
    audit_config: str | Path | None = None,
    observer: RunObserver | None = None,
) -> TestOutcome:
    """Run one test (all passes its mode asks for) and write the four official log files.

    ``sut`` implements :class:`~mlpace.loadgen.sut.SystemUnderTest` (optionally ``bind(sink)``
    and ``issue_query_ids(ids, indices)``), ``qsl`` implements
    :class:`~mlpace.loadgen.sut.QuerySampleLibrary`. ``clock`` defaults to a
    :class:`MonotonicClock`; pass a :class:`~mlpace.clock.VirtualClock` to simulate. An
    ``audit_config`` file is applied on top of ``settings`` (a compliance run). ``observer``
    (:class:`~mlpace.loadgen.observer.RunObserver`) is told when each pass starts and ends and
    may read the running pass through its view, e.g. to show progress.

    Returns a :class:`TestOutcome` when the run ended normally, VALID or not. Raises
    :class:`SutCallbackError`, :class:`SutTimeoutError` or :class:`RunInterrupted` (after the
    logs are complete) when the SUT misbehaved or the user pressed Ctrl-C.
    """
    clock = MonotonicClock() if clock is None else clock
    requested = settings
    audit_notes: list[str] = []
    if audit_config is not None:
        requested, audit_warnings = _apply_audit_config(settings, audit_config)
        audit_notes = [
            f"Found Audit Config file ({Path(audit_config).name}). "
            "Overriding TestSettings from audit.config file.",
            *audit_warnings,
        ]
    total = int(qsl.total_sample_count)
    performance = int(qsl.performance_sample_count)
    effective = effective_settings(
        requested, total_sample_count=total, performance_sample_count=performance
    )
    session = LogSession(log_settings, now_ns=clock.now_ns, wall_ns=time.time_ns)
    engine: _Engine | None = None
    try:
        session.header(
            str(getattr(sut, "name", "SUT")), str(getattr(qsl, "name", "QSL")), total, performance
        )
        for note in audit_notes:
            session.warning(note)
        session.settings(requested, effective)
        engine = _Engine(sut, qsl, clock, session, requested, observer)
        bind = getattr(sut, "bind", None)
        if bind is not None:
            bind(engine.recorder)
        mode = effective.mode
        accuracy_pass: PassOutcome | None = None
        performance_pass: PassOutcome | None = None
        peak: float | None = None
        probes: tuple[tuple[float, bool], ...] = ()
        if mode in (TestMode.AccuracyOnly, TestMode.SubmissionRun):
            accuracy_pass = engine.run_pass(effective, accuracy=True)
        if engine.failure is None and mode != TestMode.AccuracyOnly:
            if mode == TestMode.FindPeakPerformance and effective.policy.supports_find_peak():
                performance_pass, peak, probes = effective.policy.find_peak(engine, effective)
            else:
                if mode == TestMode.FindPeakPerformance:
                    engine.error(
                        "error_invalid_test_settings",
                        "FindPeakPerformance is only defined for the Server scenario; "
                        "running a performance pass instead",
                    )
                performance_pass = engine.run_pass(effective, accuracy=False)
        final = performance_pass if performance_pass is not None else accuracy_pass
        assert final is not None
        summary = session.finish(
            final.raw, final.result, final.effective, sut_name=str(getattr(sut, "name", "SUT"))
        )
        outcome = TestOutcome(
            effective=final.effective,
            accuracy=accuracy_pass,
            performance=performance_pass,
            summary=summary,
            log_paths=_log_paths(session, log_settings),
            peak_qps=peak,
            probes=probes,
        )
    finally:
        session.close()
    failure = engine.failure
    if failure is not None:
        raise failure
    return outcome
