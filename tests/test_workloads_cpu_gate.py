"""The wait for a free core before a timing attempt (``mlpace.workloads._cpu_gate``), with a
scripted /proc/stat, CPU time and clock: no test waits or spins."""

from __future__ import annotations

from mlpace.workloads import _cpu_gate as gate


def stat(user: int, idle: int, steal: int, cores: int = 2) -> str:
    lines = [f"cpu  {user} 0 0 {idle} 0 0 0 {steal} 0 0"]
    lines += [f"cpu{i} 0 0 0 0 0 0 0 0 0 0" for i in range(cores)]
    return "\n".join([*lines, "intr 1 2 3", "ctxt 99"]) + "\n"


class Machine:
    """Each spin of s seconds: our thread gets ``share`` x s of CPU; /proc/stat (2 cores,
    100 jiffies a second each) gains the scripted (others' busy cores, steal cores)."""

    def __init__(self, samples: list[tuple[float, float, float]]) -> None:
        self.samples = samples  # (our share, others' cores, stolen cores) per spin
        self.now = self.cpu = 0.0
        self.user = self.idle = self.steal = 0.0
        self.spins = 0

    def read(self) -> str:
        return stat(round(self.user), round(self.idle), round(self.steal))

    def spin(self, seconds: float) -> None:
        share, others, stolen = self.samples[min(self.spins, len(self.samples) - 1)]
        self.spins += 1
        self.now += seconds
        self.cpu += share * seconds
        jiffies = 100 * seconds
        self.user += (share + others) * jiffies
        self.steal += stolen * jiffies
        self.idle += (2 - share - others - stolen) * jiffies

    def gate(self, lines: list[str]) -> gate.CpuGate:
        return gate.CpuGate(lines.append, self.read, lambda: self.now, self.spin, lambda: self.cpu)


def test_usage_splits_idle_steal_and_busy_time() -> None:
    used = gate.usage(stat(0, 0, 0), stat(50, 30, 20))
    assert used is not None and used.cores == 2
    assert (used.idle, used.steal) == (0.6, 0.4) and abs(used.busy - 1.0) < 1e-12
    with_iowait = "cpu  10 0 0 20 20 0 0 0 0 0\ncpu0 0\ncpu1 0\n"
    assert gate.usage(stat(0, 0, 0), with_iowait) == gate.Usage(2, 1.6, 0.0, 0.4)
    assert gate.usage("garbage", stat(1, 1, 0)) is None
    assert gate.usage(stat(5, 5, 0), stat(5, 5, 0)) is None  # no time passed


def test_a_free_core_lets_the_attempt_run_at_once_and_silently() -> None:
    lines: list[str] = []
    machine = Machine([(1.0, 0.9, 0.0)])  # another process uses a core; the other is ours
    result = machine.gate(lines)("Server attempt 1")
    assert result.free and result.share == 1.0 and result.waited_s == gate.SAMPLE_S
    assert lines == [] and machine.spins == 1


def test_a_busy_machine_waits_until_a_core_frees_and_says_so() -> None:
    lines: list[str] = []
    # two other processes on both cores: our spinning thread gets a third of a core
    machine = Machine([(0.34, 1.66, 0.0)] * 3 + [(0.99, 0.5, 0.0)])
    result = machine.gate(lines)("Server attempt 2")
    assert result.free and result.waited_s == 4 * gate.SAMPLE_S
    assert len(lines) == 2
    assert "Server attempt 2: the cores are busy (a spinning thread got 0.34 of a core" in lines[0]
    assert "other processes used 1.66 of 2 cores" in lines[0] and "waiting up to 6 s" in lines[0]
    assert "a core is free after 1.0 s" in lines[1]


def test_steal_by_the_host_counts_as_busy_even_if_our_clock_misses_it() -> None:
    lines: list[str] = []
    # the thread clock says a full core, but the host took 0.6 cores meanwhile
    machine = Machine([(1.0, 0.0, 0.6)] * 2 + [(1.0, 0.0, 0.0)])
    result = machine.gate(lines)("Server peak search")
    assert result.free and machine.spins == 3
    assert "got 0.40 of a core" in lines[0] and "the host took 0.60 for other machines" in lines[0]


def test_the_wait_is_bounded() -> None:
    lines: list[str] = []
    machine = Machine([(0.3, 1.7, 0.0)])  # never free
    result = machine.gate(lines)("Server peak search")
    assert not result.free and result.waited_s == gate.MAX_WAIT_S
    assert machine.spins == gate.MAX_WAIT_S / gate.SAMPLE_S
    assert "no core became free within 6 s" in lines[-1] and "running anyway" in lines[-1]


def test_a_caller_with_a_time_budget_shortens_the_wait() -> None:
    lines: list[str] = []
    machine = Machine([(0.3, 1.7, 0.0)])  # never free
    result = machine.gate(lines)("Server attempt 5", max_wait_s=1.0)
    assert not result.free and result.waited_s == 1.0 and machine.spins == 4
    assert "waiting up to 1 s" in lines[0] and "no core became free within 1 s" in lines[-1]
    # a longer budget does not lengthen the gate's own limit
    assert machine.gate([])("x", max_wait_s=60.0).waited_s == gate.MAX_WAIT_S


def test_without_proc_stat_it_does_nothing() -> None:
    spun: list[float] = []
    g = gate.CpuGate(print, lambda: None, lambda: 0.0, spun.append, lambda: 0.0)
    assert g("x") == gate.GateResult(0.0, None, True)
    assert spun == []


def test_the_load_meter_counts_other_processes_and_steal_but_not_us() -> None:
    machine = Machine([(0.0, 0.0, 0.0)])
    meter = gate.LoadMeter(machine.read, lambda: machine.now, lambda: machine.cpu)
    meter.start()
    # 4 s: we use 1.5 cores (the thread-time share in Machine counts for the whole process
    # here), others 0.3, the host steals 0.2
    machine.samples = [(1.5, 0.3, 0.2)]
    machine.spin(4.0)
    others = meter.stop()
    assert others is not None and abs(others - 0.5) < 1e-9
    assert meter.stop() is None  # one reading per start


def test_the_load_meter_without_proc_stat_knows_nothing() -> None:
    meter = gate.LoadMeter(lambda: None, lambda: 0.0, lambda: 0.0)
    meter.start()
    assert meter.stop() is None
