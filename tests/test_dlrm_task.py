"""``mlpace run dlrm``: a scenario end to end, a Criteo TSV data set, and the accuracy line
against the official DLRM accuracy script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlpace.workloads.accuracy.criteo import roc_auc
from mlpace.workloads.datasets.criteo import read_criteo
from mlpace.workloads.models.dlrm import load_spec, numpy_forward
from mlpace.workloads.registry import get_task
from mlpace.workloads.runner import RunOptions, run_task

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "dlrm" / "criteo_day_23_tiny.tsv"
OFFICIAL_SCRIPT = Path("/work/ext/inference/recommendation/dlrm_v2/pytorch/tools/accuracy-dlrm.py")


def test_task_registration() -> None:
    task = get_task("dlrm")
    assert task.runnable is not None and task.runnable.default_backend == "numpy"
    assert task.loadgen_model == "dlrm" and task.scenarios[0] == "SingleStream"
    assert task.quality is not None and task.quality.metric == "AUC"
    assert get_task("dlrm-v2").runnable is None  # the real MLPerf task stays reference data


def test_offline_run_is_valid_and_meets_the_auc_target(tmp_path: Path) -> None:
    run = run_task(
        RunOptions(task="dlrm", profile="tiny", scenarios=("Offline",), output_dir=tmp_path),
        progress=None,
        warn=None,
    )
    (row,) = run.rows
    assert row.valid is True and row.accuracy_met is True, run.table
    meta = load_spec().metadata
    # The target is 99 % of the AUC recorded in the model file actually loaded.
    assert run.quality_target == pytest.approx(99.0 * float(meta["fp32_reference_accuracy"]))
    assert row.accuracy is not None and row.accuracy.value == pytest.approx(
        100 * float(meta["fp32_reference_accuracy"]), abs=1e-3
    )
    text = (row.accuracy_dir / "accuracy.txt").read_text()  # type: ignore[operator]
    assert text.startswith("AUC=") and "total=16384, queries=16384" in text


def _fixture_run(tmp_path: Path) -> Path:
    run = run_task(
        RunOptions(
            task="dlrm",
            profile="tiny",
            scenarios=("SingleStream",),
            mode="AccuracyOnly",
            dataset=str(FIXTURE),
            output_dir=tmp_path,
        ),
        progress=None,
        warn=None,
    )
    (row,) = run.rows
    assert row.accuracy_dir is not None
    return row.accuracy_dir


def test_criteo_tsv_dataset_scores_like_a_direct_forward_pass(tmp_path: Path) -> None:
    acc_dir = _fixture_run(tmp_path)
    spec = load_spec()
    labels, dense, sparse = read_criteo(FIXTURE, table_sizes=spec.table_sizes)
    expected = roc_auc(labels, numpy_forward(spec)({"dense": dense, "sparse": sparse}))
    line = (acc_dir / "accuracy.txt").read_text().splitlines()[0]
    assert line.startswith(f"AUC={100 * expected:.3f}%") and "total=64" in line


@pytest.mark.official
def test_official_accuracy_script_agrees(tmp_path: Path) -> None:
    if not OFFICIAL_SCRIPT.is_file():
        pytest.skip(f"the official DLRM accuracy script is not at {OFFICIAL_SCRIPT}")
    acc_dir = _fixture_run(tmp_path)
    ours = (acc_dir / "accuracy.txt").read_text().splitlines()[0]
    # Scores-only payloads: the official script takes the labels from the day-23 file and the
    # sample → line mapping from an aggregation trace (one line per sample here).
    trace = tmp_path / "trace.txt"
    trace.write_text("".join(f"{i}, {i}, 1\n" for i in range(64)))
    proc = subprocess.run(
        [
            sys.executable,
            str(OFFICIAL_SCRIPT),
            "--mlperf-accuracy-file",
            str(acc_dir / "mlperf_log_accuracy.json"),
            "--day-23-file",
            str(FIXTURE),
            "--aggregation-trace-file",
            str(trace),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    official = proc.stdout.strip().splitlines()[-1]
    assert official == ours
    assert np.isfinite(float(ours.split("%")[0].removeprefix("AUC=")))
