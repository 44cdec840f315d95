"""Stop signals end a run the way Ctrl-C does, and never tear a log file.

``with stop_on_signals():`` installs handlers for SIGINT, SIGTERM and SIGHUP (what Ctrl-C,
``timeout``, ``kill``, ``docker stop``, Slurm and a closed terminal send) that raise
:class:`mlpace.errors.StopRequested` in the main thread, carrying the reason and the shell's exit
code (130, 143, 129). The engine already ends a pass cleanly on a ``KeyboardInterrupt``: it stops
issuing, gives outstanding samples a grace period and writes every log with the reason.

Where the exception lands matters. Raised while the main thread writes a log line, builds the
results or writes the summary and trace, it would leave a torn file. So the handler raises only
where the LoadGen expects it: outside a test, in a scenario's issue loop, or in a SUT or QSL
callback. Anywhere else inside the LoadGen (and inside :func:`critical` blocks) the stop waits and
is tried again every few milliseconds, at most :data:`MAX_DEFER_S` seconds.

A second signal while a stop is under way only says so; a third one quits at once
(``os._exit``), for a user who cannot wait for the logs to be finished.

Handlers can only be installed from the main thread; elsewhere the context manager does nothing.
A signal that is ignored when the block starts (``nohup`` ignores SIGHUP) stays ignored. The
previous handlers are restored on exit; a stop still waiting then is raised at the block's end.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from mlpace.errors import StopRequested

__all__ = [
    "MAX_DEFER_S",
    "STOP_SIGNALS",
    "StopSignals",
    "critical",
    "signal_exit_code",
    "signal_reason",
    "stop_on_signals",
]

# How often a deferred stop is tried again, and how long it may wait at most (a backstop: the
# LoadGen's own protected stretches, such as writing the trace, take well under a second).
RETRY_S = 0.02
MAX_DEFER_S = 5.0
# Signals received after which mlpace quits at once without finishing the logs.
FORCE_QUIT_AFTER = 3

_REASONS = {
    "SIGINT": "interrupted by SIGINT (Ctrl-C)",
    "SIGTERM": "stopped by SIGTERM",
    "SIGHUP": "stopped by SIGHUP (the terminal or session closed)",
}

STOP_SIGNALS: tuple[int, ...] = tuple(
    int(getattr(signal, name)) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def signal_reason(signum: int) -> str:
    """The reason text a run records when this signal stops it."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        return f"stopped by signal {signum}"
    return _REASONS.get(name, f"stopped by {name}")


def signal_exit_code(signum: int) -> int:
    """The shell convention: 128 + the signal number (SIGINT 130, SIGTERM 143, SIGHUP 129)."""
    return 128 + int(signum)


# ------------------------------------------------------------------ protected stretches
_critical_depth = 0


@contextmanager
def critical() -> Iterator[None]:
    """A stretch of main-thread code a stop signal must not cut (e.g. writing a small file).

    Inside it a stop waits (retried every few milliseconds) until the block ends. Entered from
    another thread it does nothing: signals only ever interrupt the main thread.
    """
    global _critical_depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _critical_depth += 1
    try:
        yield
    finally:
        _critical_depth -= 1


def _qualname(frame: FrameType) -> str:
    code = frame.f_code
    name = getattr(code, "co_qualname", None)  # Python 3.11+
    if isinstance(name, str):
        return name
    owner = frame.f_locals.get("self")
    return f"{type(owner).__name__}.{code.co_name}" if owner is not None else code.co_name


def _must_wait(frame: FrameType | None) -> bool:
    """True where raising now could tear a log: inside the LoadGen, except its issue loops and
    the SUT/QSL callbacks they call (the innermost LoadGen frame decides)."""
    if _critical_depth > 0:
        return True
    f = frame
    while f is not None:
        module = str(f.f_globals.get("__name__", ""))
        if module == "mlpace.loadgen" or module.startswith("mlpace.loadgen."):
            if module.startswith("mlpace.loadgen.scenarios."):
                # The response sink updates counters and writes the accuracy log under a lock;
                # the Server peak search between its probe passes is engine bookkeeping.
                name = _qualname(f)
                return name.startswith("ResponseRecorder") or name in ("find_peak", "probe")
            # In a SUT or QSL callback (the engine's ``_call``) the engine handles the stop.
            return not (module == "mlpace.loadgen.engine" and f.f_code.co_name == "_call")
        f = f.f_back
    return False


# ------------------------------------------------------------------ the handlers
@dataclass
class StopSignals:
    """What the handlers saw; ``received`` is the first stop signal (None: none yet)."""

    active: bool = False
    received: int | None = None
    count: int = 0
    raised: bool = False

    @property
    def reason(self) -> str:
        return signal_reason(self.received) if self.received is not None else ""

    @property
    def exit_code(self) -> int:
        return signal_exit_code(self.received) if self.received is not None else 0


class _Handler:
    """The installed handler of one :func:`stop_on_signals` block."""

    def __init__(self, state: StopSignals) -> None:
        self.state = state
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None
        self.retry_due = False
        self.deferred_since = 0.0

    def __call__(self, signum: int, frame: FrameType | None) -> Any:
        state = self.state
        with self.lock:
            retry = self.retry_due and signum == state.received
            self.retry_due = False
            if not state.active:
                return None
        if not retry:
            state.count += 1
            if state.received is None:
                state.received = signum
                self.deferred_since = time.monotonic()
            else:
                self._again(signum)
                return None
        if state.raised:
            return None
        waited = time.monotonic() - self.deferred_since
        if waited < MAX_DEFER_S and _must_wait(frame):
            self._retry_later(signum)
            return None
        state.raised = True
        raise StopRequested(signal_reason(signum), signal_exit_code(signum))

    def _again(self, signum: int) -> None:
        state = self.state
        code = state.exit_code
        if state.count >= FORCE_QUIT_AFTER:
            _say(
                f"mlpace: {signal.Signals(signum).name} again: quitting now; logs may be incomplete"
            )
            os._exit(code)
        _say(
            f"mlpace: {signal.Signals(signum).name}: already stopping ({state.reason}); finishing "
            f"the logs. Signal {FORCE_QUIT_AFTER - state.count} more time(s) to quit at once."
        )

    def _retry_later(self, signum: int) -> None:
        def fire() -> None:
            with self.lock:
                if not self.state.active:
                    return
                self.retry_due = True
                # Runs the handler in the main thread, as a real signal would.
                _thread.interrupt_main(signal.Signals(signum))

        timer = threading.Timer(RETRY_S, fire)
        timer.daemon = True
        self.timer = timer
        timer.start()

    def stop(self) -> None:
        with self.lock:
            self.state.active = False
            timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join()
        _let_pending_signals_run()


def _let_pending_signals_run() -> None:
    """A Python-level call: the interpreter runs handlers of signals tripped so far here, while
    ours are still installed (they see ``active`` false and do nothing)."""
    return None


def _say(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # stderr closed (a detached job)
        print(text, file=sys.stderr, flush=True)


@contextmanager
def stop_on_signals(signums: tuple[int, ...] = STOP_SIGNALS) -> Iterator[StopSignals]:
    """Install the stop handlers for the block (main thread only); see the module docstring."""
    state = StopSignals()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    handler = _Handler(state)
    previous: dict[int, Any] = {}
    try:
        for signum in signums:
            # A signal ignored on purpose stays ignored (``nohup`` ignores SIGHUP so a run survives
            # a closed terminal; a shell's background job ignores SIGINT).
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue
            previous[signum] = signal.signal(signum, handler)
    except (ValueError, OSError):  # an embedded interpreter that refuses handlers
        for signum, old in previous.items():
            signal.signal(signum, old)
        yield state
        return
    state.active = True
    try:
        yield state
    finally:
        handler.stop()
        for signum, old in previous.items():
            signal.signal(signum, old)
    if state.received is not None and not state.raised:
        # The stop was still waiting for a protected stretch to end when the block ended.
        state.raised = True
        raise StopRequested(state.reason, state.exit_code)
