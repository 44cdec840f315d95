"""The official LoadGen demos run under ``mlpace.compat.loadgen`` (import line changed only)
with the official's verdicts. Slow (each demo runs 10 s to 4 min) and needs the official
binding plus a checkout of mlcommons/inference (``MLPACE_INFERENCE_DIR``, default
/work/ext/inference); the full table comes from ``benchmarks/official_demos.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INFERENCE = Path(os.environ.get("MLPACE_INFERENCE_DIR", "/work/ext/inference"))


@pytest.mark.slow
@pytest.mark.official
@pytest.mark.parametrize(
    "demo", ["py_demo_single_stream.py", "py_demo_multi_stream.py", "py_demo_offline.py"]
)
def test_classic_demo_has_the_official_verdict(demo: str) -> None:
    pytest.importorskip("mlperf_loadgen")
    if not (INFERENCE / "loadgen" / "demos" / demo).is_file():
        pytest.skip(f"no mlcommons/inference checkout at {INFERENCE} (MLPACE_INFERENCE_DIR)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "official_demos.py"),
         "--inference", str(INFERENCE), "--only", demo, "--jobs", "2"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    row = next(ln for ln in proc.stdout.splitlines() if ln.startswith(f"| {demo} "))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| NO |" not in row
