"""The wait for a free core before a timing attempt (``mlpace.workloads._cpu_gate``), with a
scripted /proc/stat and a fake clock: no test waits."""

from __future__ import annotations

from mlpace.workloads import _cpu_gate as gate


def stat(idle: int, busy: int, cores: int = 2) -> str:
    """A /proc/stat text whose totals are ``busy`` user and ``idle`` idle jiffies."""
    lines = [f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0"]
    lines += [f"cpu{i} 0 0 0 0 0 0 0 0 0 0" for i in range(cores)]
    return "\n".join([*lines, "intr 1 2 3", "ctxt 99"]) + "\n"


class Script:
    """Reads /proc/stat from a list; sleep advances the fake clock."""

    def __init__(self, deltas: list[tuple[int, int]]) -> None:
        self.idle = self.busy = 0
        self.deltas = deltas
        self.now = 0.0
        self.reads = 0

    def read(self) -> str | None:
        if self.reads:
            d_idle, d_busy = self.deltas[min(self.reads - 1, len(self.deltas) - 1)]
            self.idle += d_idle
            self.busy += d_busy
        self.reads += 1
        return stat(self.idle, self.busy)

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make(script: Script, lines: list[str]) -> gate.CpuGate:
    return gate.CpuGate(lines.append, script.read, script.clock, script.sleep)


def test_idle_cores_counts_idle_and_iowait_jiffies() -> None:
    assert gate.idle_cores(stat(0, 0), stat(50, 50)) == 1.0  # half of 2 cores
    with_iowait = "cpu  10 0 0 20 20 0 0 0 0 0\ncpu0 0\ncpu1 0\n"
    assert gate.idle_cores(stat(0, 0), with_iowait) == 1.6  # (20 + 20) / 50 x 2
    assert gate.idle_cores("garbage", stat(1, 1)) is None
    assert gate.idle_cores(stat(5, 5), stat(5, 5)) is None  # no time passed


def test_a_free_core_lets_the_attempt_run_at_once_and_silently() -> None:
    lines: list[str] = []
    script = Script([(60, 40)])  # 1.2 idle cores
    result = make(script, lines)("Server attempt 1")
    assert result.free and result.waited_s == gate.SAMPLE_S
    assert result.idle_cores is not None and abs(result.idle_cores - 1.2) < 1e-9
    assert lines == []


def test_a_busy_machine_waits_until_a_core_frees_and_says_so() -> None:
    lines: list[str] = []
    script = Script([(10, 90), (10, 90), (10, 90), (50, 50)])  # 0.2 idle cores, then 1.0
    result = make(script, lines)("Server attempt 2")
    assert result.free and result.waited_s == 4 * gate.SAMPLE_S
    assert len(lines) == 2
    assert "Server attempt 2: other processes keep the cores busy (idle 0.20 cores)" in lines[0]
    assert "waiting up to 6 s" in lines[0]
    assert "a core is free after 1.0 s" in lines[1]


def test_the_wait_is_bounded() -> None:
    lines: list[str] = []
    script = Script([(0, 100)])  # never idle
    result = make(script, lines)("Server peak search")
    assert not result.free and result.waited_s == gate.MAX_WAIT_S
    assert script.reads == gate.MAX_WAIT_S / gate.SAMPLE_S + 1
    assert "no core became free within 6 s" in lines[-1] and "running anyway" in lines[-1]


def test_without_proc_stat_it_does_nothing() -> None:
    slept: list[float] = []
    g = gate.CpuGate(print, lambda: None, lambda: 0.0, slept.append)
    assert g("x") == gate.GateResult(0.0, None, True)
    assert slept == []
