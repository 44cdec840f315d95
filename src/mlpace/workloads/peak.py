"""The Server figure of a short run: the measured peak VALID rate under the latency bound.

A fixed Server target (the old default was a 600 QPS cap) says nothing about the system and may
still fail on a busy machine. Instead the short profile measures:

1. **the peak** (:func:`find_peak`): the LoadGen's own FindPeakPerformance mode (``run_test``
   with ``TestMode.FindPeakPerformance``) finds the highest target QPS whose latency percentile
   meets the task's bound, with short probes so a search takes seconds: probes of
   :data:`PROBE_MS` each; the search widens x2 from a calibrated lower bound until a probe
   misses, then bisects to whole QPS, about 15-20 probes (the count grows with the logarithm of
   the peak only). A lower bound that already misses is quartered and the search repeated
   (twice at most, while a probe at that rate still lasts about ``PROBE_MS``). A peak below
   half the calibration's estimate (a burst of other work during the probes) gets one more
   search; the higher peak counts.
2. **the figure** (:func:`measure_at_peak`): a full run (the profile's duration, every validity
   check) at that peak. A probe checks only the latency percentile, so the full run may be
   INVALID; the attempt policy (:mod:`mlpace.workloads._peak_policy`) then says what the next
   attempt is (wait and repeat on a busy machine, a lower rate for a slow SUT, more queries for
   early stopping), at most six attempts within a minute. The first VALID attempt's rate is
   the Server figure.

Before each search and attempt the run waits a few seconds for a free core
(:mod:`mlpace.workloads._cpu_gate`). Every step and decision is printed with its reason, and
every search's and attempt's logs are kept (``search_N``, ``attempt_N_<qps>qps`` in the peak
folder; the reported attempt's in ``performance/run_1``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlpace.loadgen.enums import TestMode
from mlpace.loadgen.settings import TestSettings
from mlpace.workloads._peak_policy import (
    MAX_ATTEMPTS,
    Attempt,
    Limits,
    attempt_of,
    first_step,
    next_step,
)

__all__ = [
    "PROBE_MIN_QUERIES",
    "PROBE_MS",
    "SEARCHES",
    "FoundPeak",
    "PeakFigure",
    "PeakSearch",
    "find_peak",
    "measure_at_peak",
    "search_peak",
]

PROBE_MS = 400
PROBE_MIN_QUERIES = 64
LOWER_BOUND_TRIES = 3
PROGRESS_POLL_S = 0.25
SEARCHES = 2  # a second search only when the first peak is below half the estimate

Say = Callable[[str], None]
# run_pass(settings, out_dir) -> TestOutcome
RunPass = Callable[[TestSettings, Path], Any]
# gate(label, max_wait_s=None): wait for a free core before a timing pass
# (mlpace.workloads._cpu_gate.CpuGate)
Gate = Callable[..., object]


class LoadMeter(Protocol):
    """Other work during a timing pass, in cores (``mlpace.workloads._cpu_gate.LoadMeter``)."""

    def start(self) -> None: ...

    def stop(self) -> float | None: ...


def _no_gate(_label: str, max_wait_s: float | None = None) -> None:
    return None


@dataclass(frozen=True)
class PeakSearch:
    """The outcome of :func:`search_peak`."""

    peak_qps: float | None
    probes: tuple[tuple[float, bool], ...]
    seconds: float
    log_dir: Path
    note: str = ""  # why there is no peak
    outcome: Any = None  # the last search's TestOutcome (None if none ran)

    @property
    def found(self) -> bool:
        return self.peak_qps is not None


_PROBE = re.compile(r"target_qps (\S+) (meets|does not meet)")


class _ProgressTail(threading.Thread):
    """Prints each probe's verdict as the engine logs it (the detail log is flushed per line)."""

    def __init__(self, detail: Path, say: Say, bound_ms: float, label: str) -> None:
        super().__init__(name="mlpace-peak-progress", daemon=True)
        self.detail = detail
        self.label = label
        self.say = say
        self.bound_ms = bound_ms
        self.stopped = threading.Event()
        self.count = 0
        self.t0 = time.perf_counter()

    def run(self) -> None:
        offset = 0
        while not self.stopped.wait(PROGRESS_POLL_S):
            offset = self._read(offset)
        self._read(offset)

    def _read(self, offset: int) -> int:
        try:
            with open(self.detail, encoding="utf-8", errors="replace") as handle:
                handle.seek(offset)
                while True:
                    line = handle.readline()
                    if not line.endswith("\n"):
                        return offset
                    offset += len(line.encode("utf-8", errors="replace"))
                    self._line(line)
        except OSError:
            return offset

    def _line(self, line: str) -> None:
        if "FindPeakPerformance:" not in line:
            return
        try:
            record = json.loads(line[line.index("{") :])
        except ValueError:
            return
        if not isinstance(record, dict) or record.get("key") != "generic_message":
            return  # e.g. the error line when the lower bound already misses
        value = str(record.get("value", ""))
        m = _PROBE.search(value)
        if m is None:
            return
        self.count += 1
        verdict = "meets" if m.group(2) == "meets" else "misses"
        self.say(
            f"mlpace: {self.label}: probe {self.count} at {float(m.group(1)):,.0f} QPS "
            f"{verdict} the {self.bound_ms:g} ms bound ({time.perf_counter() - self.t0:.1f} s)"
        )

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def search_peak(
    run_pass: RunPass,
    settings: TestSettings,
    *,
    lower_qps: float,
    log_dir: Path,
    say: Say,
    probe_ms: int = PROBE_MS,
    probe_queries: int = PROBE_MIN_QUERIES,
    try_dirs: Callable[[int], Path] | None = None,
    label: str = "Server peak search",
) -> PeakSearch:
    """FindPeakPerformance with probes of ``probe_ms`` (and at least ``probe_queries``
    queries), starting at ``lower_qps``. ``try_dirs(k)`` is the log folder of the k-th try
    (from 1; a lower bound that misses is retried lower); without it every try uses
    ``log_dir``, the last one's logs staying."""
    bound_ms = settings.server_target_latency_ns / 1e6
    t0 = time.perf_counter()
    probes: tuple[tuple[float, bool], ...] = ()
    last: Any = None
    lower = max(0.1, round(lower_qps, 1))
    for k in range(1, LOWER_BOUND_TRIES + 1):
        if try_dirs is not None:
            log_dir = try_dirs(k)
        say(
            f"mlpace: {label} (FindPeakPerformance, {probe_ms:,} ms probes) from "
            f"{lower:,.1f} QPS, p{settings.server_target_latency_percentile * 100:g} bound "
            f"{bound_ms:g} ms ..."
        )
        search = dataclasses.replace(
            settings,
            mode=TestMode.FindPeakPerformance,
            server_target_qps=lower,
            min_duration_ms=probe_ms,
            min_query_count=probe_queries,
            server_find_peak_qps_decimals_of_precision=0,
            server_find_peak_qps_boundary_step_size=1.0,
        )
        detail = log_dir / "mlperf_log_detail.txt"
        detail.unlink(missing_ok=True)  # the progress reader must not see an earlier try's lines
        tail = _ProgressTail(detail, say, bound_ms, label)
        tail.start()
        try:
            outcome = run_pass(search, log_dir)
        finally:
            tail.stop()
        probes += tuple(outcome.probes)
        last = outcome
        if outcome.peak_qps is not None:
            return PeakSearch(
                float(outcome.peak_qps), probes, time.perf_counter() - t0, log_dir, outcome=last
            )
        if outcome.probes and outcome.probes[0][1]:
            break  # it never failed: no upper bound (already logged as an error)
        lower = round(lower / 4, 1)
        if lower <= 0 or probe_queries / lower > 4 * max(probe_ms, 1) / 1000:
            break  # probes at that rate would last too long for a bounded search
    return PeakSearch(
        None,
        probes,
        time.perf_counter() - t0,
        log_dir,
        note="no target QPS met the latency bound" if probes else "the search did not run",
        outcome=last,
    )


@dataclass(frozen=True)
class FoundPeak:
    """The outcome of :func:`find_peak`: the search the attempts start from, and all of them."""

    search: PeakSearch  # the one with the highest peak
    index: int  # which search (from 1)
    searches: tuple[PeakSearch, ...]
    notes: tuple[str, ...]

    @property
    def peak_qps(self) -> float | None:
        return self.search.peak_qps


def find_peak(
    run_pass: RunPass,
    settings: TestSettings,
    *,
    lower_qps: float,
    estimate_qps: float,
    peak_dir: Path,
    say: Say,
    gate: Gate = _no_gate,
) -> FoundPeak:
    """The default run's peak search, repeated once when its peak is below half of
    ``estimate_qps`` (the calibration's): each search's logs in ``peak_dir/search_N``."""
    searches: list[PeakSearch] = []
    notes: list[str] = []
    for n in range(1, SEARCHES + 1):
        label = "Server peak search" if n == 1 else f"Server peak search {n}"
        gate(label)

        def folder(k: int, n: int = n) -> Path:
            return peak_dir / (f"search_{n}" if k == 1 else f"search_{n}_lower_{k}")

        search = search_peak(
            run_pass,
            settings,
            lower_qps=lower_qps,
            log_dir=folder(1),
            say=say,
            try_dirs=folder,
            label=label,
        )
        searches.append(search)
        found = search.peak_qps
        if found is not None and found >= estimate_qps / 2:
            break
        if n < SEARCHES:
            seen = f"a peak of {found:,.1f} QPS" if found is not None else "no peak"
            note = (
                f"search {n} found {seen}, below half the calibration's estimate of "
                f"{estimate_qps:,.0f} QPS (other work during the probes?); searching once more"
            )
            notes.append(note)
            say(f"mlpace: Server: {note}")
    best = max(range(len(searches)), key=lambda i: searches[i].peak_qps or -1.0)
    if len(searches) > 1:
        peak = searches[best].peak_qps
        shown = "no peak" if peak is None else f"{peak:,.1f} QPS"
        notes.append(f"search {best + 1} of {len(searches)} gave the higher peak ({shown})")
    return FoundPeak(searches[best], best + 1, tuple(searches), tuple(notes))


@dataclass(frozen=True)
class PeakFigure:
    """The outcome of :func:`measure_at_peak`: the reported attempt and how it was reached."""

    outcome: Any  # the reported attempt's TestOutcome (its logs in out_dir)
    qps: float  # its target QPS
    min_query_count: int
    attempt: int  # which attempt (from 1)
    attempts: tuple[Attempt, ...]
    notes: tuple[str, ...]
    valid: bool


def _failed_text(a: Attempt) -> str:
    return "VALID" if a.valid else f"INVALID ({', '.join(n.replace('_', ' ') for n in a.failed)})"


def measure_at_peak(
    run_pass: RunPass,
    settings: TestSettings,
    peak_qps: float,
    *,
    out_dir: Path,
    attempts_dir: Path,
    say: Say,
    gate: Gate = _no_gate,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    meter: LoadMeter | None = None,
) -> PeakFigure:
    """Full performance runs from ``peak_qps`` down, as the attempt policy decides, until one
    is VALID or the policy gives up. An attempt that is followed by another has its logs moved
    to ``attempts_dir/attempt_N_<qps>qps``; the reported one's stay in ``out_dir``.
    ``meter`` (:class:`~mlpace.workloads._cpu_gate.LoadMeter`) tells the policy how much other
    work ran during each attempt."""
    from mlpace.workloads.outdir import earlier_run_files

    limits = Limits(
        min_duration_s=settings.min_duration_ms / 1000,
        min_query_count=int(settings.min_query_count),
    )
    step = first_step(peak_qps, limits)
    history: list[Attempt] = []
    notes: list[str] = []
    t0: float | None = None
    while True:
        n = len(history) + 1
        if step.wait_s > 0:
            sleep(step.wait_s)
        label = f"Server attempt {n}"
        # The wait for a free core counts against the attempts' time budget too.
        left = limits.budget_s - (history[-1].ended_s + step.wait_s if history else 0.0)
        gate(label, max_wait_s=max(0.0, left - limits.seconds(step.qps, step.min_query_count)))
        say(
            f"mlpace: {label}/{MAX_ATTEMPTS} at {step.qps:,.1f} QPS ({step.qps / peak_qps:.0%} "
            f"of the peak), at least {step.min_query_count:,} queries ..."
        )
        start = clock()
        t0 = start if t0 is None else t0
        run = dataclasses.replace(
            settings, server_target_qps=step.qps, min_query_count=step.min_query_count
        )
        if meter is not None:
            meter.start()
        outcome = run_pass(run, out_dir)
        others = None if meter is None else meter.stop()
        a = attempt_of(
            outcome.performance.result,
            number=n,
            qps=step.qps,
            min_query_count=step.min_query_count,
            started_s=start - t0,
            ended_s=clock() - t0,
            others_cores=others,
        )
        history.append(a)
        step = next_step(history, limits)
        if step.action == "done":
            say(f"mlpace: {label}: VALID at {a.qps:,.1f} QPS: the Server figure")
        else:
            say(f"mlpace: {label}: {_failed_text(a)}; {step.reason}")
        if step.action != "run":
            break
        keep = attempts_dir / f"attempt_{n}_{a.qps:.0f}qps"
        for f in earlier_run_files(out_dir, recursive=False):
            keep.mkdir(parents=True, exist_ok=True)
            f.replace(keep / f.name)
        notes.append(
            f"attempt {n} at {a.qps:,.1f} QPS: {_failed_text(a)}; {step.reason} (logs: {keep})"
        )
    last = history[-1]
    if not last.valid:
        notes.append(f"attempt {n}: {_failed_text(last)}; {step.reason}")
    notes.append(
        f"the Server figure comes from attempt {n} ({n} in all): {last.qps:,.1f} QPS "
        f"({last.qps / peak_qps:.0%} of the {peak_qps:,.1f} QPS search peak), "
        f"{'VALID' if last.valid else 'INVALID'} (logs: {out_dir})"
    )
    return PeakFigure(
        outcome, last.qps, last.min_query_count, n, tuple(history), tuple(notes), last.valid
    )
