"""Kernel operators, closed forms, validators and the timing rule (no parallel model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from mlpace.kernels import ops
from mlpace.kernels.errors import KernelParamError
from mlpace.kernels.output import parse_prk, prk_text
from mlpace.kernels.runner import run
from mlpace.kernels.spec import (
    KERNELS,
    default_params,
    reference_value,
    validate_params,
    verdict,
    work_per_iteration,
)
from mlpace.kernels.timing import RunResult, timed_loop


@pytest.mark.parametrize("pattern", ["star", "grid"])
@pytest.mark.parametrize("radius", range(1, 10))
def test_stencil_weights_are_a_divergence(pattern: str, radius: int) -> None:
    w = ops.stencil_weights(radius, pattern)
    assert abs(w.sum()) < 1e-12
    n = 2 * radius + 5
    grid = np.add.outer(np.arange(n), np.arange(n)).astype(float) * 3.0
    out = np.zeros((n, n))
    ops.stencil_apply(grid, out, w, (radius, n - radius), (radius, n - radius))
    # the divergence of f(x, y) = 3x + 3y is 6 everywhere in the interior
    assert np.allclose(out[radius : n - radius, radius : n - radius], 6.0)
    assert out[:radius].sum() == 0.0


def test_stencil_apply_matches_a_direct_sum() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((23, 19))
    for pattern in ("star", "grid"):
        w = ops.stencil_weights(3, pattern)
        out = np.zeros_like(a)
        ops.stencil_apply(a, out, w, (3, 20), (3, 16))
        ref = np.zeros_like(a)
        for di in range(-3, 4):
            for dj in range(-3, 4):
                ref[3:20, 3:16] += w[3 + di, 3 + dj] * a[3 + di : 20 + di, 3 + dj : 16 + dj]
        assert np.allclose(out, ref)


def test_p2p_lines_follow_the_recurrence() -> None:
    m, n = 9, 7
    g = np.zeros((n, m))
    g[0] = np.arange(m)
    g[:, 0] = np.arange(n)
    g[0, 0] = -5.0
    ops.p2p_lines(g, (1, n), (1, m))
    ref = g.copy()
    for j in range(1, n):
        for i in range(1, m):
            ref[j, i] = ref[j, i - 1] + ref[j - 1, i] - ref[j - 1, i - 1]
    assert np.array_equal(g, ref)


@pytest.mark.parametrize("tile", [0, 1, 3, 7, 8])
def test_transpose_block_is_b_plus_a_transposed(tile: int) -> None:
    a = np.arange(56, dtype=float).reshape(7, 8)
    b = np.ones((8, 7))
    a0 = a.copy()
    ops.transpose_block(a, b, tile)
    assert np.array_equal(b, 1.0 + a0.T)
    assert np.array_equal(a, a0 + 1.0)


def test_sparse_matrix_rows_are_sorted_scrambled_and_valued() -> None:
    values, cols = ops.sparse_matrix(3, 1, (0, 64), scramble=True)
    plain_values, plain = ops.sparse_matrix(3, 1, (0, 64), scramble=False)
    assert cols.shape == (64, 5)
    assert (np.diff(cols, axis=1) > 0).all()
    assert not np.array_equal(cols, plain)  # bit reversal moved the columns
    assert np.allclose(values, 1.0 / (cols + 1))
    # bit reversal over 6 bits is a permutation of the column space
    assert sorted(set(cols.ravel())) == sorted(set(plain.ravel()))
    vec = np.arange(1, 65, dtype=float)
    out = np.zeros(64)
    ops.csr_spmv(values, cols, vec, out)
    assert np.allclose(out, 5.0)  # each of the 5 entries is (1/(j+1)) * (j+1)


def test_closed_forms() -> None:
    p = default_params("p2p", m=10, n=6, iterations=3)
    assert reference_value(p) == 4 * 14
    p = default_params("sparse", lsize=2, radius=1, iterations=1)
    assert reference_value(p) == 0.5 * 16 * 5 * 2 * 3
    assert work_per_iteration(default_params("transpose", order=10)) == 1600
    assert (
        work_per_iteration(default_params("stencil", order=10, radius=1)) == 11 * 64
    )  # (2*(4r+1)+1) flops per active point


def test_verdict_tolerances_absolute_and_relative() -> None:
    p = default_params("stencil", iterations=4)
    assert verdict(p, 10.0).valid
    assert not verdict(p, 10.0 + 1e-7).valid
    assert not verdict(p, float("nan")).valid
    q = default_params("nstream", length=1000, iterations=1)
    ref = reference_value(q)
    assert verdict(q, ref * (1 + 5e-9)).valid
    assert not verdict(q, ref * (1 + 5e-8)).valid


@pytest.mark.parametrize(
    ("kernel", "bad", "needle"),
    [
        ("stencil", {"order": 10, "radius": 5}, "radius"),
        ("stencil", {"pattern": "box"}, "pattern"),
        ("transpose", {"order": 50, "tile": 51}, "tile"),
        ("p2p", {"iterations": 0}, "iterations"),
        ("p2p", {"n": 10, "group": 10}, "group"),
        ("sparse", {"lsize": 2, "radius": 2}, "radius"),
        ("nstream", {"length": 0}, "length"),
        ("dgemm", {"order": 0}, "order"),
    ],
)
def test_invalid_parameters_name_the_problem(
    kernel: str, bad: dict[str, object], needle: str
) -> None:
    with pytest.raises(KernelParamError) as exc:
        validate_params(default_params(kernel, **bad))
    assert exc.value.param == needle
    assert "allowed" in str(exc.value)


def test_timed_loop_excludes_the_warmup_and_sits_between_barriers() -> None:
    events: list[str] = []
    ticks = iter([100.0, 103.0])

    def clock() -> float:
        events.append("clock")
        return next(ticks)

    elapsed = timed_loop(
        lambda k: events.append(f"step{k}"), 3, lambda: events.append("bar"), clock
    )
    assert elapsed == 3.0
    assert events == ["step0", "bar", "clock", "step1", "step2", "step3", "bar", "clock"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_numpy_model_validates_odd_sizes_and_prints_prk_lines(kernel: str) -> None:
    small = {"order": 37, "m": 23, "n": 19, "length": 1001, "lsize": 4, "iterations": 3, "tile": 5}
    result = run(default_params(kernel, **small), "numpy", 1)
    assert result.verdict.valid, result.verdict
    text = prk_text(result)
    assert text.startswith("Parallel Research Kernels version")
    assert "Solution validates" in text
    (rate,) = parse_prk(text)
    assert rate.unit == result.unit
    assert rate.rate == pytest.approx(result.rate, rel=1e-5)
    again = RunResult.from_record(result.record())
    assert again.record() == result.record()


def test_a_wrong_answer_prints_error_and_no_rate() -> None:
    ok = run(default_params("nstream", length=100, iterations=1), "numpy", 1)
    bad = RunResult(ok.params, ok.model, 1, ok.timing, verdict(ok.params, 1.0))
    text = prk_text(bad)
    assert "ERROR:" in text and "Solution validates" not in text
    assert parse_prk(text) == []


def test_parser_reads_parres_python_spacing() -> None:
    (r,) = parse_prk("Solution validates\nRate (MB/s):  4535.1  Avg time (s):  0.0035\n")
    assert (r.unit, r.rate, r.avg_time) == ("MB/s", 4535.1, 0.0035)
