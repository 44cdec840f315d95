"""Live progress of a LoadGen pass: a ``rich`` panel on a terminal, plain lines otherwise.

:class:`LiveProgress` is a run observer (the engine calls ``pass_started`` / ``pass_ended``);
while a pass runs its own thread polls the pass's read-only view a few times a second and
shows elapsed time against the minimum duration, queries against the minimum count, achieved
against target rate, the running p90/p99 of the newest latencies, whether early stopping would
pass so far, the issue lag and an ETA. Polling reads counters the engine keeps anyway and copies
at most :data:`WINDOW` recent values, so the issuing path pays nothing but the GIL hand-overs
of a few short renders per second (measured in BENCHMARKS.md).

:func:`snapshot` is a pure function of a view, so it is tested with a fake view and no clock.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from mlpace.loadgen.early_stopping import queries_needed
from mlpace.loadgen.enums import TestMode, TestScenario
from mlpace.loadgen.observer import PassView

WINDOW = 10_000  # newest latencies the running percentiles are computed over
RICH_INTERVAL_S = 0.5  # a refresh costs ~1 ms of the GIL: 2 Hz keeps it near 0.2 %
PLAIN_INTERVAL_S = 10.0


@dataclass(frozen=True)
class Snapshot:
    """One reading of a running pass, everything in display units."""

    scenario: str
    accuracy: bool
    elapsed_s: float
    min_duration_s: float
    issued_queries: int
    issued_samples: int
    completed_samples: int
    min_query_count: int
    achieved_per_s: float  # completed samples per second so far
    target_per_s: float
    p90_ns: float
    p99_ns: float
    window: int  # latencies the percentiles were computed over
    early_stopping: str
    early_stopping_ok: bool | None
    lag_p99_ns: float
    eta_s: float | None
    fraction: float  # 0..1 of the way to the end conditions


def _pct(values: npt.NDArray[np.int64], p: float) -> float:
    return _pcts(values, (p,))[0]


def _pcts(values: npt.NDArray[np.int64], ps: tuple[float, ...]) -> list[float]:
    """``sorted[floor(n p)]`` for each p, with one partial sort."""
    n = int(values.shape[0])
    if n == 0:
        return [math.nan] * len(ps)
    ks = [min(int(n * p), n - 1) for p in ps]
    part = np.partition(values, ks)
    return [float(part[k]) for k in ks]


def _early_stopping(
    view: PassView, issued_q: int, lat: npt.NDArray[np.int64], completed: int
) -> tuple[str, bool | None]:
    pct = float(view.target_latency_percentile)
    if view.scenario == TestScenario.Offline:
        return "not required (Offline)", None
    if not 0.0 < pct < 1.0:
        return "n/a", None
    if view.scenario == TestScenario.Server:
        if view.target_latency_ns <= 0:
            return "n/a (no latency bound)", None
        over = int(np.count_nonzero(lat > view.target_latency_ns))
        t = round(over / lat.shape[0] * completed) if lat.shape[0] else 0
        need = queries_needed(t, pct)
        if issued_q >= need:
            return f"would pass ({issued_q:,} ≥ {need:,} queries, ~{t:,} over bound)", True
        return f"not yet: {issued_q:,} of {need:,} queries (~{t:,} over bound)", False
    need = queries_needed(1, pct)
    if issued_q >= need:
        return f"would pass ({issued_q:,} ≥ {need:,} queries)", True
    return f"not yet: {issued_q:,} of {need:,} queries", False


def _eta(view: PassView, elapsed_s: float, issued_q: int, issued_s: int, done: int) -> float | None:
    min_dur = view.min_duration_ns / 1e9
    if view.mode == TestMode.AccuracyOnly:
        return None
    if view.scenario == TestScenario.Offline:
        rate = done / elapsed_s if elapsed_s > 0 else 0.0
        return (issued_s - done) / rate if rate > 0 else None
    if view.scenario == TestScenario.Server:
        target = float(view.target_qps)
        length = max(min_dur, view.min_query_count / target if target > 0 else 0.0)
        return max(0.0, length - elapsed_s)
    rate = issued_q / elapsed_s if elapsed_s > 0 else 0.0
    by_count = (view.min_query_count - issued_q) / rate if rate > 0 else math.inf
    remaining = max(min_dur - elapsed_s, by_count, 0.0)
    return None if math.isinf(remaining) else remaining


def snapshot(view: PassView, window: int = WINDOW) -> Snapshot:
    """Read the view once (cheap: counters and a bounded copy of recent values)."""
    elapsed_ns = max(0, int(view.elapsed_ns()))
    issued_q = int(view.issued_queries())
    issued_s = int(view.issued_samples())
    done = int(view.completed_samples())
    lat = np.asarray(view.recent_latencies_ns(window), dtype=np.int64)
    lag = np.asarray(view.recent_issue_lag_ns(window), dtype=np.int64)
    elapsed_s = elapsed_ns / 1e9
    min_dur = view.min_duration_ns / 1e9
    es_text, es_ok = _early_stopping(view, issued_q, lat, done)
    if view.scenario == TestScenario.Offline:
        fraction = done / issued_s if issued_s else 0.0
    elif view.mode == TestMode.AccuracyOnly:
        fraction = 0.0
    else:
        parts = [elapsed_s / min_dur if min_dur > 0 else 1.0]
        if view.min_query_count > 0:
            parts.append(issued_q / view.min_query_count)
        fraction = min(1.0, min(parts))
    target = float(view.target_qps)
    p90, p99 = _pcts(lat, (0.90, 0.99))
    return Snapshot(
        scenario=view.scenario.value,
        accuracy=view.mode == TestMode.AccuracyOnly,
        elapsed_s=elapsed_s,
        min_duration_s=min_dur,
        issued_queries=issued_q,
        issued_samples=issued_s,
        completed_samples=done,
        min_query_count=int(view.min_query_count),
        achieved_per_s=done / elapsed_s if elapsed_s > 0 else 0.0,
        target_per_s=target,
        p90_ns=p90,
        p99_ns=p99,
        window=int(lat.shape[0]),
        early_stopping=es_text,
        early_stopping_ok=es_ok,
        lag_p99_ns=_pct(lag, 0.99),
        eta_s=_eta(view, elapsed_s, issued_q, issued_s, done),
        fraction=max(0.0, min(1.0, fraction)),
    )


def _ns(value: float) -> str:
    if value != value:
        return "–"
    if value >= 1e9:
        return f"{value / 1e9:.2f} s"
    if value >= 1e6:
        return f"{value / 1e6:.2f} ms"
    if value >= 1e3:
        return f"{value / 1e3:.1f} µs"
    return f"{value:.0f} ns"


def _eta_text(eta: float | None) -> str:
    if eta is None:
        return "–"
    if eta >= 120:
        return f"{eta / 60:.1f} min"
    return f"{eta:.0f} s"


def format_line(s: Snapshot) -> str:
    """The plain progress line (logs, CI, pipes)."""
    what = "accuracy" if s.accuracy else "performance"
    return (
        f"mlpace: {s.scenario} {what} {s.fraction * 100:5.1f}%  "
        f"{s.elapsed_s:.1f}/{s.min_duration_s:g} s  "
        f"queries {s.issued_queries:,}/{s.min_query_count:,}  "
        f"done {s.completed_samples:,}  "
        f"{s.achieved_per_s:,.1f}/s (target {s.target_per_s:,.1f})  "
        f"p90 {_ns(s.p90_ns)} p99 {_ns(s.p99_ns)}  "
        f"issue lag p99 {_ns(s.lag_p99_ns)}  "
        f"early stopping: {s.early_stopping}  ETA {_eta_text(s.eta_s)}"
    )


BAR_WIDTH = 40


def render_rich(s: Snapshot) -> Any:
    """A rich renderable: a bar and six labelled lines, as one styled ``Text``.

    Plain ``Text`` renders in ~0.5 ms where a ``Table`` takes ~4 ms; the display holds the GIL
    while it renders, so the cheaper one keeps the issuing thread's share of the CPU.
    """
    from rich.text import Text

    what = "accuracy" if s.accuracy else "performance"
    filled = int(round(s.fraction * BAR_WIDTH))
    es_style = {True: "green", False: "yellow", None: ""}[s.early_stopping_ok]
    rows = [
        ("elapsed", f"{s.elapsed_s:.1f} s of min {s.min_duration_s:g} s", ""),
        (
            "queries",
            f"{s.issued_queries:,} issued / min {s.min_query_count:,}; "
            f"{s.completed_samples:,} of {s.issued_samples:,} samples done",
            "",
        ),
        ("rate", f"{s.achieved_per_s:,.1f}/s achieved, target {s.target_per_s:,.1f}/s", ""),
        ("latency", f"p90 {_ns(s.p90_ns)}  p99 {_ns(s.p99_ns)}  (newest {s.window:,})", ""),
        ("early stopping", s.early_stopping, es_style),
        ("issue lag p99", _ns(s.lag_p99_ns), ""),
        ("ETA", _eta_text(s.eta_s), ""),
    ]
    text = Text.assemble(
        (s.scenario, "bold"),
        f" {what}  ",
        ("█" * filled, "cyan"),
        ("░" * (BAR_WIDTH - filled), "dim"),
        f" {s.fraction * 100:.0f}%\n",
    )
    for label, value, style in rows:
        text.append(f"  {label:<15}", style="bold")
        text.append(value + "\n", style=style)
    text.rstrip()
    return text


class LiveProgress:
    """The run observer that shows progress (rich on a terminal, else plain lines).

    ``stream`` defaults to stderr; ``rich_display=None`` picks rich when the stream is a
    terminal. ``interval_s`` is the refresh period (default: 0.5 s rich, 10 s plain).
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        rich_display: bool | None = None,
        interval_s: float | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if rich_display is None:
            rich_display = bool(getattr(self.stream, "isatty", lambda: False)())
        self.rich_display = rich_display
        self.interval_s = interval_s or (RICH_INTERVAL_S if rich_display else PLAIN_INTERVAL_S)
        self._view: PassView | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Any = None
        self.last: Snapshot | None = None
        self.busy_s = 0.0  # CPU time spent reading and rendering (what the display costs)
        self.ticks = 0

    # ------------------------------------------------------------------ observer protocol
    def pass_started(self, view: PassView) -> None:
        self.pass_ended(None, None)  # a previous pass that was never closed
        self._view = view
        self._stop.clear()
        if self.rich_display:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream, force_terminal=True)
            self._live = Live(
                console=console,
                auto_refresh=False,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self.tick()
        self._thread = threading.Thread(target=self._loop, name="mlpace-progress", daemon=True)
        self._thread.start()

    def pass_ended(self, view: PassView | None, result: object) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join()
        self.tick(final=True, result=result)
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._view = None

    # ------------------------------------------------------------------ rendering
    def tick(self, final: bool = False, result: object = None) -> Snapshot | None:
        """Read the view once and show it (the last time with the pass's exact result)."""
        view = self._view
        if view is None:
            return None
        cpu0 = time.thread_time()
        snap = _with_result(snapshot(view), result)
        self.last = snap
        if self._live is not None:
            self._live.update(render_rich(snap), refresh=True)
        else:
            self.stream.write(format_line(snap) + ("  (end)" if final else "") + "\n")
            self.stream.flush()
        self.busy_s += time.thread_time() - cpu0
        self.ticks += 1
        return snap

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception as exc:  # a display problem must never stop the run
                self.stream.write(f"mlpace: progress display stopped: {exc}\n")
                return


def _with_result(snap: Snapshot, result: object) -> Snapshot:
    """The final reading: the result's exact percentiles instead of the recent window's."""
    latency = getattr(result, "latency", None)
    if latency is None or not getattr(result, "has_metrics", False):
        return snap
    try:
        p90, p99 = float(latency.at(0.9)), float(latency.at(0.99))
    except (KeyError, AttributeError, TypeError):
        return snap
    lag = getattr(getattr(result, "issue_lag", None), "p99_ns", snap.lag_p99_ns)
    count = int(getattr(latency, "count", snap.window))
    return dataclasses.replace(snap, p90_ns=p90, p99_ns=p99, lag_p99_ns=float(lag), window=count)


def live_progress(quiet: bool = False, stream: IO[str] | None = None) -> LiveProgress | None:
    """The observer ``mlpace run`` passes to ``run_test`` (None with ``--quiet``)."""
    return None if quiet else LiveProgress(stream)


__all__ = [
    "LiveProgress",
    "PassView",
    "Snapshot",
    "format_line",
    "live_progress",
    "render_rich",
    "snapshot",
]
