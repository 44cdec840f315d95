"""The thread sweep with an injected measure and clock: rounds, budget, Ctrl-C, the best point,
speedups, the files it writes and how ``mlpace run --threads-from`` applies them."""

from __future__ import annotations

import json
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mlpace.errors import BackendError, ConfigError, TaskError
from mlpace.workloads.backends import make_backend
from mlpace.workloads.run_types import RunOptions
from mlpace.workloads.topology import CpuTopology
from mlpace.workloads.tuning import SweepResult, format_sweep_table, run_sweep
from mlpace.workloads.tuning_file import (
    apply_thread_settings,
    read_thread_settings,
    threads_document,
)
from mlpace.workloads.tuning_grid import FRAMEWORK_DEFAULT, INTEL_STYLE, ThreadPoint
from mlpace.workloads.tuning_run import TuneOptions, tune_threads

TOPO = CpuTopology(2, 2, 1)
DEFAULT = ThreadPoint(None, 1, 1, 32, FRAMEWORK_DEFAULT)
INTEL = ThreadPoint(2, 1, 1, 32, INTEL_STYLE)
WORKERS = ThreadPoint(1, 1, 2, 32)
POOLS = ThreadPoint(1, 2, 1, 32)
POINTS = [DEFAULT, INTEL, WORKERS, POOLS]
RATES = {DEFAULT.key: 100.0, INTEL.key: 110.0, WORKERS.key: 200.0, POOLS.key: 150.0}


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class FakeMeasure:
    """Each call 'takes' ``cost`` seconds of the fake clock; the figure wobbles by ±5 %."""

    def __init__(self, clock: FakeClock, cost: float = 1.0, interrupt_at: int = 0) -> None:
        self.clock, self.cost, self.interrupt_at = clock, cost, interrupt_at
        self.calls: list[ThreadPoint] = []
        self.metric = "samples/s"
        self.largest_batch = 100

    def __call__(self, point: ThreadPoint) -> float:
        self.calls.append(point)
        if self.interrupt_at and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        if point.pools == 3:
            raise BackendError("this build has no parallel executor")
        self.clock.t += self.cost
        wobble = (0.95, 1.05, 1.0)[len(self.calls) % 3]
        return RATES.get(point.key, 50.0) * wobble

    def graph_width(self) -> int:
        return 3

    def close(self) -> None:
        return None


def sweep(points: list[ThreadPoint], measure: FakeMeasure, **kw: object) -> SweepResult:
    args: dict[str, object] = {"repeats": 3, "budget_s": 100.0}
    args.update(kw)
    return run_sweep(
        points,
        measure,
        task="digits",
        backend="onnxruntime",
        scenario="Offline",
        metric="samples/s",
        topology=TOPO,
        graph_width=3,
        clock=measure.clock,
        **args,  # type: ignore[arg-type]
    )


def test_rounds_alternate_order_and_best_has_clear_speedups() -> None:
    m = FakeMeasure(FakeClock())
    s = sweep(POINTS, m)
    assert [len(r.values) for r in s.results] == [3, 3, 3, 3]
    assert m.calls[:4] == POINTS and m.calls[4:8] == POINTS and m.calls[8:] == POINTS[::-1]
    assert s.best is not None and s.best.point == WORKERS
    by = {sp.reference: sp for sp in s.speedups()}
    assert by[FRAMEWORK_DEFAULT].ratio == pytest.approx(2.0, rel=0.11)
    assert by[FRAMEWORK_DEFAULT].wins == 3
    assert by[INTEL_STYLE].ratio == pytest.approx(200 / 110, rel=0.11)
    assert not s.stopped and s.exit_code == 0


def test_budget_is_respected_and_unmeasured_points_are_said() -> None:
    m = FakeMeasure(FakeClock(), cost=10.0)
    s = sweep(POINTS, m, budget_s=45.0)
    assert s.elapsed_s <= 45.0
    # round 1 may use a third of the budget, but measures two points at least (a comparison
    # needs two); later rounds repeat just those while the budget lasts
    assert [len(r.values) for r in s.results] == [2, 2, 0, 0]
    assert "not measured" in s.stopped
    table = format_sweep_table(s)
    assert "(not measured)" in table and "stopped early" in table


def test_ctrl_c_keeps_the_points_measured_so_far() -> None:
    m = FakeMeasure(FakeClock(), interrupt_at=6)
    s = sweep(POINTS, m)
    assert [len(r.values) for r in s.results] == [2, 1, 1, 1]
    assert s.exit_code == 130 and "Ctrl-C" in s.stopped
    assert s.best is not None and s.best.point == DEFAULT  # the only point measured twice


def test_a_failing_point_is_reported_and_skipped() -> None:
    bad = ThreadPoint(1, 3, 1, 32)
    m = FakeMeasure(FakeClock())
    s = sweep([DEFAULT, bad, WORKERS], m)
    assert s.results[1].error and not s.results[1].values
    assert m.calls.count(bad) == 1
    assert "failed: this build has no parallel executor" in format_sweep_table(s)


def test_extra_rounds_use_the_budget_left_whole_rounds_only() -> None:
    m = FakeMeasure(FakeClock(), cost=1.0)
    s = sweep(POINTS, m, repeats=3, max_repeats=9, budget_s=22.5)
    # 3 rounds of 4 points = 12 s; two more whole rounds fit in 22.5 s, a third would not
    assert [len(r.values) for r in s.results] == [5, 5, 5, 5]
    assert not s.stopped  # the extra rounds ending with the budget is no early stop
    s = sweep(POINTS, FakeMeasure(FakeClock()), repeats=2, max_repeats=4, budget_s=1000.0)
    assert [len(r.values) for r in s.results] == [4, 4, 4, 4]


def test_preparing_a_point_is_kept_out_of_the_cost_estimate() -> None:
    class Preparing(FakeMeasure):
        def prepare(self, point: ThreadPoint) -> None:
            self.clock.t += 5.0  # loading a backend: once per point

    s = sweep(POINTS, Preparing(FakeClock()), repeats=3, max_repeats=9, budget_s=60.0)
    # round 1: 4 x (5 + 1) s = 24 s (a 6 s estimate would have stopped it at 3 points);
    # then 8 more rounds of 4 s fit in 60 s
    assert [len(r.values) for r in s.results] == [9, 9, 9, 9]
    assert s.elapsed_s <= 60.0


def test_sign_test_needs_enough_rounds_to_call_a_speedup_clear() -> None:
    three = sweep(POINTS, FakeMeasure(FakeClock()), repeats=3)
    sp = three.speedup(FRAMEWORK_DEFAULT)
    assert sp is not None and sp.wins == 3 and sp.p_value == pytest.approx(0.125)
    assert not sp.clear and "not proven" in sp.describe()
    five = sweep(POINTS, FakeMeasure(FakeClock()), repeats=5)
    sp = five.speedup(FRAMEWORK_DEFAULT)
    assert sp is not None and sp.p_value == pytest.approx(1 / 32) and sp.clear


def test_noise_makes_a_speedup_unclear() -> None:
    close = ThreadPoint(1, 1, 2, 8)
    series = {DEFAULT.key: [100.0] * 6, close.key: [110.0, 95.0, 108.0, 96.0, 112.0, 97.0]}
    clock = FakeClock()

    def measure(point: ThreadPoint) -> float:
        clock.t += 1.0
        return series[point.key].pop(0)

    s = run_sweep(
        [DEFAULT, close],
        measure,
        task="digits",
        backend="onnxruntime",
        scenario="Offline",
        metric="samples/s",
        topology=TOPO,
        repeats=6,
        clock=clock,
    )
    sp = s.speedup(FRAMEWORK_DEFAULT)
    assert s.best is not None and s.best.point == close  # median 102.5 against 100
    assert sp is not None and sp.wins == 3 and not sp.clear
    assert sp.p_value == pytest.approx(42 / 64)


def test_markdown_table() -> None:
    s = sweep(POINTS, FakeMeasure(FakeClock()))
    md = format_sweep_table(s, markdown=True)
    assert md.splitlines()[0].startswith("| intra | pools | workers |")
    assert "| BEST |" in md


def test_threads_file_round_trip_and_apply(tmp_path: Path) -> None:
    s = sweep(POINTS, FakeMeasure(FakeClock()))
    doc = threads_document(s)
    assert doc is not None
    path = tmp_path / "threads.json"
    path.write_text(json.dumps(doc))
    settings = read_thread_settings(path)
    assert (settings.threads, settings.workers, settings.batch_size) == (1, 2, 32)
    assert settings.backend == "onnxruntime"
    opts, warnings = apply_thread_settings(RunOptions(task="digits", batch_size=8), settings)
    assert (opts.threads, opts.workers, opts.batch_size) == (1, 2, 8)  # the flag wins
    assert opts.backend == "onnxruntime" and opts.threads_from == str(path)
    assert opts.backend_options == {"execution_mode": "sequential"}
    assert not warnings
    _, warnings = apply_thread_settings(RunOptions(task="minilm-encoder"), settings)
    assert "tuned for task digits" in warnings[0]
    with pytest.raises(TaskError, match="tuned for the onnxruntime backend"):
        apply_thread_settings(RunOptions(task="digits", backend="torch"), settings)


def test_framework_default_best_maps_to_threads_zero(tmp_path: Path) -> None:
    s = sweep([DEFAULT], FakeMeasure(FakeClock()))
    doc = threads_document(s)
    assert doc is not None and doc["settings"]["threads"] is None  # type: ignore[index]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    opts, _ = apply_thread_settings(RunOptions(task="digits"), read_thread_settings(path))
    assert opts.threads == 0  # the runner reads 0 as "the framework's default"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "t.json:1: not JSON"),
        ('{"format": "other"}', "not a thread-settings file"),
        ('{"format": "mlpace-threads/1"}', "no 'settings' object"),
        ('{"format": "mlpace-threads/1", "settings": {"threads": -1}}', "settings.threads"),
        ('{"format": "mlpace-threads/1", "settings": {"workers": "2"}}', "settings.workers"),
    ],
)
def test_bad_threads_files_name_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_thread_settings(path)
    with pytest.raises(ConfigError, match="no such file"):
        read_thread_settings(tmp_path / "missing.json")


def test_tune_threads_writes_every_file(tmp_path: Path) -> None:
    clock = FakeClock()
    made: list[FakeMeasure] = []

    def factory(opts: TuneOptions, log_root: Path) -> FakeMeasure:
        made.append(FakeMeasure(clock))
        return made[-1]

    extra = tmp_path / "best.json"
    out = tune_threads(
        TuneOptions(
            "digits", backend="onnx", output_dir=tmp_path / "o", threads_file=extra, topology=TOPO
        ),
        make_measurer=factory,  # type: ignore[arg-type]
        clock=clock,
    )
    assert out.sweep.backend == "onnxruntime" and out.exit_code == 0
    assert set(out.files) >= {"sweep", "table", "plot", "threads", "threads_copy"}
    assert json.loads(extra.read_text()) == json.loads(out.files["threads"].read_text())
    doc = json.loads(out.files["sweep"].read_text())
    assert doc["topology"]["physical_cores"] == 2 and doc["graph_width"] == 3
    assert any(p["label"] == FRAMEWORK_DEFAULT for p in doc["points"])
    svg = ET.fromstring(out.files["plot"].read_text())
    assert svg.tag.endswith("svg")
    assert "intra-op threads per pool" in out.files["plot"].read_text()
    assert "best:" in out.table and "speedup:" in out.table


def test_best_settings_go_into_the_system_description(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[dict[str, object], dict[str, object]]] = []

    def describe_system(base: dict[str, object], **kw: object) -> dict[str, str]:
        calls.append((base, kw))
        return {"host_processor_model_name": "a CPU", **{k: str(v) for k, v in base.items()}}

    fake = types.ModuleType("mlpace.system")
    fake.describe_system = describe_system  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlpace.system", fake)
    clock = FakeClock()
    out = tune_threads(
        TuneOptions("digits", backend="numpy", output_dir=tmp_path, topology=TOPO),
        make_measurer=lambda o, r: FakeMeasure(clock),  # type: ignore[arg-type,return-value]
        clock=clock,
    )
    system = json.loads(out.files["system"].read_text())
    assert system["host_processor_model_name"] == "a CPU"
    assert "SUT worker(s)" in system["sw_notes"] and system["host_processor_core_count"] == "2"
    base, kw = calls[0]
    best = out.sweep.best
    assert best is not None
    assert kw == {"backend": "numpy", "threads": best.point.intra, "workers": best.point.workers}


def test_tune_threads_interrupted_still_writes_the_files(tmp_path: Path) -> None:
    clock = FakeClock()

    def factory(opts: TuneOptions, log_root: Path) -> FakeMeasure:
        return FakeMeasure(clock, interrupt_at=3)

    out = tune_threads(
        TuneOptions("digits", backend="numpy", output_dir=tmp_path, topology=TOPO),
        make_measurer=factory,  # type: ignore[arg-type]
        clock=clock,
    )
    assert out.exit_code == 130
    assert "stopped early: interrupted (Ctrl-C)" in out.table
    doc = json.loads(out.files["threads"].read_text())
    assert doc["stopped_early"].startswith("interrupted")
    assert sum(1 for p in json.loads(out.files["sweep"].read_text())["points"] if p["values"]) == 2


def test_tune_threads_refuses_a_backend_the_task_lacks() -> None:
    with pytest.raises(TaskError, match="not 'tensorflow'"):
        tune_threads(TuneOptions("digits", backend="tensorflow"))


def test_backend_options_are_checked() -> None:
    with pytest.raises(BackendError, match="no option 'inter_op_threads'"):
        make_backend("numpy", inter_op_threads=2)
    with pytest.raises(BackendError, match="execution_mode"):
        make_backend("onnxruntime", execution_mode="fast")
    with pytest.raises(BackendError, match=">= 1"):
        make_backend("torch", inter_op_threads=0)
    ort = make_backend("onnxruntime", threads=1, inter_op_threads=2)
    assert getattr(ort, "execution_mode", None) == "parallel"
