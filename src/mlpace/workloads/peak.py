"""The Server figure of a short run: a FindPeakPerformance search, then a VALID run below the peak.

A fixed Server target (the old default was a 600 QPS cap) says nothing about the system and may
still fail on a busy machine. Instead the short profile asks the LoadGen's own
FindPeakPerformance mode (``run_test`` with ``TestMode.FindPeakPerformance``) for the highest
target QPS whose latency percentile meets the task's bound, with short probes so the whole
search takes seconds:

* probes of :data:`PROBE_MS` each; the search widens ×2 from a calibrated lower bound until a
  probe misses the bound, then bisects to whole QPS, about 15-20 probes (the number grows only
  with the logarithm of the peak, so the search is bounded in time);
* a lower bound that already misses is quartered and the search repeated (twice at most, and
  only while a probe at that rate still lasts about ``PROBE_MS``).

A short probe measures a burst: it checks only the latency percentile (as the official
FindPeakPerformance does), not early stopping, and a few seconds of noise from other processes
rarely land in it. The confirming run therefore goes at :data:`SAFE_FRACTION` of the peak with
the profile's full duration (and at least :data:`CONFIRM_MIN_QUERIES` queries, so early stopping
has room, as long as that stays within :data:`MAX_STRETCH` times the duration) and every
validity check. If it is still INVALID (a noisy neighbour),
it is repeated at :data:`RETRY_FACTOR` of the rate, at most :data:`MAX_RETRIES` times: the noise
of a shared machine comes in bursts, and a lower rate does not help against the stalls of a
busy machine (their share of the run's time decides the p99), so the rate drops only a little.
Every step is printed, and the failed attempts' logs are kept beside the search's.
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
from typing import Any

from mlpace.loadgen.enums import TestMode
from mlpace.loadgen.settings import TestSettings

__all__ = [
    "MAX_RETRIES",
    "PROBE_MS",
    "SAFE_FRACTION",
    "PeakSearch",
    "confirm_below_peak",
    "search_peak",
]

PROBE_MS = 400
PROBE_MIN_QUERIES = 64
SAFE_FRACTION = 0.25
RETRY_FACTOR = 0.8
# Early stopping at p99 needs 459 queries even with none over the bound, and more with a few;
# a confirming run at a low rate is lengthened to hold at least this many.
CONFIRM_MIN_QUERIES = 1200
MAX_STRETCH = 3.0
ES_MIN_QUERIES = 459  # the fewest queries with which early stopping can prove a p99 bound
MAX_RETRIES = 2
LOWER_BOUND_TRIES = 3
PROGRESS_POLL_S = 0.25

Say = Callable[[str], None]
# run_pass(settings, out_dir) -> TestOutcome
RunPass = Callable[[TestSettings, Path], Any]


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

    def __init__(self, detail: Path, say: Say, bound_ms: float) -> None:
        super().__init__(name="mlpace-peak-progress", daemon=True)
        self.detail = detail
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
            f"mlpace: Server peak search: probe {self.count} at {float(m.group(1)):,.0f} QPS "
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
) -> PeakSearch:
    """FindPeakPerformance with probes of ``probe_ms`` (and at least ``probe_queries``
    queries), starting at ``lower_qps``."""
    bound_ms = settings.server_target_latency_ns / 1e6
    t0 = time.perf_counter()
    probes: tuple[tuple[float, bool], ...] = ()
    last: Any = None
    lower = max(0.1, round(lower_qps, 1))
    for _ in range(LOWER_BOUND_TRIES):
        say(
            f"mlpace: Server peak search (FindPeakPerformance, {probe_ms:,} ms probes) from "
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
        tail = _ProgressTail(detail, say, bound_ms)
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


def confirm_below_peak(
    run_pass: RunPass,
    settings: TestSettings,
    peak_qps: float,
    *,
    out_dir: Path,
    attempts_dir: Path,
    say: Say,
) -> tuple[Any, float, list[str]]:
    """A full performance run at :data:`SAFE_FRACTION` of the peak, repeated at a lower rate
    while INVALID (at most :data:`MAX_RETRIES` times). Returns the last outcome, its target QPS
    and notes for the console."""
    from mlpace.workloads.outdir import earlier_run_files

    qps = max(0.1, round(peak_qps * SAFE_FRACTION, 1))
    duration_s = settings.min_duration_ms / 1000
    notes: list[str] = []
    attempt = 0
    while True:
        # At least CONFIRM_MIN_QUERIES queries, but never more than MAX_STRETCH times the
        # profile's duration: the run stays bounded in time on a slow or very busy machine.
        floor = min(CONFIRM_MIN_QUERIES, int(qps * duration_s * MAX_STRETCH))
        run = dataclasses.replace(
            settings,
            server_target_qps=qps,
            min_query_count=max(settings.min_query_count, floor),
        )
        say(f"mlpace: Server performance at {qps:,.1f} QPS ({qps / peak_qps:.0%} of the peak) ...")
        outcome = run_pass(run, out_dir)
        result = outcome.performance.result
        if result.valid or attempt >= MAX_RETRIES:
            return outcome, qps, notes
        if floor < ES_MIN_QUERIES:
            notes.append(
                f"at {qps:,.1f} QPS a short run cannot hold the {ES_MIN_QUERIES} queries early "
                "stopping needs at p99; the peak is too low on this machine now (a busy "
                "machine, or a slow model) for a VALID short Server run"
            )
            return outcome, qps, notes
        attempt += 1
        why = ", ".join(c.name.replace("_", " ") for c in result.checks if not c.passed)
        keep = attempts_dir / f"attempt_{attempt}_{qps:.0f}qps"
        for f in earlier_run_files(out_dir, recursive=False):
            keep.mkdir(parents=True, exist_ok=True)
            f.replace(keep / f.name)
        lower = max(0.1, round(qps * RETRY_FACTOR, 1))
        note = (
            f"the run at {qps:,.1f} QPS was INVALID ({why or 'see its logs'}); repeated at "
            f"{lower:,.1f} QPS (its logs: {keep})"
        )
        notes.append(note)
        say(f"mlpace: Server: {note}")
        qps = lower
