"""Before a timing attempt: wait a few seconds for a free core, read from ``/proc/stat``.

On a shared machine another process's burst decides a short Server run's p99. Other processes
show in two ways: inside this system they take CPU time (``/proc/stat``'s busy jiffies that are
not ours), and on a shared host (a VM) the hypervisor gives our runnable cores to other guests
(``/proc/stat``'s *steal* jiffies, which accrue only while we want to run). So the gate keeps
one thread spinning for :data:`SAMPLE_S` and asks how much of a core it got: its own CPU time
over the wall time, with ``/proc/stat`` saying where the rest went. A share of at least
:data:`FREE_CORE` is a free core. Otherwise it samples again, up to :data:`MAX_WAIT_S`, saying
so on the console. It never refuses to run: after the wait the attempt goes ahead, and the
attempt policy reads the outcome. Where ``/proc/stat`` is absent (not Linux) it does nothing.
The clock, the spin, our CPU-time reader and the ``/proc/stat`` reader are injectable, so tests
never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FREE_CORE",
    "MAX_WAIT_S",
    "SAMPLE_S",
    "CpuGate",
    "GateResult",
    "LoadMeter",
    "Usage",
    "usage",
]

MAX_WAIT_S = 6.0
SAMPLE_S = 0.25
# The share of a core the spinning thread must get: a little under one, since the kernel's own
# work takes a few percent of any core.
FREE_CORE = 0.85

Say = Callable[[str], None]
StatReader = Callable[[], str | None]


def read_proc_stat() -> str | None:
    try:
        return Path("/proc/stat").read_text()
    except OSError:
        return None


def _totals(text: str) -> tuple[int, int, int, int] | None:
    """(idle, steal, all jiffies, cores) from /proc/stat's text; None if unreadable."""
    cores = 0
    totals: tuple[int, int, int] | None = None
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "cpu":
            try:
                v = [int(x) for x in fields[1:9]]
            except ValueError:
                return None
            if len(v) < 4:
                return None
            v += [0] * (8 - len(v))
            # idle + iowait: a core waiting on I/O is free for our compute; guest time is
            # already counted in user and nice, so only the first eight columns add up
            totals = (v[3] + v[4], v[7], sum(v))
        elif fields[0].startswith("cpu") and fields[0][3:].isdigit():
            cores += 1
    return None if totals is None else (*totals, max(cores, 1))


@dataclass(frozen=True)
class Usage:
    """Where the machine's time went between two /proc/stat readings, in cores."""

    cores: int
    idle: float
    steal: float  # taken by the hypervisor for other guests
    busy: float  # used inside this system (ours included)


def usage(before: str, after: str) -> Usage | None:
    a, b = _totals(before), _totals(after)
    if a is None or b is None or b[2] <= a[2]:
        return None
    total, idle, steal, n = b[2] - a[2], b[0] - a[0], b[1] - a[1], b[3]
    return Usage(n, idle / total * n, steal / total * n, (total - idle - steal) / total * n)


def _spin(seconds: float) -> None:
    """Keep this thread runnable for ``seconds``: only a thread that wants a core shows
    whether it gets one."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@dataclass(frozen=True)
class GateResult:
    waited_s: float
    share: float | None  # the share of a core the spinning thread got last (None: not measured)
    free: bool


@dataclass
class CpuGate:
    """``gate(label)`` waits (at most ``max_wait_s``, or the call's own ``max_wait_s`` when
    shorter: a caller with a time budget) until a core is free."""

    say: Say
    read: StatReader = read_proc_stat
    clock: Callable[[], float] = time.perf_counter
    spin: Callable[[float], None] = _spin
    own_cpu: Callable[[], float] = time.thread_time  # CPU time of the spinning thread
    max_wait_s: float = MAX_WAIT_S
    sample_s: float = SAMPLE_S

    def _sample(self, before: str) -> tuple[str | None, float | None, str]:
        """Spin once: (the new reading, the share of a core we got, where the rest went)."""
        t0, c0 = self.clock(), self.own_cpu()
        self.spin(self.sample_s)
        wall, cpu = self.clock() - t0, self.own_cpu() - c0
        after = self.read()
        if after is None or wall <= 0:
            return after, None, ""
        share = min(1.0, cpu / wall)
        used = usage(before, after)
        if used is None:
            return after, share, ""
        others = max(0.0, used.busy - share)
        # A guest kernel without steal accounting in its thread clocks counts stolen time as
        # ours: the steal column decides then.
        share = min(share, max(0.0, 1.0 - used.steal))
        where = f"other processes used {others:.2f} of {used.cores} cores"
        if used.steal >= 0.05:
            where += f", the host took {used.steal:.2f} for other machines"
        return after, share, where

    def __call__(self, label: str, max_wait_s: float | None = None) -> GateResult:
        limit = self.max_wait_s if max_wait_s is None else min(self.max_wait_s, max_wait_s)
        t0 = self.clock()
        before = self.read()
        if before is None:
            return GateResult(0.0, None, True)
        said = False
        while True:
            before_next, share, where = self._sample(before)
            waited = self.clock() - t0
            if before_next is None or share is None or share >= FREE_CORE:
                if said:
                    self.say(f"mlpace: {label}: a core is free after {waited:.1f} s")
                return GateResult(waited, share, True)
            before = before_next
            got = f"a spinning thread got {share:.2f} of a core" + (f"; {where}" if where else "")
            if waited >= limit:
                self.say(
                    f"mlpace: {label}: no core became free within {limit:.3g} s "
                    f"({got}); running anyway, the attempt policy reads the outcome"
                )
                return GateResult(waited, share, False)
            if not said:
                self.say(
                    f"mlpace: {label}: the cores are busy ({got}); waiting up to "
                    f"{limit:.3g} s for a free core ..."
                )
                said = True


@dataclass
class LoadMeter:
    """What other work took while a timing run ran: the host's steal plus other processes'
    CPU time (all of it but ours), in cores; ``None`` where /proc/stat cannot tell."""

    read: StatReader = read_proc_stat
    clock: Callable[[], float] = time.perf_counter
    own_cpu: Callable[[], float] = time.process_time  # every thread of this process
    _start: tuple[str, float, float] | None = None

    def start(self) -> None:
        text = self.read()
        self._start = None if text is None else (text, self.clock(), self.own_cpu())

    def stop(self) -> float | None:
        if self._start is None:
            return None
        text0, t0, cpu0 = self._start
        self._start = None
        text, wall = self.read(), self.clock() - t0
        used = None if text is None or wall <= 0 else usage(text0, text)
        if used is None:
            return None
        ours = (self.own_cpu() - cpu0) / wall
        return max(0.0, used.busy - ours) + used.steal
