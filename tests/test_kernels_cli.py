"""``mlpace kernels run|scale`` in-process: PRK output, JSON records, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlpace.cli.main import main
from mlpace.kernels.output import parse_prk


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_run_prints_prk_output_and_a_json_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "runs.jsonl"
    argv = ["kernels", "run", "stencil", "--order", "41", "--radius", "3", "--pattern", "grid"]
    code, out, _ = _cli([*argv, "--iterations", "2", "--json", "--record", str(record)], capsys)
    assert code == 0
    assert "Radius of stencil     = 3" in out and "Type of stencil       = compact" in out
    assert "Solution validates" in out
    (rate,) = parse_prk(out)
    rec = json.loads(out.strip().splitlines()[-1])
    assert rec["validated"] and rec["unit"] == "MFlops/s" == rate.unit
    assert rec["params"] == {
        "kernel": "stencil",
        "iterations": 2,
        "order": 41,
        "radius": 3,
        "pattern": "grid",
    }
    assert json.loads(record.read_text()) == rec


def test_threads_model_with_uneven_workers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(
        [
            "kernels",
            "run",
            "p2p",
            "--model",
            "threads",
            "--ranks",
            "3",
            "--m",
            "31",
            "--n",
            "17",
            "--group",
            "4",
            "--iterations",
            "2",
        ],
        capsys,
    )
    assert code == 0 and "Number of ranks       = 3" in out and "Group factor          = 4" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["transpose", "--order", "64", "--tile", "65"], "tile larger than the matrix"),
        (["stencil", "--order", "9", "--radius", "5"], "radius too large"),
        (["p2p", "--iterations", "0"], "iterations must be positive"),
        (["nstream", "--model", "threads", "--ranks", "11", "--length", "10"], "ranks = 11"),
        (["stencil", "--variant", "rma"], "only the mpi model has variants"),
    ],
)
def test_bad_parameters_exit_2_with_a_message(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(["kernels", "run", *argv], capsys)
    assert code == 2
    assert needle in err and "Traceback" not in err + out


def test_argparse_rejects_unknown_models(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["kernels", "scale", "stencil", "--models", "numpy,cuda"], capsys)
    assert code == 2 and "cuda" in err


def test_scale_writes_table_plot_and_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(
        [
            "kernels",
            "scale",
            "transpose",
            "--models",
            "numpy,threads,shm",
            "--ranks",
            "1,2",
            "--order",
            "64",
            "--tile",
            "8",
            "--iterations",
            "2",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0, out
    assert "Every run validates" in out
    assert "| threads | 2 |" in out and "| shm | 2 |" in out
    assert "skipped: numpy at 2 ranks" in out
    svg = (tmp_path / "scale-transpose.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 3
    rows = (tmp_path / "scale-transpose.csv").read_text().splitlines()
    assert rows[0].startswith("kernel,model") and len(rows) == 6
    assert len((tmp_path / "scale-transpose.jsonl").read_text().splitlines()) == 5
