"""Schedulers that run a task stream and keep the run-time mode up to date.

Both schedulers pull tasks from the program's stream into a window of at most ``window``
unfinished tasks (a task's dependencies must come earlier in the stream), run ready tasks on
free units of their resource in stream order, and after every admission and every completion
update the mode and let the optimisations react. The stream is a generator, so a program can
read an optimisation's state when it emits its next tasks.

- :class:`VirtualScheduler` runs each task for real, inline, and charges it a duration: its
  measured CPU time by default, or what a cost model says. Time is virtual, so P processors
  and modelled links are simulated exactly on any machine, a loaded one included, and tests
  with a cost model get exact switch points.
- :class:`ThreadScheduler` runs the same stream on real threads (one per processor, one per
  named resource) against a clock; durations longer than the run of ``fn`` (a modelled link)
  are waited out on the clock.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from mlpace.adaptive.runtime import AdaptiveError, Mode, ModeTracker, Optimisations, Task, Toggle

CPU = "cpu"

# (task, measured CPU ns of its fn) -> the duration charged to it, in ns.
DurationPolicy = Callable[[Task, int], int]


def measured(task: Task, cpu_ns: int) -> int:
    """The default policy: a task lasts as long as its function took on the CPU."""
    return cpu_ns


@dataclass
class RunStats:
    makespan_ns: int
    tasks: int
    busy_ns: dict[str, int] = field(default_factory=dict)  # per resource class
    cpu_ns: int = 0  # measured CPU time of all task functions together
    toggles: list[Toggle] = field(default_factory=list)
    modes: list[tuple[int, Mode]] = field(default_factory=list)  # only with trace_modes


class _Book:
    """Admission, dependencies and mode bookkeeping shared by both schedulers (not locked)."""

    def __init__(
        self,
        stream: Iterable[Task],
        window: int,
        tracker: ModeTracker,
        optimisations: Optimisations | None,
        trace_modes: bool,
    ) -> None:
        if window < 1:
            raise AdaptiveError("the scheduling window must hold at least 1 task", field="window")
        self.it: Iterator[Task] = iter(stream)
        self.window = window
        self.tracker = tracker
        self.opts = optimisations
        self.exhausted = False
        self.inflight = 0
        self.admitted = 0
        self.pending: dict[int, int] = {}  # id(task) -> unfinished dependencies
        self.dependents: dict[int, list[Task]] = {}
        self.ready: dict[str, deque[Task]] = {}
        self.stats = RunStats(0, 0)
        self.trace_modes = trace_modes

    def react(self, now_ns: int) -> None:
        mode = self.tracker.mode()
        if self.trace_modes:
            self.stats.modes.append((now_ns, mode))
        if self.opts is not None:
            self.stats.toggles.extend(self.opts.evaluate(mode, now_ns))

    def admit(self, now_ns: int) -> None:
        """Fill the window from the stream, one task at a time, reacting after each."""
        while not self.exhausted and self.inflight < self.window:
            try:
                task = next(self.it)
            except StopIteration:
                self.exhausted = True
                break
            self._enter(task)
            self.react(now_ns)

    def _enter(self, task: Task) -> None:
        if task.seq >= 0:
            raise AdaptiveError(f"task {task.name!r} appears twice in the stream", field="stream")
        waiting = 0
        for dep in task.deps:
            if dep.seq < 0:
                raise AdaptiveError(
                    f"task {task.name!r} depends on {dep.name!r}, which is not earlier in the "
                    "stream",
                    field="deps",
                )
            if dep.end_ns < 0:
                waiting += 1
                self.dependents.setdefault(id(dep), []).append(task)
        task.seq = self.admitted
        self.inflight += 1
        self.admitted += 1
        self.tracker.enter(task)
        if waiting:
            self.pending[id(task)] = waiting
        else:
            self.ready.setdefault(_resource_class(task.resource), deque()).append(task)

    def finish(self, task: Task, now_ns: int) -> None:
        task.end_ns = now_ns
        self.inflight -= 1
        self.stats.tasks += 1
        self.tracker.leave(task)
        for dep in self.dependents.pop(id(task), ()):
            left = self.pending[id(dep)] - 1
            if left:
                self.pending[id(dep)] = left
            else:
                del self.pending[id(dep)]
                self.ready.setdefault(_resource_class(dep.resource), deque()).append(dep)
        self.react(now_ns)

    @property
    def done(self) -> bool:
        return self.exhausted and self.inflight == 0


def _resource_class(resource: str) -> str:
    return CPU if resource == CPU else resource


def _charge(book: _Book, task: Task, res: str, cpu_ns: int, duration: int) -> None:
    book.stats.cpu_ns += cpu_ns
    book.stats.busy_ns[res] = book.stats.busy_ns.get(res, 0) + duration


class VirtualScheduler:
    """Discrete-event list scheduling in virtual time over ``processors`` CPUs plus named
    single-unit resources; task functions run inline and are charged ``durations``."""

    def __init__(
        self,
        *,
        processors: int,
        window: int,
        optimisations: Optimisations | None = None,
        tracker: ModeTracker | None = None,
        durations: DurationPolicy = measured,
        cpu_time_ns: Callable[[], int] = time.thread_time_ns,
        trace_modes: bool = False,
    ) -> None:
        if processors < 1:
            raise AdaptiveError("need at least 1 processor", field="processors", value=processors)
        self.processors = processors
        self.window = window
        self.optimisations = optimisations
        self.tracker = tracker or ModeTracker()
        self.durations = durations
        self.cpu_time_ns = cpu_time_ns
        self.trace_modes = trace_modes

    def run(self, stream: Iterable[Task]) -> RunStats:
        book = _Book(stream, self.window, self.tracker, self.optimisations, self.trace_modes)
        free_cpu = self.processors
        busy_named: set[str] = set()
        events: list[tuple[int, int, Task]] = []
        seq = itertools.count()
        now = 0
        book.react(now)
        while True:
            book.admit(now)
            for res, queue in book.ready.items():
                while queue and (free_cpu > 0 if res == CPU else res not in busy_named):
                    task = queue.popleft()
                    if res == CPU:
                        free_cpu -= 1
                    else:
                        busy_named.add(res)
                    task.start_ns = now
                    t0 = self.cpu_time_ns()
                    task.result = task.fn() if task.fn is not None else None
                    cpu_ns = self.cpu_time_ns() - t0
                    task.fn = None  # run once; dropping it breaks closure -> task cycles
                    duration = max(0, int(self.durations(task, cpu_ns)))
                    _charge(book, task, res, cpu_ns, duration)
                    heapq.heappush(events, (now + duration, next(seq), task))
            if not events:
                if book.done:
                    break
                raise AdaptiveError("the task stream cannot make progress", field="stream")
            now, _, task = heapq.heappop(events)
            res = _resource_class(task.resource)
            if res == CPU:
                free_cpu += 1
            else:
                busy_named.discard(res)
            book.finish(task, now)
        book.stats.makespan_ns = now
        return book.stats


class ThreadScheduler:
    """The same stream on real threads: ``processors`` CPU workers and one thread per named
    resource; elapsed time from ``clock_ns`` (a monotonic ns clock)."""

    def __init__(
        self,
        *,
        processors: int,
        window: int,
        optimisations: Optimisations | None = None,
        tracker: ModeTracker | None = None,
        durations: DurationPolicy = measured,
        clock_ns: Callable[[], int] = time.perf_counter_ns,
        sleep_until_ns: Callable[[int], None] | None = None,
        cpu_time_ns: Callable[[], int] = time.thread_time_ns,
    ) -> None:
        if processors < 1:
            raise AdaptiveError("need at least 1 processor", field="processors", value=processors)
        self.processors = processors
        self.window = window
        self.optimisations = optimisations
        self.tracker = tracker or ModeTracker()
        self.durations = durations
        self.clock_ns = clock_ns
        self.sleep_until_ns = sleep_until_ns or self._sleep_until
        self.cpu_time_ns = cpu_time_ns

    def _sleep_until(self, t_ns: int) -> None:
        left = t_ns - self.clock_ns()
        if left > 0:
            time.sleep(left / 1e9)

    def run(self, stream: Iterable[Task]) -> RunStats:
        book = _Book(stream, self.window, self.tracker, self.optimisations, False)
        cond = threading.Condition()
        errors: list[BaseException] = []
        threads: dict[str, threading.Thread] = {}
        running = [0]
        t0 = self.clock_ns()

        def now() -> int:
            return self.clock_ns() - t0

        def worker(res: str) -> None:
            while True:
                with cond:
                    while not book.ready.get(res) and not book.done and not errors:
                        cond.wait()
                    if errors or (book.done and not book.ready.get(res)):
                        cond.notify_all()
                        return
                    task = book.ready[res].popleft()
                    running[0] += 1
                    task.start_ns = now()
                try:
                    c0 = self.cpu_time_ns()
                    task.result = task.fn() if task.fn is not None else None
                    cpu_ns = self.cpu_time_ns() - c0
                    task.fn = None
                    duration = max(0, int(self.durations(task, cpu_ns)))
                    self.sleep_until_ns(t0 + task.start_ns + duration)
                except BaseException as exc:  # handed to run()'s caller below
                    with cond:
                        errors.append(exc)
                        cond.notify_all()
                    return
                with cond:
                    running[0] -= 1
                    _charge(book, task, res, cpu_ns, duration)
                    book.finish(task, now())
                    book.admit(now())
                    spawn_named()
                    cond.notify_all()

        def spawn_named() -> None:  # called with the lock held
            for res in book.ready:
                if res != CPU and res not in threads:
                    threads[res] = threading.Thread(target=worker, args=(res,), daemon=True)
                    threads[res].start()

        with cond:
            book.react(0)
            book.admit(0)
            for i in range(self.processors):
                threads[f"{CPU}#{i}"] = threading.Thread(target=worker, args=(CPU,), daemon=True)
                threads[f"{CPU}#{i}"].start()
            spawn_named()
        with cond:
            while not book.done and not errors:
                cond.wait(0.5)
                spawn_named()
                stuck = running[0] == 0 and not any(book.ready.values())
                if stuck and not book.done and not errors:
                    errors.append(
                        AdaptiveError("the task stream cannot make progress", field="stream")
                    )
            cond.notify_all()
        for thread in list(threads.values()):
            thread.join()
        if errors:
            raise errors[0]
        book.stats.makespan_ns = now()
        return book.stats
