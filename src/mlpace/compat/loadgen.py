"""A drop-in replacement for the official ``mlperf_loadgen`` Python binding.

``import mlpace.compat.loadgen as lg`` and a harness written for the official binding runs on
mlpace unchanged: the same function names and signatures, the same value types and enums, the
same log files. What differs, on purpose:

* ``StartTest`` runs the test in the calling thread (the official one blocks too, but in C++ with
  the GIL released). Callbacks run on mlpace's issuing thread, as they do in the official tool.
* Sample ids are the engine's small integers (the issue sequence number), not opaque pointers;
  they can be 0, so ``if sample.id:`` is not a test for "has an id".
* ``QuerySampleResponse.data`` may be a memory address (with ``size``, as in the official
  binding) *or* a buffer: ``bytes``, ``bytearray``, ``memoryview`` or a NumPy array. The bytes
  are copied before ``QuerySamplesComplete`` returns, so the buffer may be reused at once.
* ``QuerySampleResponse`` pickles *and* unpickles (the official one cannot be unpickled).
* ``TestSettings.token_latency_scaling_factor`` defaults to 1 (uninitialised in the official).
* ``server_num_issue_query_threads > 0`` is accepted and ignored with a warning (the official
  waits for issue threads Python cannot register, then hangs).
* ``FromConfig`` loads the built-in mlperf.conf on the first ``conf_type=1`` call *on each
  TestSettings object*. The official keeps one process-wide counter, so a second TestSettings
  object silently misses the mlperf.conf seeds; ours does not. A second ``conf_type=1`` call on
  the *same* object still behaves like the official: mlperf.conf is not re-applied and the next
  test's detail log records ``error_invalid_config`` "Multiple conf files are used".
* ``sample_timeout_ms`` (an mlpace extension, default 0: wait as long as it takes, like the
  official) ends a test whose SUT stopped answering, when set, instead of waiting forever.
* An ``audit.config`` (``audit_config_filename``) found in the current directory is applied, as
  the official does, but it is announced on stderr as well as in the detail log.
* ``use_clock(clock)`` (an mlpace extension, not in ``__all__``) runs the tests that follow on
  another clock, e.g. a :class:`mlpace.clock.VirtualClock` whose timers a simulated harness
  completes its samples with; ``use_clock(None)`` restores the real clock.
* SIGINT, SIGTERM or SIGHUP during ``StartTest`` end the test cleanly: issuing stops, every log
  file is finished (the summary INVALID with the reason). Then the signal is delivered again
  with the harness's own disposition, so the process still ends as it would have (exit 143 for
  SIGTERM) or the harness's handler runs; Ctrl-C raises KeyboardInterrupt from ``StartTest``.
* The LoadGen's errors (duplicate or unknown completions, a stalled SUT) are printed on stderr
  at the end of the test, not only counted in the summary.
"""

from __future__ import annotations

import errno
import functools
import itertools
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace as _dc_replace
from pathlib import Path
from typing import Any

from mlpace.compat._types import (
    LoggingMode,
    QuerySample,
    QuerySampleResponse,
    TestMode,
    TestScenario,
    VectorQuerySample,
    VectorQuerySampleResponse,
    _payload,
    _to_logging_mode,
)
from mlpace.compat._values import (
    _CORE_DEFAULTS,
    _CORE_FIELDS,
    _FLOAT_FIELDS,
    _INT_IN_CORE,
    _MULTIPLE_CONF_MESSAGE,
    _as_bool,
    _as_integer,
    _as_text,
    _coerce,
)
from mlpace.errors import ConfigError, SettingsError
from mlpace.loadgen import enums as _enums
from mlpace.loadgen import log_settings as _core_log
from mlpace.loadgen import settings as _core_settings
from mlpace.loadgen import sut as _core_sut

__all__ = [
    "ConstructFastSUT",
    "ConstructQDL",
    "ConstructQSL",
    "ConstructSUT",
    "DestroyFastSUT",
    "DestroyQDL",
    "DestroyQSL",
    "DestroySUT",
    "FirstTokenComplete",
    "LogOutputSettings",
    "LogSettings",
    "LoggingMode",
    "QuerySample",
    "QuerySampleResponse",
    "QuerySamplesComplete",
    "StartTest",
    "StartTestWithLogSettings",
    "TestMode",
    "TestScenario",
    "TestSettings",
    "VectorQuerySample",
    "VectorQuerySampleResponse",
]


class TestSettings:
    """The official ``TestSettings``: mutable, every official field with its default.

    ``to_core()`` gives mlpace's frozen :class:`mlpace.loadgen.settings.TestSettings`.
    """

    __test__ = False
    __slots__ = (*_CORE_FIELDS, "_mlperf_conf_loaded", "_conf_events")
    _mlperf_conf_loaded: bool
    _conf_events: list[str]

    def __init__(self) -> None:
        for name in _CORE_FIELDS:
            object.__setattr__(self, name, _official_default(name))
        object.__setattr__(self, "_mlperf_conf_loaded", False)
        object.__setattr__(self, "_conf_events", [])

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _CORE_FIELDS:
            raise AttributeError(f"'TestSettings' object has no attribute {name!r}")
        object.__setattr__(self, name, _coerce(name, value))

    def __repr__(self) -> str:
        changed = [
            f"{n}={getattr(self, n)!r}"
            for n in _CORE_FIELDS
            if getattr(self, n) != _official_default(n)
        ]
        return f"TestSettings({', '.join(changed)})"

    def __getstate__(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in (*_CORE_FIELDS, "_mlperf_conf_loaded")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        for name, value in state.items():
            object.__setattr__(self, name, value)

    # -- conversion ---------------------------------------------------------------------------
    def to_core(self) -> _core_settings.TestSettings:
        """The frozen mlpace settings these stand for."""
        kwargs: dict[str, Any] = {}
        for name in _CORE_FIELDS:
            value = getattr(self, name)
            if name == "scenario":
                value = _enums.TestScenario[value.name]
            elif name == "mode":
                value = _enums.TestMode[value.name]
            elif name in _INT_IN_CORE:
                value = round(value)
            kwargs[name] = value
        return _core_settings.TestSettings(**kwargs)

    def _load_core(self, core: _core_settings.TestSettings) -> None:
        for name in _CORE_FIELDS:
            value = getattr(core, name)
            if name in _INT_IN_CORE or name in _FLOAT_FIELDS:
                value = float(value)
            object.__setattr__(self, name, _coerce(name, value))

    # -- FromConfig ----------------------------------------------------------------------------
    def FromConfig(  # noqa: N802 - official name
        self, path: str, model: str, scenario: str, conf_type: int = 1
    ) -> int:
        """Apply a config file for ``model`` and ``scenario``: 0, ``-ENOENT`` or ``-EINVAL``.

        ``conf_type`` 1 (user.conf) first applies the built-in mlperf.conf, once per object;
        0 reads ``path`` as an mlperf.conf (seed keys allowed); 2 as an audit.config. On a parse
        error nothing from that file is applied, as in the official tool.
        """
        from mlpace.loadgen import config

        try:
            kind = config.ConfType(conf_type)
        except ValueError:
            msg = f"FromConfig: conf_type must be 0, 1 or 2, not {conf_type!r}"
            warnings.warn(msg, stacklevel=2)
            return -errno.EINVAL
        if kind is config.ConfType.USER:
            if not self._mlperf_conf_loaded:
                try:
                    core, notes = config.apply_config(
                        self.to_core(), _builtin_mlperf_conf(), model=model, scenario=scenario
                    )
                except (ConfigError, SettingsError) as exc:
                    warnings.warn(f"FromConfig: built-in mlperf.conf: {exc}", stacklevel=2)
                    return -errno.EINVAL
                _warn_all(notes)
                self._load_core(core)
                object.__setattr__(self, "_mlperf_conf_loaded", True)
            else:
                self._conf_events.append(_MULTIPLE_CONF_MESSAGE)
                warnings.warn(
                    "TestSettings.FromConfig(conf_type=1) called again on the same settings: "
                    + _MULTIPLE_CONF_MESSAGE,
                    stacklevel=2,
                )
        if not Path(path).is_file():
            return -errno.ENOENT
        try:
            parsed = config.read_config(path, kind)
            if kind is config.ConfType.AUDIT:
                # The official FromConfig looks an audit file up with the model it is given (only
                # StartTest's own audit.config pass uses model "*"): keep the audit key rules
                # checked at parse time, but look lines up as for a user.conf.
                parsed = config.ConfigFile(parsed.path, config.ConfType.USER, parsed.entries)
            core, notes = config.apply_config(
                self.to_core(), parsed, model=model, scenario=scenario
            )
        except (ConfigError, SettingsError) as exc:
            # Stricter than the official reader: lines it silently ignores (unknown keys,
            # ``a.b.c=5``) are errors here too. Nothing from the file is applied.
            warnings.warn(f"FromConfig: {exc} (nothing from this file was applied)", stacklevel=2)
            return -errno.EINVAL
        _warn_all(notes)
        self._load_core(core)
        return 0


@functools.lru_cache(maxsize=1)
def _builtin_mlperf_conf() -> Any:
    from mlpace.loadgen import config

    return config.parse_config(
        config.builtin_mlperf_conf_text(),
        path="<built-in mlperf.conf>",
        conf_type=config.ConfType.MLPERF,
    )


def _warn_all(notes: Iterable[str]) -> None:
    for note in notes:
        warnings.warn(f"FromConfig: {note}", stacklevel=3)


_OFFICIAL_DEFAULT_OVERRIDES: dict[str, Any] = {
    "scenario": TestScenario.SingleStream,
    "mode": TestMode.PerformanceOnly,
}


def _official_default(name: str) -> Any:
    if name in _OFFICIAL_DEFAULT_OVERRIDES:
        return _OFFICIAL_DEFAULT_OVERRIDES[name]
    value = getattr(_CORE_DEFAULTS, name)
    if name in _FLOAT_FIELDS:
        return float(value)
    return value


class LogOutputSettings:
    """Where the four log files go: ``outdir/prefix[<datetime>_]<kind>suffix.<ext>``."""

    __slots__ = (
        "outdir",
        "prefix",
        "suffix",
        "prefix_with_datetime",
        "copy_detail_to_stdout",
        "copy_summary_to_stdout",
    )

    _BOOLS = frozenset({"prefix_with_datetime", "copy_detail_to_stdout", "copy_summary_to_stdout"})

    def __init__(self) -> None:
        self.outdir = "."
        self.prefix = "mlperf_log_"
        self.suffix = ""
        self.prefix_with_datetime = False
        self.copy_detail_to_stdout = False
        self.copy_summary_to_stdout = False

    def __setattr__(self, name: str, value: Any) -> None:
        label = f"LogOutputSettings.{name}"
        if name in self._BOOLS:
            value = _as_bool(label, value)
        elif name in ("outdir", "prefix", "suffix"):
            value = _as_text(label, value)
        object.__setattr__(self, name, value)

    def to_core(self) -> _core_log.LogOutputSettings:
        return _core_log.LogOutputSettings(
            outdir=str(self.outdir),
            prefix=str(self.prefix),
            suffix=str(self.suffix),
            prefix_with_datetime=bool(self.prefix_with_datetime),
            copy_detail_to_stdout=bool(self.copy_detail_to_stdout),
            copy_summary_to_stdout=bool(self.copy_summary_to_stdout),
        )


class LogSettings:
    """``log_output``, ``log_mode``, ``log_mode_async_poll_interval_ms``, ``enable_trace``.

    ``log_mode`` and the poll interval are accepted and have no effect (as in the official tool,
    where only AsyncPoll is implemented).
    """

    __slots__ = ("log_output", "_log_mode", "log_mode_async_poll_interval_ms", "enable_trace")

    def __init__(self) -> None:
        self.log_output = LogOutputSettings()
        self._log_mode = LoggingMode.AsyncPoll
        self.log_mode_async_poll_interval_ms = 1000
        self.enable_trace = True

    @property
    def log_mode(self) -> LoggingMode:
        return self._log_mode

    @log_mode.setter
    def log_mode(self, value: Any) -> None:
        object.__setattr__(self, "_log_mode", _to_logging_mode(value))

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "enable_trace":
            value = _as_bool("LogSettings.enable_trace", value)
        elif name == "log_mode_async_poll_interval_ms":
            value = _as_integer(name, value, owner="LogSettings")
        elif name == "log_output" and not isinstance(value, LogOutputSettings):
            raise TypeError(f"LogSettings.log_output must be a LogOutputSettings, not {value!r}")
        object.__setattr__(self, name, value)

    def to_core(self) -> _core_log.LogSettings:
        return _core_log.LogSettings(
            log_output=self.log_output.to_core(), enable_trace=bool(self.enable_trace)
        )


# --------------------------------------------------------------------------------------------
# SUT, QSL and QDL handles
# --------------------------------------------------------------------------------------------

_handles: dict[int, object] = {}
_handle_counter = itertools.count(0x1000, 0x10)
_handles_lock = threading.Lock()


def _new_handle(obj: object) -> int:
    with _handles_lock:
        handle = next(_handle_counter)
        _handles[handle] = obj
    return handle


def _destroy(handle: int, kind: type) -> None:
    with _handles_lock:
        obj = _handles.get(handle)
        if isinstance(obj, kind):
            del _handles[handle]


def _resolve(handle: Any, what: str) -> Any:
    if isinstance(handle, (_PySUT, _PyFastSUT, _PyQSL)):
        return handle
    obj = _handles.get(handle) if isinstance(handle, int) else None
    if obj is None:
        raise ValueError(f"{what} handle {handle!r} is not a live handle from Construct*()")
    return obj


class _BoundSUT:
    """What the facade's SUT adapters share: the response sink the engine binds."""

    _name = "PySUT"

    @property
    def name(self) -> str:
        return self._name

    def bind(self, sink: Any) -> None:
        _bind_active(sink)

    def flush_queries(self) -> None:
        self._flush_cb()

    _flush_cb: Callable[[], Any]


class _PySUT(_BoundSUT):
    _name = "PySUT"

    def __init__(self, issue_cb: Callable[[Any], Any], flush_cb: Callable[[], Any]) -> None:
        self._issue_cb = issue_cb
        self._flush_cb = flush_cb

    def issue_queries(self, samples: Sequence[Any]) -> None:
        # The official binding hands the callback a Python list of QuerySample.
        self._issue_cb([QuerySample(s.id, s.index) for s in samples])

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        """The engine's fast path: build the facade's (cheap) QuerySample objects ourselves."""
        self._issue_cb(list(map(QuerySample, ids, indices)))


class _PyQDL(_PySUT):
    def __init__(
        self,
        issue_cb: Callable[[Any], Any],
        flush_cb: Callable[[], Any],
        name_cb: Callable[[], str],
    ) -> None:
        super().__init__(issue_cb, flush_cb)
        self._name_cb = name_cb

    @property
    def name(self) -> str:
        return str(self._name_cb())


class _PyFastSUT(_BoundSUT):
    _name = "PyFastSUT"

    def __init__(
        self, fast_issue_cb: Callable[[list[int], list[int]], Any], flush_cb: Callable[[], Any]
    ) -> None:
        self._fast_issue_cb = fast_issue_cb
        self._flush_cb = flush_cb

    def issue_queries(self, samples: Sequence[Any]) -> None:
        self._fast_issue_cb([s.id for s in samples], [s.index for s in samples])

    def issue_query_ids(self, ids: Sequence[int], indices: Sequence[int]) -> None:
        """Engine fast path: ids and indices without QuerySample objects."""
        self._fast_issue_cb(
            ids if type(ids) is list else list(ids),
            indices if type(indices) is list else list(indices),
        )


class _PyQSL:
    name = "PyQSL"

    def __init__(
        self,
        total_sample_count: int,
        performance_sample_count: int,
        load_cb: Callable[[list[int]], Any],
        unload_cb: Callable[[list[int]], Any],
    ) -> None:
        self.total_sample_count = int(total_sample_count)
        self.performance_sample_count = int(performance_sample_count)
        self._load_cb = load_cb
        self._unload_cb = unload_cb

    def load_samples(self, indices: Sequence[int]) -> None:
        self._load_cb([int(i) for i in indices])

    def unload_samples(self, indices: Sequence[int]) -> None:
        self._unload_cb([int(i) for i in indices])


def ConstructSUT(  # noqa: N802
    issue_cb: Callable[[list[QuerySample]], Any], flush_cb: Callable[[], Any]
) -> int:
    """A SUT named "PySUT" whose ``issue_cb`` gets a list of QuerySample."""
    return _new_handle(_PySUT(issue_cb, flush_cb))


def DestroySUT(sut: int) -> None:  # noqa: N802
    _destroy(sut, _PySUT)


def ConstructFastSUT(  # noqa: N802
    fast_issue_cb: Callable[[list[int], list[int]], Any], flush_cb: Callable[[], Any]
) -> int:
    """A SUT named "PyFastSUT" whose callback gets two parallel lists: ids and indices."""
    return _new_handle(_PyFastSUT(fast_issue_cb, flush_cb))


def DestroyFastSUT(sut: int) -> None:  # noqa: N802
    _destroy(sut, _PyFastSUT)


def ConstructQSL(  # noqa: N802
    total_sample_count: int,
    performance_sample_count: int,
    load_samples_to_ram: Callable[[list[int]], Any],
    unload_samples_from_ram: Callable[[list[int]], Any],
) -> int:
    """A QSL named "PyQSL"."""
    return _new_handle(
        _PyQSL(
            total_sample_count,
            performance_sample_count,
            load_samples_to_ram,
            unload_samples_from_ram,
        )
    )


def DestroyQSL(qsl: int) -> None:  # noqa: N802
    _destroy(qsl, _PyQSL)


def ConstructQDL(  # noqa: N802
    issue_cb: Callable[[list[QuerySample]], Any],
    flush_cb: Callable[[], Any],
    name_cb: Callable[[], str],
) -> int:
    """A query dispatch library (network division): a SUT whose name comes from ``name_cb``."""
    return _new_handle(_PyQDL(issue_cb, flush_cb, name_cb))


def DestroyQDL(qdl: int) -> None:  # noqa: N802
    _destroy(qdl, _PyQDL)


# --------------------------------------------------------------------------------------------
# The running test and the completion functions
# --------------------------------------------------------------------------------------------


class _Active:
    """The sink of the test now running (one per StartTest; its passes share it)."""

    __slots__ = ("sink", "complete", "complete_ids", "first_token", "logs_payload", "_flag")

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.complete = sink.complete
        self.complete_ids = getattr(sink, "complete_ids", None)
        self.first_token = sink.first_token
        # ``logs_payload(id) -> bool`` tells which samples' bytes are logged; without it every
        # payload is copied (correct, only slower).
        self.logs_payload: Callable[[int], bool] | None = getattr(sink, "logs_payload", None)
        self._flag = "any_logged" if hasattr(sink, "any_logged") else "_any_logged"

    def nothing_to_copy(self) -> bool:
        """True while the current pass logs no payload and records no tokens (the usual
        performance pass): completions can then go through the id-only fast path."""
        sink = self.sink
        # Both flags change per pass, so they are read at each call (a sink without the public
        # ``any_logged`` falls back to ``_any_logged``).
        return not getattr(sink, self._flag, True) and not sink.use_tokens


_active: _Active | None = None
_active_lock = threading.Lock()
_running = False
_late_calls = 0


def _bind_active(sink: Any) -> None:
    global _active
    _active = _Active(sink)


def QuerySamplesComplete(  # noqa: N802
    responses: Sequence[QuerySampleResponse],
    response_cb: Callable[[QuerySampleResponse], Any] | None = None,
) -> None:
    """Mark samples done; any thread may call it, with responses from any issue call.

    ``response_cb(response)`` runs for each response whose payload gets logged, before the bytes
    are copied. The bytes are copied before this returns.
    """
    active = _active
    if active is None:
        global _late_calls
        _late_calls += 1
        return
    complete_ids = active.complete_ids
    if complete_ids is not None and active.nothing_to_copy():
        complete_ids([r.id for r in responses])
        return
    logs = active.logs_payload
    make = _core_sut.QuerySampleResponse
    out = []
    for r in responses:
        if logs is None or logs(r.id):
            if response_cb is not None:
                response_cb(r)
            out.append(make(r.id, _payload(r), r.n_tokens))
        else:
            out.append(make(r.id, b"", r.n_tokens))
    active.complete(out)


def FirstTokenComplete(  # noqa: N802
    responses: Sequence[QuerySampleResponse],
    response_cb: Callable[[QuerySampleResponse], Any] | None = None,
) -> None:
    """Mark the first token of samples (TTFT); ``response_cb`` is never called, as officially."""
    active = _active
    if active is None:
        return
    logs = active.logs_payload
    make = _core_sut.QuerySampleResponse
    active.first_token(
        [
            make(r.id, _payload(r) if logs is None or logs(r.id) else b"", r.n_tokens)
            for r in responses
        ]
    )


_clock: Any = None


def use_clock(clock: Any) -> None:
    """mlpace extension: run the following tests on ``clock`` (None: the real clock)."""
    global _clock
    _clock = clock


def StartTest(  # noqa: N802
    sut: int,
    qsl: int,
    test_settings: TestSettings,
    audit_config_filename: str = "audit.config",
) -> None:
    """Run the test with default log settings; returns when it is over."""
    StartTestWithLogSettings(sut, qsl, test_settings, LogSettings(), audit_config_filename)


def StartTestWithLogSettings(  # noqa: N802
    sut: int,
    qsl: int,
    test_settings: TestSettings,
    log_settings: LogSettings,
    audit_config_filename: str = "audit.config",
) -> None:
    """Run the test in this thread and write the official log files; returns when it is over."""
    global _active, _running

    sut_obj = _resolve(sut, "SUT")
    qsl_obj = _resolve(qsl, "QSL")
    if not isinstance(test_settings, TestSettings):
        raise TypeError("test_settings must be a mlpace.compat.loadgen.TestSettings")
    core = test_settings.to_core()
    if core.server_num_issue_query_threads > 0:
        msg = (
            "server_num_issue_query_threads > 0 is ignored: Python cannot register issue "
            "threads (the official binding would hang)"
        )
        warnings.warn(msg, stacklevel=2)
        core = _dc_replace(core, server_num_issue_query_threads=0)
    audit: Path | None = None
    if audit_config_filename:
        candidate = Path(audit_config_filename)
        if candidate.is_file():
            audit = candidate
            print(
                f"mlpace: WARNING: found audit config file {str(candidate)!r} in the current "
                "directory; its settings override TestSettings for this run (a compliance "
                "test). Remove it for a normal run.",
                file=sys.stderr,
                flush=True,
            )
    with _active_lock:
        if _running:
            raise RuntimeError("StartTest is already running a test in this process")
        _running = True
    outcome: Any = None
    stopped_by: int | None = None
    try:
        outcome, stopped_by = _run_stoppable(sut_obj, qsl_obj, core, log_settings, audit)
    finally:
        _active = None
        with _active_lock:
            _running = False
    _report_loadgen_errors(outcome)
    if stopped_by is not None:
        _redeliver(stopped_by)


def _run_stoppable(
    sut_obj: Any, qsl_obj: Any, core: Any, log_settings: LogSettings, audit: Path | None
) -> tuple[Any, int | None]:
    """run_test with SIGINT/SIGTERM/SIGHUP ending the test cleanly (every log complete).

    Returns the outcome (None if the test was stopped) and the signal that stopped it."""
    from mlpace.errors import RunInterrupted, StopRequested
    from mlpace.loadgen.engine import run_test
    from mlpace.signals import stop_on_signals

    outcome: Any = None
    stop = None
    try:
        with stop_on_signals() as stop:
            outcome = run_test(
                sut_obj, qsl_obj, core, log_settings.to_core(), audit_config=audit, clock=_clock
            )
    except RunInterrupted as exc:
        if stop is None or stop.received is None:
            raise  # a KeyboardInterrupt from the harness's own code, not one of our signals
        print(f"mlpace: {exc}", file=sys.stderr, flush=True)
    except StopRequested as exc:  # it arrived as the test ended: the logs are complete
        print(f"mlpace: {exc.reason}; the test had finished", file=sys.stderr, flush=True)
    return outcome, (stop.received if stop is not None else None)


def _report_loadgen_errors(outcome: Any) -> None:
    """The official LoadGen only counts errors in the summary; say them on stderr too."""
    if outcome is None:
        return
    from mlpace.explain import read_detail_log

    detail = outcome.log_paths.get("detail")
    if detail is None:
        return
    for line in read_detail_log(detail).error_lines("mlpace"):
        print(line, file=sys.stderr, flush=True)


def _redeliver(signum: int) -> None:
    """After a signal stopped the test and its logs were finished, let it do what it would have
    done without mlpace: the default action ends the process (exit 128 + N, e.g. 143 for
    SIGTERM), Python's SIGINT handler raises KeyboardInterrupt, a harness's own handler runs."""
    import signal as _signal

    sys.stdout.flush()
    sys.stderr.flush()
    _signal.raise_signal(_signal.Signals(signum))


def _iter_names() -> Iterable[str]:  # pragma: no cover - introspection helper
    return iter(__all__)
