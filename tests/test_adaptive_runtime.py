"""The run-time mode, domains of efficiency with hysteresis, and both schedulers, in virtual time
with scripted task streams (durations come from the declared estimates, so every switch point
is exact)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from mlpace.adaptive import (
    COMM,
    COMPUTE,
    OFF,
    ON,
    AdaptiveError,
    ModeTracker,
    Optimisations,
    Task,
    ThreadScheduler,
    VirtualScheduler,
    hysteresis,
    rules,
)
from mlpace.adaptive.runtime import Mode


def by_estimate(task: Task, cpu_ns: int) -> int:
    return int(task.est_ns)


def mode_of(compute: float, comm: float) -> Mode:
    return Mode(((COMPUTE, compute), (COMM, comm)), 1)


def test_mode_tracker_sums_and_ratio() -> None:
    tr = ModeTracker()
    assert math.isnan(tr.mode().ratio)  # empty window
    a, b, c = Task("a", COMPUTE, 300.0), Task("b", COMM, 100.0), Task("c", COMM, 50.0)
    for t in (a, b, c):
        tr.enter(t)
    m = tr.mode()
    assert m.ratio == pytest.approx(2.0)
    assert m.tasks == 3
    assert m.share(COMPUTE) == pytest.approx(300 / 450)
    assert tr.mode() is m  # cheap read: cached until the window changes
    tr.leave(b)
    tr.leave(c)
    assert tr.mode().ratio == math.inf  # computation only
    tr.leave(a)
    assert tr.mode().load(COMPUTE) == 0.0 and tr.mode().tasks == 0


def test_hysteresis_switches_exactly_at_the_thresholds() -> None:
    dom = hysteresis(0.5, 2.0)
    opts = Optimisations()
    opts.register("z", dom)
    ratios = [1.0, 0.6, 0.49, 0.9, 1.9, 2.0, 2.01, 1.0, 0.5, 0.4]
    for t, r in enumerate(ratios):
        opts.evaluate(mode_of(r, 1.0), t)
    assert [(tg.time_ns, tg.old, tg.new) for tg in opts.log] == [
        (2, OFF, ON),
        (6, ON, OFF),
        (9, OFF, ON),
    ]
    assert opts.log[0].mode.ratio == pytest.approx(0.49)  # each toggle keeps its mode


def test_hysteresis_does_not_flap_inside_the_band() -> None:
    opts = Optimisations()
    opts.register("z", hysteresis(0.5, 2.0), initial=ON)
    # noise that a single threshold at 1.0 would turn into 20 switches
    for t in range(20):
        opts.evaluate(mode_of(0.6 if t % 2 else 1.9, 1.0), t)
    assert opts.log == []
    assert opts.switches("z") == 0


def test_domain_sees_its_own_state_and_nan_holds() -> None:
    seen: list[str] = []

    def dom(mode: Mode, state: str) -> str:
        seen.append(state)
        return ON if state == OFF else OFF  # toggles on every evaluation

    opts = Optimisations()
    notified: list[str] = []
    opts.register("flip", dom, on_toggle=notified.append)
    for t in range(3):
        opts.evaluate(mode_of(1, 1), t)
    assert seen == [OFF, ON, OFF]
    assert notified == [ON, OFF, ON]
    h = Optimisations()
    h.register("z", hysteresis(0.5, 2.0))
    h.evaluate(Mode((), 0), 0)
    assert h.state("z") == OFF and h.log == []


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 1.0), (2.0, 1.0), (-1.0, 1.0), (0.1, math.inf)])
def test_bad_thresholds(alpha: float, beta: float) -> None:
    with pytest.raises(AdaptiveError, match="alpha|beta"):
        hysteresis(alpha, beta)


def scripted(types: str, est: float = 100.0) -> list[Task]:
    """'m' = communication, 'c' = computation, in stream order, no dependencies."""
    return [Task(f"t{i}", COMM if k == "m" else COMPUTE, est) for i, k in enumerate(types)]


def test_virtual_scheduler_switch_points_in_a_scripted_stream() -> None:
    opts = Optimisations()
    opts.register("compression", hysteresis(0.5, 2.0))
    sched = VirtualScheduler(processors=1, window=2, optimisations=opts, durations=by_estimate)
    stats = sched.run(scripted("mmmmmccccc"))
    # t=0: first task (comm) enters: ratio 0 -> on. Task k runs [100k, 100k+100]. The window
    # is {t4 (comm), t5} after t3 ends at 400 (ratio 1: hold) and {t5, t6} after t4 ends at
    # 500: computation only -> off.
    assert [(t.time_ns, t.new) for t in stats.toggles] == [(0, ON), (500, OFF)]
    assert stats.makespan_ns == 1000
    assert stats.tasks == 10


def test_alternating_phases_switch_once_per_boundary_without_flapping() -> None:
    opts = Optimisations()
    opts.register("compression", hysteresis(0.5, 2.0))
    phase = "mmmmmmmmcm" + "ccccccccmc"  # noisy phases: one stray task of the other kind
    sched = VirtualScheduler(processors=1, window=4, optimisations=opts, durations=by_estimate)
    stats = sched.run(scripted(phase * 3))
    assert [t.new for t in stats.toggles] == [ON, OFF, ON, OFF, ON, OFF]


def test_dependencies_processors_and_named_resources() -> None:
    a = Task("a", COMPUTE, 100.0)
    b = Task("b", COMPUTE, 100.0)
    s1 = Task("s1", COMM, 30.0, resource="link:0")
    s2 = Task("s2", COMM, 30.0, resource="link:0")  # same link: after s1
    c = Task("c", COMPUTE, 50.0, deps=(a, b, s2))
    stats = VirtualScheduler(processors=2, window=10, durations=by_estimate).run([a, b, s1, s2, c])
    assert (a.start_ns, b.start_ns) == (0, 0)
    assert (s1.start_ns, s2.start_ns) == (0, 30)
    assert c.start_ns == 100 and c.end_ns == 150
    assert stats.makespan_ns == 150
    assert stats.busy_ns == {"cpu": 250, "link:0": 60}


def test_window_limits_how_far_the_scheduler_looks_ahead() -> None:
    tasks = scripted("cccccc")
    VirtualScheduler(processors=4, window=2, durations=by_estimate).run(tasks)
    # only two tasks in flight at any time, although four processors are free
    assert [t.start_ns for t in tasks] == [0, 0, 100, 100, 200, 200]


def test_stream_reads_the_optimisation_state_as_it_is_emitted() -> None:
    opts = Optimisations()
    opts.register("z", hysteresis(0.5, 2.0))
    emitted: list[str] = []

    def program() -> Iterator[Task]:
        for i in range(6):
            emitted.append(opts.state("z"))
            yield Task(f"t{i}", COMM, 10.0)

    VirtualScheduler(processors=1, window=1, optimisations=opts, durations=by_estimate).run(
        program()
    )
    assert emitted == [OFF] + [ON] * 5


def test_stream_errors_are_clear() -> None:
    later = Task("later", COMPUTE, 1.0)
    early = Task("early", COMPUTE, 1.0, deps=(later,))
    with pytest.raises(AdaptiveError, match="not earlier in the stream"):
        VirtualScheduler(processors=1, window=4).run([early, later])
    t = Task("twice", COMPUTE, 1.0)
    with pytest.raises(AdaptiveError, match="twice"):
        VirtualScheduler(processors=1, window=4).run([t, t])
    with pytest.raises(AdaptiveError, match="window"):
        VirtualScheduler(processors=1, window=0).run([])
    with pytest.raises(AdaptiveError, match="estimated cost"):
        Task("neg", COMPUTE, -1.0)


def test_thread_scheduler_runs_a_graph_and_keeps_the_mode() -> None:
    order: list[str] = []

    def work(name: str) -> str:
        order.append(name)
        return name

    tasks: list[Task] = []
    for i in range(8):
        send = Task(f"s{i}", COMM, 100.0, resource=f"link:{i % 2}")
        send.fn = lambda n=send.name: work(n)
        mult = Task(f"m{i}", COMPUTE, 10.0, deps=(send,))
        mult.fn = lambda n=mult.name: work(n)
        tasks += [send, mult]
    opts = Optimisations()
    opts.register("z", hysteresis(0.5, 2.0))
    ticks = iter(range(0, 10**9, 1000))
    stats = ThreadScheduler(
        processors=2,
        window=4,
        optimisations=opts,
        clock_ns=lambda: next(ticks),
        sleep_until_ns=lambda t: None,
    ).run(tasks)
    assert stats.tasks == 16
    assert sorted(order) == sorted(t.name for t in tasks)
    for i in range(8):
        assert order.index(f"s{i}") < order.index(f"m{i}")
    assert opts.state("z") in (ON, OFF) and opts.log[0].new == ON  # communication first


def test_thread_scheduler_reports_a_failing_task() -> None:
    def boom() -> None:
        raise ValueError("tile exploded")

    with pytest.raises(ValueError, match="tile exploded"):
        ThreadScheduler(processors=2, window=4).run([Task("x", COMPUTE, 1.0, fn=boom)])


def test_rules_express_a_vector_domain_with_several_states() -> None:
    # a three-state optimisation driven by two components of the mode vector
    dom = rules(
        (lambda m, s: m.share(COMM) > 0.8, "aggressive"),
        (lambda m, s: m.share(COMM) > 0.5 and s != "aggressive", "light"),
        (lambda m, s: m.share(COMM) < 0.2, OFF),
    )
    opts = Optimisations()
    opts.register("codec", dom)
    for t, comm in enumerate([0.1, 0.6, 0.9, 0.6, 0.3, 0.1]):
        opts.evaluate(mode_of(1 - comm, comm), t)
    assert [(tg.time_ns, tg.new) for tg in opts.log] == [(1, "light"), (2, "aggressive"), (5, OFF)]
