"""RCP statistics, pruning and the submission test (reference §4)."""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
from pathlib import Path

import pytest
from scipy import stats

from mlpace.training import constants as C
from mlpace.training.checker.synth import reference_events, write_events
from mlpace.training.rcp import (
    CASE_FOUND,
    CASE_INTERPOLATED,
    CASE_LOWER_BS,
    check_convergence,
    check_rcp_logs,
    interpolate,
    load_rcps,
    min_acceptable_mean,
    one_sided_p_value,
    prune,
)

BM = C.LLAMA2_70B_LORA


def _points(center: float, spread: float, n: int = 20) -> list[float]:
    return [center + spread * ((i * 7) % n - n / 2) / n for i in range(n)]


SYNTH = {
    f"{BM}_ref_{bs}": {"Benchmark": BM, "BS": bs, "Hyperparams": {}, "samples to converge": pts}
    for bs, pts in {
        4: _points(3600, 400),  # slower than BS 8: pruned (below the fastest)
        8: _points(3000, 600),
        16: _points(4000, 800),
        32: _points(7000, 600),  # above the 16-64 line: pruned
        64: _points(8000, 1000),
    }.items()
}


def test_stats_match_an_independent_computation() -> None:
    recs = {r.bs: r for r in load_rcps(SYNTH)}
    pts = sorted(SYNTH[f"{BM}_ref_8"]["samples to converge"])  # type: ignore[arg-type]
    rec = recs[8]
    assert rec.mean == pytest.approx(statistics.fmean(pts[1:-1]))
    assert rec.stdev == pytest.approx(statistics.pstdev(pts))
    # At min_epochs the one-sided p-value sits at alpha (pooled t, n_ref 18 + n_sub 8).
    se = rec.stdev * math.sqrt(1 / 18 + 1 / 8)
    p = stats.t.cdf((rec.min_epochs - rec.mean) / se, 18 + 8 - 2)
    assert p == pytest.approx(0.05, abs=1e-4)
    assert rec.max_speedup == pytest.approx(rec.mean / rec.min_epochs)
    assert min_acceptable_mean(100.0, 0.0, 18, 8) == 100.0


def test_p_value_is_the_official_one_sided_conversion() -> None:
    for sub in (80.0, 100.0, 120.0):
        t, p2 = stats.ttest_ind_from_stats(sub, 10.0, 8, 100.0, 10.0, 18, equal_var=True)
        expected = p2 / 2 if t < 0 else 1 - p2 / 2
        assert one_sided_p_value(sub, 10.0, 8, 100.0, 10.0, 18) == pytest.approx(expected)


def test_pruning_and_cases() -> None:
    recs = load_rcps(SYNTH)
    assert [r.bs for r in prune(recs)] == [8, 16, 64]
    by = {r.bs: r for r in recs}
    ok = check_convergence([by[8].mean] * 10, 8, recs, benchmark=BM)
    assert ok.passed and ok.case == CASE_FOUND and ok.scaling_factor is None
    fast = check_convergence([by[8].min_epochs * 0.9] * 10, 8, recs, benchmark=BM)
    assert not fast.passed and "RCP test FAILED" in fast.message
    assert check_convergence(
        [fast.submission_mean or 0] * 10, 8, recs, benchmark=BM, bypass=True
    ).bypassed
    interp = check_convergence([5000.0] * 10, 32, recs, benchmark=BM)
    assert interp.case == CASE_INTERPOLATED
    assert interp.rcp is not None and interp.rcp.mean == pytest.approx(
        by[16].mean + (by[64].mean - by[16].mean) * 16 / 48
    )
    above = check_convergence([9000.0] * 10, 128, recs, benchmark=BM)
    assert not above.passed and above.case == "Missing RCP, please submit RCP with BS = 128"
    lower = check_convergence([4000.0] * 10, 2, recs, benchmark=BM)
    assert lower.passed and lower.case == CASE_LOWER_BS
    slow_enough_fails = check_convergence([1000.0] * 10, 2, recs, benchmark=BM)
    assert slow_enough_fails.case.startswith("Missing RCP")
    insufficient = check_convergence([None, None] + [3000.0] * 8, 8, recs, benchmark=BM)
    assert insufficient.case == "Insufficient convergence"


HAVE_OFFICIAL = importlib.util.find_spec("mlperf_logging") is not None


@pytest.mark.official
@pytest.mark.skipif(not HAVE_OFFICIAL, reason="mlperf_logging is not installed")
def test_worked_example_on_the_official_rcp_data() -> None:
    import mlperf_logging.rcp_checker as rc

    path = Path(rc.__file__).parent / "training_6.1.0" / f"rcps_{BM}.json"
    recs = load_rcps(path)
    rec8 = next(r for r in recs if r.bs == 8)
    assert (round(rec8.mean, 2), round(rec8.stdev, 1)) == (3178.67, 299.9)
    assert (round(rec8.min_epochs, 2), round(rec8.max_speedup, 4)) == (2960.63, 1.0736)
    res = check_convergence([2688.0] + [3072.0] * 8 + [3456.0], 8, recs, benchmark=BM)
    assert res.passed and round(res.norm_factor, 4) == 1.0347
    assert [r.bs for r in prune(recs)] == [8, 16, 128]
    pr = {r.bs: r for r in prune(recs)}
    i24 = interpolate(24, pr[16], pr[128], submission_runs=10)
    assert (round(i24.mean, 1), round(i24.min_epochs, 1)) == (4548.6, 4233.0)


@pytest.mark.official
@pytest.mark.skipif(not HAVE_OFFICIAL, reason="mlperf_logging is not installed")
def test_cross_check_with_official_rcp_checker(tmp_path: Path) -> None:
    from mlperf_logging.rcp_checker import rcp_checker as rc

    custom = tmp_path / "rcps.json"
    custom.write_text(json.dumps(SYNTH))
    with custom.open() as fh:
        official = rc.RCP_Checker("training", "6.1.0", BM, False, fh)
    ours = {r.bs: r for r in load_rcps(SYNTH)}
    for rec in official.rcp_data.values():
        mine = ours[rec["BS"]]
        assert mine.mean == pytest.approx(rec["RCP Mean"])
        assert mine.stdev == pytest.approx(rec["RCP Stdev"])
        assert mine.min_epochs == pytest.approx(rec["Min Epochs"], abs=1e-3)
    assert sorted(r["BS"] for r in official.pruned_rcp_data.values()) == [
        r.bs for r in prune(list(ours.values()))
    ]
    # Whole-folder verdicts on the same logs agree.
    folder = tmp_path / "bm"
    for i, samples in enumerate([2850, 2900, 2920, 2920, 2920, 2920, 2920, 2920, 2940, 3000]):
        write_events(folder / f"result_{i}.txt", reference_events(seed=i, evals=((samples, 0.9),)))
    with custom.open() as fh:
        passed, msg, norm = rc.check_directory(
            str(folder), "training", "6.1.0", False, False, rcp_file=fh, rcp_pass="pruned_rcps"
        )
    mine_res = check_rcp_logs(sorted(folder.glob("result_*.txt")), SYNTH, set_scaling=True)
    assert (mine_res.passed, mine_res.case) == (passed, msg)
    assert mine_res.norm_factor == pytest.approx(norm) and norm > 1.0
    assert json.loads((folder / "scaling.json").read_text())["scaling_factor"] == pytest.approx(
        norm
    )
