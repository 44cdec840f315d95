"""Every kernel under the threads and shm models, with worker counts that do not divide the data."""

from __future__ import annotations

import sys

import pytest

from mlpace.kernels.errors import KernelParamError
from mlpace.kernels.runner import run
from mlpace.kernels.spec import KERNELS, default_params

SMALL = {"order": 37, "m": 23, "n": 19, "length": 1001, "lsize": 4, "iterations": 3, "tile": 5}


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("workers", [2, 3])
def test_threads_validate(kernel: str, workers: int) -> None:
    r = run(default_params(kernel, **SMALL), "threads", workers)
    assert r.verdict.valid, r.verdict
    assert len(r.timing.per_rank) == workers
    assert r.timing.min <= r.timing.avg <= r.timing.max


@pytest.mark.parametrize("kernel", KERNELS)
def test_shm_processes_validate(kernel: str) -> None:
    r = run(default_params(kernel, **SMALL), "shm", 3)
    assert r.verdict.valid, r.verdict
    assert r.ranks == 3 and len(r.timing.per_rank) == 3


@pytest.mark.parametrize("pattern", ["star", "grid"])
def test_stencil_grid_pattern_and_large_radius_under_threads(pattern: str) -> None:
    r = run(
        default_params("stencil", order=41, radius=9, pattern=pattern, iterations=2), "threads", 2
    )
    assert r.verdict.valid


def test_p2p_group_factor_and_a_worker_owning_only_the_boundary() -> None:
    # m=3 over 3 workers: worker 0 owns only i=0, so worker 1 receives the corner
    for m, workers, group in ((3, 3, 1), (23, 2, 4), (2, 2, 1)):
        r = run(default_params("p2p", m=m, n=11, group=group, iterations=4), "threads", workers)
        assert r.verdict.valid, (m, workers, group)


def test_more_workers_than_data_is_a_clear_error() -> None:
    with pytest.raises(KernelParamError) as exc:
        run(default_params("p2p", m=3, n=5), "threads", 4)
    assert exc.value.param == "ranks" and "1..3" in str(exc.value)
    with pytest.raises(KernelParamError):
        run(default_params("nstream", length=10), "numpy", 2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the patch reaches forked workers")
def test_a_dying_shm_worker_stops_the_others_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlpace.kernels import shared
    from mlpace.kernels.errors import ModelUnavailableError

    real = shared.make_step

    def broken(p, a, me, workers, sync):  # type: ignore[no-untyped-def]
        if me == 1:
            raise SystemExit(3)  # worker 1 dies before its first line; worker 2 waits on it
        return real(p, a, me, workers, sync)

    monkeypatch.setattr(shared, "make_step", broken)
    with pytest.raises(ModelUnavailableError, match="failed"):
        run(default_params("p2p", m=30, n=20, iterations=2), "shm", 3)
