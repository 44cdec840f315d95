"""Before a timing attempt: wait a few seconds for a free core, read from ``/proc/stat``.

On a shared machine another process's burst decides a short Server run's p99. The default run
therefore looks, before each attempt, at how much of the machine the other processes use (our
own run is idle between attempts) and waits up to :data:`MAX_WAIT_S` for a core's worth of idle
time, saying so on the console. It never refuses to run: after the wait the attempt goes ahead,
and the attempt policy reads the outcome. Where ``/proc/stat`` is absent (not Linux) it does
nothing. The clock, the sleep and the reader are injectable, so tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FREE_CORE", "MAX_WAIT_S", "SAMPLE_S", "CpuGate", "GateResult", "idle_cores"]

MAX_WAIT_S = 6.0
SAMPLE_S = 0.25
# The idle time (in cores) that counts as a free core: a little under one, since the kernel's
# own work and our idle threads never leave a core perfectly idle.
FREE_CORE = 0.85

Say = Callable[[str], None]
StatReader = Callable[[], str | None]


def read_proc_stat() -> str | None:
    try:
        return Path("/proc/stat").read_text()
    except OSError:
        return None


def _totals(text: str) -> tuple[int, int, int] | None:
    """(idle jiffies, all jiffies, cores) from /proc/stat's text; None if unreadable."""
    idle = total = cores = 0
    found = False
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "cpu":
            try:
                values = [int(v) for v in fields[1:]]
            except ValueError:
                return None
            if len(values) < 4:
                return None
            # idle + iowait: a core waiting on I/O is free for our compute
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            # guest time is already counted in user/nice
            total = sum(values[:8])
            found = True
        elif fields[0].startswith("cpu") and fields[0][3:].isdigit():
            cores += 1
    return (idle, total, max(cores, 1)) if found else None


def idle_cores(before: str, after: str) -> float | None:
    """The idle time between two /proc/stat readings, in cores (0 .. cores)."""
    a, b = _totals(before), _totals(after)
    if a is None or b is None or b[1] <= a[1]:
        return None
    return (b[0] - a[0]) / (b[1] - a[1]) * b[2]


@dataclass(frozen=True)
class GateResult:
    waited_s: float
    idle_cores: float | None  # the last reading (None: no /proc/stat)
    free: bool


@dataclass
class CpuGate:
    """``gate(label)`` waits (at most ``max_wait_s``) until a core is free."""

    say: Say
    read: StatReader = read_proc_stat
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    max_wait_s: float = MAX_WAIT_S
    sample_s: float = SAMPLE_S

    def __call__(self, label: str) -> GateResult:
        t0 = self.clock()
        before = self.read()
        if before is None:
            return GateResult(0.0, None, True)
        said = False
        idle: float | None = None
        while True:
            self.sleep(self.sample_s)
            after = self.read()
            if after is None:
                return GateResult(self.clock() - t0, idle, True)
            idle = idle_cores(before, after)
            before = after
            waited = self.clock() - t0
            if idle is None or idle >= FREE_CORE:
                if said:
                    self.say(f"mlpace: {label}: a core is free after {waited:.1f} s")
                return GateResult(waited, idle, True)
            if waited >= self.max_wait_s:
                self.say(
                    f"mlpace: {label}: no core became free within {self.max_wait_s:g} s (idle "
                    f"{idle:.2f} cores); running anyway, the attempt policy reads the outcome"
                )
                return GateResult(waited, idle, False)
            if not said:
                self.say(
                    f"mlpace: {label}: other processes keep the cores busy (idle {idle:.2f} "
                    f"cores); waiting up to {self.max_wait_s:g} s for a free core ..."
                )
                said = True
