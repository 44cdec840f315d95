"""The thread-sweep grid: the paper's pruning rules over several machines, and the CPU layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpace.workloads.topology import CpuTopology, topology_from_sysfs
from mlpace.workloads.tuning_grid import (
    FRAMEWORK_DEFAULT,
    INTEL_STYLE,
    MLPACE_DEFAULT,
    ThreadPoint,
    batch_candidates,
    build_grid,
    intel_style,
    prune_reason,
)

MACHINES = {
    "2 cores": CpuTopology(2, 2, 1),
    "16 cores, hyper-threads": CpuTopology(32, 16, 1),
    "64 cores": CpuTopology(64, 64, 1),
    "2 sockets x 16 cores, hyper-threads": CpuTopology(64, 32, 2),
}


def grid(t: CpuTopology, backend: str = "onnxruntime", width: int = 3) -> list[ThreadPoint]:
    return build_grid(
        t,
        backend=backend,
        graph_width=width,
        batches=[8, 32],
        default_batch=32,
        mlpace_default=(1, t.physical_cores),
    )


@pytest.mark.parametrize("name", list(MACHINES))
def test_generated_points_never_exceed_physical_cores_and_fill_at_least_half(name: str) -> None:
    t = MACHINES[name]
    generated = [p for p in grid(t) if not p.label]
    assert generated
    for p in generated:
        assert p.total_threads is not None
        assert t.physical_cores / 2 < p.total_threads <= t.physical_cores, p
    # hyper-threads are counted out: nothing sized to the logical CPUs when they differ
    if t.logical_cpus > t.physical_cores:
        assert all(p.intra != t.logical_cpus and p.workers != t.logical_cpus for p in generated)


@pytest.mark.parametrize("name", list(MACHINES))
def test_reference_points_come_first_and_are_labelled(name: str) -> None:
    t = MACHINES[name]
    points = grid(t)
    labels = " | ".join(p.label for p in points[:3])
    assert FRAMEWORK_DEFAULT in labels and INTEL_STYLE in labels and MLPACE_DEFAULT in labels
    assert points[0].intra is None  # the framework's own thread count
    assert len({p.key for p in points}) == len(points)  # no twin rows


def test_two_cores_grid_is_small_and_complete() -> None:
    points = grid(MACHINES["2 cores"], width=3)
    shapes = {(p.intra, p.pools, p.workers) for p in points if not p.label}
    # every way to use 2 cores: 2 workers, 2 pools (a wide graph), or 2 intra-op threads
    assert {(1, 1, 2), (1, 2, 1)} <= shapes | {(1, 1, 2)}
    assert all(p.batch in (8, 32) for p in points)
    assert len(points) <= 12


def test_narrow_graph_gets_no_inter_op_pools() -> None:
    for t in MACHINES.values():
        # only the Intel-style reference ignores the width (one pool per socket, by its rule)
        assert all((p.pools or 1) == 1 for p in grid(t, width=1) if p.label != INTEL_STYLE)


def test_pools_never_exceed_the_graph_width() -> None:
    for t in MACHINES.values():
        assert max((p.pools or 1) for p in grid(t, width=3)) <= 3


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_backends_without_an_inter_op_executor_sweep_no_pools(backend: str) -> None:
    t = MACHINES["64 cores"]
    points = grid(t, backend=backend, width=4)
    assert all(p.pools is None for p in points)
    assert all(p.backend_options(backend) == {} for p in points)
    assert "no inter-op pools" in prune_reason(
        ThreadPoint(32, 2, 1, 32), t, graph_width=4, backend=backend
    )


@pytest.mark.parametrize("sockets", [2, 4])
def test_sockets_keep_each_pool_inside_a_socket(sockets: int) -> None:
    t = CpuTopology(128, 64, sockets)
    for p in grid(t, width=4):
        if p.label or p.intra is None:
            continue
        if p.intra > t.cores_per_socket:
            assert p.workers * (p.pools or 1) == 1, p
    # one pool spanning every socket is allowed; two of them competing are not
    whole = ThreadPoint(64, 1, 1, 32)
    assert prune_reason(whole, t, graph_width=4, backend="onnxruntime") == ""
    if sockets == 4:
        two = ThreadPoint(32, 1, 2, 32)
        assert "span sockets" in prune_reason(two, t, graph_width=4, backend="onnxruntime")


def test_intel_style_rule() -> None:
    two_sockets = intel_style(CpuTopology(64, 32, 2), 32, "onnxruntime")
    assert (two_sockets.intra, two_sockets.pools, two_sockets.workers) == (16, 2, 1)
    one = intel_style(CpuTopology(2, 2, 1), 32, "numpy")
    assert (one.intra, one.pools, one.workers) == (2, None, 1)


def test_prune_reasons_name_the_rule() -> None:
    t = CpuTopology(16, 8, 1)
    assert "> 8 physical cores" in prune_reason(
        ThreadPoint(4, 1, 4, 32), t, graph_width=1, backend="onnxruntime"
    )
    assert "idle" in prune_reason(ThreadPoint(2, 1, 1, 32), t, graph_width=1, backend="numpy")
    assert "graph width" in prune_reason(
        ThreadPoint(2, 4, 1, 32), t, graph_width=2, backend="onnxruntime"
    )
    assert prune_reason(ThreadPoint(4, 2, 1, 32), t, graph_width=2, backend="onnxruntime") == ""
    assert prune_reason(ThreadPoint(None, None, 1, 32), t, graph_width=1, backend="torch") == ""


def test_max_points_keeps_the_reference_points() -> None:
    points = build_grid(
        MACHINES["64 cores"],
        backend="onnxruntime",
        graph_width=4,
        batches=[8, 32, 128],
        default_batch=32,
        mlpace_default=(1, 64),
        max_points=5,
    )
    assert len(points) == 5
    assert points[0].label == FRAMEWORK_DEFAULT


def test_batch_candidates() -> None:
    assert batch_candidates(16, 307) == [4, 16, 64]
    assert batch_candidates(32, 40) == [8, 32, 40]
    assert batch_candidates(1, 10) == [1, 4]


def test_onnx_backend_options() -> None:
    assert ThreadPoint(1, 2, 1, 8).backend_options("onnxruntime") == {
        "inter_op_threads": 2,
        "execution_mode": "parallel",
    }
    assert ThreadPoint(2, 1, 1, 8).backend_options("onnxruntime") == {
        "execution_mode": "sequential"
    }


def _fake_sysfs(root: Path, layout: list[tuple[int, int]]) -> None:
    for cpu, (package, core) in enumerate(layout):
        topo = root / f"cpu{cpu}" / "topology"
        topo.mkdir(parents=True)
        (topo / "physical_package_id").write_text(f"{package}\n")
        (topo / "core_id").write_text(f"{core}\n")


def test_topology_counts_hyper_threads_out(tmp_path: Path) -> None:
    # 2 sockets x 2 cores x 2 hyper-threads; core ids repeat across sockets
    layout = [(s, c) for _ in range(2) for s in range(2) for c in range(2)]
    _fake_sysfs(tmp_path, layout)
    t = topology_from_sysfs(tmp_path, range(len(layout)))
    assert t == CpuTopology(8, 4, 2, "sysfs")
    assert t.threads_per_core == 2 and t.cores_per_socket == 2
    assert "hyper-threads" in t.describe()
    # an affinity mask of one socket's CPUs
    assert topology_from_sysfs(tmp_path, [0, 1, 4, 5]) == CpuTopology(4, 2, 1, "sysfs")


def test_topology_unreadable_sysfs_is_none(tmp_path: Path) -> None:
    assert topology_from_sysfs(tmp_path, [0, 1]) is None
    with pytest.raises(ValueError):
        CpuTopology(2, 4, 1)


def _matmul_graph(tmp_path: Path, parallel: int) -> Path:
    onnx = pytest.importorskip("onnx", reason="onnx not installed (extra onnx)")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    nodes, outs = [], []
    for i in range(parallel):  # branches reading the same input: independent work
        w = helper.make_tensor(f"w{i}", TensorProto.FLOAT, [4, 4], [0.0] * 16)
        nodes.append(helper.make_node("MatMul", ["x", f"w{i}"], [f"y{i}"]))
        outs.append((f"y{i}", w))
    nodes.append(helper.make_node("Sum", [name for name, _ in outs], ["s"]))
    # then a chain of two MatMuls: depth, not width
    w_a = helper.make_tensor("wa", TensorProto.FLOAT, [4, 4], [0.0] * 16)
    w_b = helper.make_tensor("wb", TensorProto.FLOAT, [4, 4], [0.0] * 16)
    nodes.append(helper.make_node("MatMul", ["s", "wa"], ["a"]))
    nodes.append(helper.make_node("MatMul", ["a", "wb"], ["out"]))
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph(nodes, "g", [x], [y], [w for _, w in outs] + [w_a, w_b])
    path = tmp_path / f"g{parallel}.onnx"
    onnx.save(helper.make_model(graph), str(path))
    return path


@pytest.mark.parametrize("parallel", [1, 3])
def test_graph_width_counts_parallel_heavy_operators(tmp_path: Path, parallel: int) -> None:
    from mlpace.workloads.tuning_measure import onnx_graph_width

    assert onnx_graph_width(_matmul_graph(tmp_path, parallel)) == parallel
