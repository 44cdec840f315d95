"""Clocks: the real monotonic one, and a virtual one for tests and simulations.

The load generator never calls ``time`` directly; it asks an injected :class:`Clock`. With
:class:`VirtualClock` a ten-minute Server run takes milliseconds and every number is exact,
because simulated systems under test schedule their completions as timers on the same clock.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """What the load generator needs from time."""

    def now_ns(self) -> int:
        """Monotonic time in integer nanoseconds."""
        ...

    def sleep_until(self, t_ns: int) -> None:
        """Return at (or as soon as possible after) ``t_ns``."""
        ...

    def wait(self, event: threading.Event, timeout_ns: int | None = None) -> bool:
        """Block until ``event`` is set or the timeout passes; True if it was set."""
        ...


# MonotonicClock: sleep until SPIN_NS before a deadline, then spin, yielding (sleep(0)) while
# more than YIELD_NS remain. Measured at 50k QPS on a busy 2-core box: a pure 100 us spin gave
# issue-lag p99 46-91 us; a 30 us spin 0.24-2.5 ms; yielding (sleep(0) can take ~50 us to come
# back) 0.17-5 ms with a p50 of 4 us. So the default is the pure spin (YIELD_NS = SPIN_NS).
SPIN_NS = 100_000
YIELD_NS = SPIN_NS


class MonotonicClock:
    """The real clock: ``time.perf_counter_ns``, sleeping then spinning for the last stretch.

    ``spin_ns`` is how long before a deadline we stop sleeping and busy-wait, because the OS
    wake-up lag (tens of microseconds) would otherwise show up as issue lag. While more than
    ``yield_ns`` remain the spin yields the CPU (``sleep(0)``) each turn, so a process that spins
    nearly all the time (50k QPS) gives other runnable threads a turn instead of being
    preempted at a bad moment; the last ``yield_ns`` are a pure busy-wait.
    """

    def __init__(self, spin_ns: int = SPIN_NS, yield_ns: int = YIELD_NS) -> None:
        self.spin_ns = spin_ns
        self.yield_ns = yield_ns

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    def sleep_until(self, t_ns: int) -> None:
        remaining = t_ns - time.perf_counter_ns()
        if remaining > self.spin_ns:
            time.sleep((remaining - self.spin_ns) / 1e9)
        clock = time.perf_counter_ns
        yield_until = t_ns - self.yield_ns
        while clock() < yield_until:
            time.sleep(0)
        while clock() < t_ns:
            pass

    def wait(self, event: threading.Event, timeout_ns: int | None = None) -> bool:
        return event.wait(None if timeout_ns is None else timeout_ns / 1e9)


class VirtualClock:
    """Discrete-event time. ``sleep_until`` and ``wait`` run due timers instead of sleeping.

    Timers are callbacks scheduled with :meth:`call_at` (a simulated system under test uses them
    to complete samples after a modelled service time). They run in time order, ties in the order
    they were scheduled, on the thread that advances the clock.
    """

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self._timers: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now_ns(self) -> int:
        return self._now

    def call_at(self, t_ns: int, callback: Callable[[], None]) -> None:
        """Run ``callback`` when virtual time reaches ``t_ns`` (at once if it is past)."""
        heapq.heappush(self._timers, (max(t_ns, self._now), next(self._seq), callback))

    def call_later(self, delay_ns: int, callback: Callable[[], None]) -> None:
        self.call_at(self._now + delay_ns, callback)

    def advance_to(self, t_ns: int) -> None:
        """Run every timer due at or before ``t_ns``, then set the time to ``t_ns``."""
        while self._timers and self._timers[0][0] <= t_ns:
            when, _, callback = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            callback()
        self._now = max(self._now, t_ns)

    def sleep_until(self, t_ns: int) -> None:
        self.advance_to(t_ns)

    def wait(self, event: threading.Event, timeout_ns: int | None = None) -> bool:
        deadline = None if timeout_ns is None else self._now + timeout_ns
        while not event.is_set():
            if not self._timers:
                # Nothing left can set the event: jump to the deadline (a hang in real time).
                if deadline is not None:
                    self._now = max(self._now, deadline)
                return event.is_set()
            when = self._timers[0][0]
            if deadline is not None and when > deadline:
                self._now = deadline
                return False
            self.advance_to(when)
        return True

    @property
    def pending_timers(self) -> int:
        return len(self._timers)
