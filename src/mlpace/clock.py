"""Clocks: the real monotonic one, and a virtual one for tests and simulations.

The load generator never calls ``time`` directly; it asks an injected :class:`Clock`. With
:class:`VirtualClock` a ten-minute Server run takes milliseconds and every number is exact,
because simulated systems under test schedule their completions as timers on the same clock.
"""

from __future__ import annotations

import heapq
import itertools
import select
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


# MonotonicClock waits by sleeping (the GIL and the CPU are free for the system under test) and
# only spins for the stretch the OS is likely to oversleep: the margin follows the oversleep
# seen recently, between MIN_SPIN_NS and MAX_SPIN_NS. The spin releases the GIL on every turn
# (every ~2 µs), so a SUT thread waiting for the interpreter can take it then; one that is not
# scheduled in time still gets it after the switch interval, as with any Python thread.
MIN_SPIN_NS = 5_000
MAX_SPIN_NS = 100_000
# The margin moves 1/2**MARGIN_DECAY_SHIFT of the way down towards a smaller oversleep per wait
# (and jumps up at once to a bigger one), so one quick wake-up does not shrink it.
MARGIN_DECAY_SHIFT = 4


class MonotonicClock:
    """The real clock: ``time.perf_counter_ns``; waits sleep, then spin only for a short margin.

    ``sleep_until`` sleeps until ``margin`` before the deadline, then busy-waits the rest. The
    margin adapts to how late the OS wakes this thread up (a quiet machine with fine timer
    slack: a few microseconds; a loaded one: tens), within ``[min_spin_ns, max_spin_ns]``; set
    both equal for a fixed margin, or both to 0 to never spin (the official LoadGen's way: its
    issue lag then includes the OS wake-up lag).
    """

    def __init__(self, min_spin_ns: int = MIN_SPIN_NS, max_spin_ns: int = MAX_SPIN_NS) -> None:
        if not 0 <= min_spin_ns <= max_spin_ns:
            raise ValueError(
                f"need 0 <= min_spin_ns <= max_spin_ns, got {min_spin_ns}, {max_spin_ns}"
            )
        self.min_spin_ns = min_spin_ns
        self.max_spin_ns = max_spin_ns
        self.margin_ns = max_spin_ns // 2 if min_spin_ns < max_spin_ns else max_spin_ns
        self.spun_ns = 0  # total busy-wait time, for measurements (a core used)
        self.slept_ns = 0  # total time asleep in sleep_until

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    def sleep_until(self, t_ns: int) -> None:
        clock = time.perf_counter_ns
        margin = self.margin_ns
        wake_at = t_ns - margin
        now = clock()
        if now < wake_at:
            time.sleep((wake_at - now) / 1e9)
            woke = clock()
            self.slept_ns += woke - now
            low, high = self.min_spin_ns, self.max_spin_ns
            if low < high:
                # Aim the margin at the oversleep just seen plus the minimum: up at once, down
                # slowly.
                target = min(high, woke - wake_at + low)
                if target > margin:
                    self.margin_ns = target
                else:
                    self.margin_ns = margin - ((margin - target) >> MARGIN_DECAY_SHIFT)
            now = woke
        if now < t_ns:
            spin_start = now
            # Each turn releases the GIL (a zero-timeout select: ~2 µs; sleep(0) would sleep for
            # the timer slack, 15-100 µs on a shared machine).
            poll, nothing = select.select, ()
            while now < t_ns:
                poll(nothing, nothing, nothing, 0)
                now = clock()
            self.spun_ns += now - spin_start

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
