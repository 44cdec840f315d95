"""MPI models (marker `mpi`). Two ways to run this file:

    python -m pytest -m mpi tests/test_kernels_mpi.py                 # launches mpiexec itself
    mpiexec -n 2 python -m pytest -m mpi -p no:cacheprovider tests/test_kernels_mpi.py

Under mpiexec every rank runs the in-world tests (collectives in the same order on all ranks);
without it, the launcher tests start `mpiexec -n 2|3` through the CLI and the runner.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpace.kernels.errors import KernelParamError
from mlpace.kernels.spec import KERNELS, default_params

MPI = pytest.importorskip("mpi4py.MPI")
pytestmark = pytest.mark.mpi
WORLD = MPI.COMM_WORLD.Get_size()
in_world = pytest.mark.skipif(WORLD < 2, reason="run under mpiexec -n 2 (or more)")
launcher = pytest.mark.skipif(WORLD > 1, reason="already inside an MPI job; no nested mpiexec")
SMALL = {"order": 37, "m": 23, "n": 19, "length": 1001, "lsize": 4, "iterations": 3, "tile": 5}


def _variants(kernel: str) -> list[str]:
    from mlpace.kernels.models.mpi import VARIANTS

    return list(VARIANTS.get(kernel, ("sendrecv",)))


@in_world
@pytest.mark.parametrize("kernel", KERNELS)
def test_mpi_every_variant_validates_in_world(kernel: str) -> None:
    from mlpace.kernels.runner import run_in_world

    patterns = ("star", "grid") if kernel == "stencil" else ("star",)
    for pattern in patterns:
        p = default_params(kernel, pattern=pattern, **SMALL)
        for variant in _variants(kernel):
            r = run_in_world(p, "mpi", variant)
            assert r.verdict.valid, (kernel, variant, r.verdict)
            assert r.ranks == WORLD and len(r.timing.per_rank) == WORLD


@in_world
@pytest.mark.parametrize("kernel", KERNELS)
def test_mpishm_validates_in_world(kernel: str) -> None:
    from mlpace.kernels.runner import run_in_world

    r = run_in_world(default_params(kernel, **SMALL), "mpishm")
    assert r.verdict.valid, r.verdict


@in_world
def test_p2p_group_factor_in_world() -> None:
    from mlpace.kernels.runner import run_in_world

    r = run_in_world(default_params("p2p", m=WORLD, n=13, group=5, iterations=3), "mpi")
    assert r.verdict.valid


@pytest.mark.skipif(WORLD < 3, reason="with 2 ranks every valid grid gives tiles >= radius")
def test_stencil_tiles_thinner_than_the_radius_fail_on_every_rank() -> None:
    from mlpace.kernels.runner import run_in_world

    # WORLD ranks split the 2r+1 = 2*WORLD-1 rows of one axis into tiles thinner than r
    with pytest.raises(KernelParamError) as exc:
        run_in_world(default_params("stencil", order=2 * WORLD - 1, radius=WORLD - 1), "mpi")
    assert exc.value.param == "ranks"


@launcher
@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("kernel", ["stencil", "transpose", "p2p"])
def test_launcher_runs_mpiexec(kernel: str, ranks: int) -> None:
    from mlpace.kernels.runner import run

    for variant in _variants(kernel):
        r = run(default_params(kernel, **SMALL), "mpi", ranks, variant, timeout_s=120)
        assert r.verdict.valid and r.ranks == ranks and r.variant == variant
    assert run(default_params(kernel, **SMALL), "mpishm", ranks, timeout_s=120).verdict.valid


@launcher
def test_launcher_reports_parameter_errors_from_the_ranks() -> None:
    from mlpace.kernels.runner import run

    with pytest.raises(KernelParamError) as exc:
        run(default_params("stencil", order=5, radius=2), "mpi", 6, timeout_s=120)
    assert exc.value.param == "ranks" and "smaller than the stencil radius" in str(exc.value)


@launcher
def test_acceptance_scale_transpose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlpace.cli.main import main

    code = main(
        [
            "kernels",
            "scale",
            "transpose",
            "--models",
            "numpy,threads,shm,mpi",
            "--ranks",
            "1,2",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "Every run validates" in out
    assert "| mpi | 2 |" in out and "normalized to mpi at 1 rank(s)" in out
