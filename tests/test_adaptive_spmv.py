"""The Graph500 generator, CSR tiles, every SpMV variant against NumPy, bad parameters, and the
CLI. Small matrices and the deterministic CPU cost model keep it fast and exact."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from mlpace.adaptive import (
    VARIANTS,
    AdaptiveError,
    CpuModel,
    LinkModel,
    SpmvConfig,
    compress,
    kronecker_edges,
    make_phases,
    run_spmv,
    run_sweep,
    run_variant,
    speedup,
    sweep_csv,
    sweep_svg,
)
from mlpace.adaptive.matrix import csr_nbytes, overlay_tiles
from mlpace.cli.main import main

SMALL = SpmvConfig(
    order=256,
    tile=32,
    threshold=32,
    workers=4,
    phases=4,
    overlay=0.5,
    edge_factor=8,
    window=16,
    cpu_model=CpuModel(),
    alpha=0.05,
    beta=0.3,
)


def test_kronecker_generator_is_seeded_and_follows_the_initiator() -> None:
    r1, c1 = kronecker_edges(10, 16, seed=5)
    r2, c2 = kronecker_edges(10, 16, seed=5)
    assert np.array_equal(r1, r2) and np.array_equal(c1, c2)
    assert r1.size == 16 << 10 and r1.max() < 1024 and c1.max() < 1024
    top_bit_row = (r1 >> 9) & 1
    top_bit_col = (c1 >> 9) & 1
    # quadrant frequencies of the top level: a, b, c, d = 0.57, 0.19, 0.19, 0.05
    quad = np.bincount(top_bit_row * 2 + top_bit_col, minlength=4) / r1.size
    assert quad == pytest.approx([0.57, 0.19, 0.19, 0.05], abs=0.02)
    r3, _ = kronecker_edges(10, 16, seed=6)
    assert not np.array_equal(r1, r3)


@pytest.mark.parametrize("density", [0.0, 0.003, 0.2, 1.0])
def test_csr_tiles_round_trip_and_multiply(density: float) -> None:
    rng = np.random.default_rng(3)
    block = rng.uniform(0.5, 1.5, (32, 32)) * (rng.random((32, 32)) < density)
    if density == 1.0:
        block = rng.uniform(0.5, 1.5, (32, 32))
    tile = compress(block)
    x = rng.uniform(-1, 1, 32)
    assert np.array_equal(tile.to_dense(), block)
    assert np.allclose(tile.matvec(x), block @ x, rtol=1e-12, atol=1e-12)
    assert tile.nnz == np.count_nonzero(block)
    assert tile.nbytes == csr_nbytes(32, tile.nnz)


def test_overlay_fraction_and_phases() -> None:
    assert len(overlay_tiles(16, 0.5, seed=1, phase=1)) == 128
    assert overlay_tiles(16, 0.5, seed=1, phase=1) != overlay_tiles(16, 0.5, seed=1, phase=3)
    phases = make_phases(SMALL)
    assert [p.dense_tiles for p in phases] == [0, 32, 0, 32]
    assert phases[1].nnz.sum() > phases[0].nnz.sum()


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_matches_numpy_in_every_phase(variant: str) -> None:
    phases = make_phases(SMALL)
    r = run_variant(variant, SMALL, phases)
    assert r.validated, r.max_error
    assert r.max_error < 1e-10
    assert r.time_ns > 0 and r.bytes_moved > 0


def test_threaded_executor_matches_numpy_too() -> None:
    cfg = dataclasses.replace(SMALL, cpu_model=None, link=LinkModel(0.0))
    report = run_spmv(cfg, threads=True)
    assert report.validated
    assert set(report.results) == set(VARIANTS)


def test_bytes_follow_the_formats() -> None:
    phases = make_phases(SMALL)
    tiles = (SMALL.order // SMALL.tile) ** 2
    dense = run_variant("dense", SMALL, phases)
    assert dense.bytes_moved == SMALL.phases * tiles * SMALL.tile**2 * 8
    sparse = run_variant("sparse", SMALL, phases)
    assert sparse.bytes_moved == sum(csr_nbytes(32, int(n)) for p in phases for n in p.nnz.ravel())
    # engine always on: every candidate goes compressed, every other tile dense
    always_on = run_variant("adaptive", dataclasses.replace(SMALL, alpha=1e6, beta=2e6), phases)
    candidates = sum(int((p.nnz < SMALL.threshold).sum()) for p in phases)
    assert always_on.compressed_tiles == candidates
    # engine never on: exactly the dense variant's bytes
    never = run_variant("adaptive", dataclasses.replace(SMALL, alpha=0.0, beta=1e-12), phases)
    assert never.bytes_moved == dense.bytes_moved and never.switches == 0


def test_cost_model_runs_are_deterministic_and_adaptive_switches_per_phase() -> None:
    phases = make_phases(SMALL)
    a = run_variant("adaptive", SMALL, phases)
    b = run_variant("adaptive", SMALL, phases)
    assert (a.time_ns, a.bytes_moved, a.switches) == (b.time_ns, b.bytes_moved, b.switches)
    assert a.switches >= 2  # on in the sparse phases, off in the dense ones
    assert [t.new for t in a.toggles][:2] == ["on", "off"]


def test_speedup_readings() -> None:
    assert speedup(300, 100) == pytest.approx((3.0, 2 / 3))
    assert speedup(100, 200) == pytest.approx((0.5, -1.0))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tile": 100}, "tile"),
        ({"tile": 512}, "tile"),
        ({"alpha": 0.3, "beta": 0.3}, "beta"),
        ({"alpha": 0.5, "beta": 0.3}, "beta"),
        ({"threshold": 0}, "threshold"),
        ({"threshold": 32 * 32 + 1}, "threshold"),
        ({"overlay": 1.5}, "overlay"),
        ({"workers": 0}, "workers"),
        ({"order": 96, "tile": 32}, "order"),
    ],
)
def test_bad_parameters_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(AdaptiveError) as info:
        dataclasses.replace(SMALL, **change).validate()  # type: ignore[arg-type]
    assert info.value.field == field
    assert field in str(info.value)


def test_link_model_rejects_negative_bandwidth() -> None:
    with pytest.raises(AdaptiveError, match="bandwidth"):
        LinkModel(-1.0)


ARGS = [
    "adaptive",
    "spmv",
    "--order",
    "256",
    "--tile",
    "32",
    "--threshold",
    "32",
    "--phases",
    "2",
    "--edge-factor",
    "8",
    "--window",
    "16",
    "--cost",
    "model",
    "--reps",
    "1",
]


def test_cli_prints_the_four_variants_and_speedups(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_json = tmp_path / "r.json"
    assert main([*ARGS, "--json", str(out_json), "--show-toggles"]) == 0
    out = capsys.readouterr().out
    for v in VARIANTS:
        assert f"\n{v} " in out
    assert "adaptive vs dense" in out and "time reduction" in out and "ratio" in out
    assert "validated" in out
    data = json.loads(out_json.read_text())
    assert data["validated"] is True
    assert set(data["speedups"]) == {"dense", "sparse", "static"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tile", "30"], "divide the order"),
        (["--alpha", "0.5", "--beta", "0.5"], "greater than alpha"),
        (["--threshold", "5000"], "threshold"),
    ],
)
def test_cli_bad_parameters_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*ARGS, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_sweep_writes_csv_and_svg(tmp_path: Path) -> None:
    cfg = dataclasses.replace(SMALL, phases=2)
    result = run_sweep(cfg, alphas=[0.01, 0.1], betas=[0.05, 0.5], overlays=[0.0, 1.0])
    assert result.validated
    # 3 baselines + 3 valid (alpha, beta) pairs + 2 overlays x 4 variants
    assert len(result.rows) == 3 + 3 + 8
    csv = sweep_csv(result)
    assert csv.splitlines()[0].startswith("kind,variant,overlay,alpha,beta")
    svg = sweep_svg(result)
    assert svg.startswith("<svg") and "polyline" in svg and "alpha" in svg
    assert (
        main(
            [
                "adaptive",
                "sweep",
                *ARGS[2:-2],
                "--alphas",
                "0.01",
                "--betas",
                "0.5",
                "--overlays",
                "0,1",
                "--out",
                str(tmp_path / "s"),
            ]
        )
        == 0
    )
    assert (tmp_path / "s" / "sweep.svg").exists()


def test_calibration_takes_the_fastest_timing_of_each_operation() -> None:
    from mlpace.adaptive.costs import calibrate

    clock = iter(range(0, 10**12, 1000))  # every timed operation lasts exactly 1000 ns
    model = calibrate(32, repeats=3, cpu_time_ns=lambda: next(clock))
    assert model.dense_mv_per_element == pytest.approx(1000 / 1024)
    assert model.scan_per_element == pytest.approx(1000 / 1024)
    assert model.csr_mv_per_nnz == 0.0 and model.csr_mv_fixed == pytest.approx(1000)
    with pytest.raises(AdaptiveError, match="repetition"):
        calibrate(32, repeats=0)


def test_cli_calibrated_cost(capsys: pytest.CaptureFixture[str]) -> None:
    args = [a if a != "model" else "calibrated" for a in ARGS]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "calibrated CPU cost model (ns): dense_mv_per_element" in out
    assert "validated" in out


def test_a_slow_task_cannot_swap_phase_results(monkeypatch: pytest.MonkeyPatch) -> None:
    # One multiply of phase 0 lasting a (virtual) second lets phase 1's reduction finish first;
    # results must still be matched to their own phase.
    import mlpace.adaptive.spmv as spmv

    real = spmv._policy

    def slow_first(cfg: SpmvConfig):  # type: ignore[no-untyped-def]
        charge = real(cfg)
        return lambda task, cpu: 10**9 if task.name == "p0 multiply 0,0" else charge(task, cpu)

    monkeypatch.setattr(spmv, "_policy", slow_first)
    phases = make_phases(SMALL)
    r = run_variant("sparse", SMALL, phases)
    assert r.time_ns > 10**9
    assert r.validated, r.max_error
