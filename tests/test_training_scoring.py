"""Timing rules and olympic scoring from logs (reference §3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.checker.synth import reference_events, write_events
from mlpace.training.mllog import parse_mllog
from mlpace.training.scoring import olympic_mean, samples_to_converge, score_logs
from mlpace.training.timing import init_budget_minutes, run_timing, time_to_train_minutes


def test_olympic_mean_rules() -> None:
    ten = [float(t) for t in range(10, 20)]
    assert olympic_mean(ten).score == pytest.approx(14.5)  # mean of 11..18
    assert olympic_mean([3.0, 1.0, 2.0]).kept == (2.0,)
    # One failure takes the slowest's place: drop the fastest only.
    res = olympic_mean([None, *ten[:9]])
    assert res.kept == tuple(ten[1:9]) and res.failed == 1
    res = olympic_mean([None, None, *ten[:8]])
    assert res.score is None and "2 of 10 runs failed; at most 1" in res.reason
    # unet3d-style: 4 dropped at each end, up to 4 failures.
    forty = [float(t) for t in range(40)]
    assert olympic_mean(forty, max_dropped=4).kept == tuple(forty[4:36])
    assert olympic_mean([None] * 4 + forty[:36], max_dropped=4).kept == tuple(forty[4:36])


def test_timing_helpers(tmp_path: Path) -> None:
    path = write_events(tmp_path / "r.txt", reference_events(init_ms=120_000, run_ms=90_000))
    recs = parse_mllog(path)
    assert time_to_train_minutes(recs) == pytest.approx(1.5)
    timing = run_timing(recs)
    assert timing.init_min == pytest.approx(2.0) and timing.init_within_budget
    assert timing.success and timing.division == C.CLOSED
    assert init_budget_minutes(C.OPEN) == 240.0
    with pytest.raises(TrainingError):
        init_budget_minutes("closedd")
    assert samples_to_converge(recs) == 3072


def _runs(folder: Path, minutes: list[float | None]) -> list[Path]:
    out = []
    for i, m in enumerate(minutes):
        status = C.SUCCESS if m is not None else C.ABORTED
        ev = reference_events(seed=i + 1, run_ms=int((m or 30.0) * 60_000), status=status)
        out.append(write_events(folder / f"result_{i}.txt", ev))
    return out


def test_score_logs_table_failures_and_scaling(tmp_path: Path) -> None:
    paths = _runs(tmp_path, [float(m) for m in range(10, 20)])
    score = score_logs(paths)
    assert score.benchmark == C.LLAMA2_70B_LORA and score.score_min == pytest.approx(14.5)
    row = score.rows[0]
    assert (row.seed, row.status, row.samples_to_converge, row.global_batch_size) == (
        1,
        C.SUCCESS,
        3072,
        8,
    )
    (tmp_path / "scaling.json").write_text(json.dumps({"scaling_factor": 1.0347}))
    assert score_logs(paths).score_min == pytest.approx(14.5 * 1.0347)
    assert score_logs(paths, scaling_factor=2.0).score_min == pytest.approx(29.0)

    one_failed = _runs(tmp_path / "f", [None, *[float(m) for m in range(10, 19)]])
    score = score_logs(one_failed)
    assert score.rows[0].failed and "status_success" not in score.rows[0].reason
    assert score.score_min == pytest.approx(sum(range(11, 19)) / 8)
    two_failed = _runs(tmp_path / "g", [None, None, *[float(m) for m in range(10, 18)]])
    score = score_logs(two_failed)
    assert score.score_min is None and "at most 1" in score.reason
    with pytest.raises(TrainingError):
        score_logs([])
