"""Run one kernel under one programming model: the single entry point the CLI and tools use.

MPI models start ``mpiexec -n RANKS python -m mlpace.kernels.mpi_child`` and read the result
rank 0 writes; when already running inside an MPI job of the right size (tests under mpiexec)
`run_in_world` runs in place.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlpace.kernels.errors import KernelParamError, ModelUnavailableError
from mlpace.kernels.spec import KernelParams, validate_params
from mlpace.kernels.timing import RunResult

__all__ = ["MODELS", "find_mpiexec", "run", "run_in_world"]

MODELS = ("numpy", "threads", "shm", "mpi", "mpishm")
# one BLAS/OpenMP thread per rank, so R ranks use R cores
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run(
    p: KernelParams,
    model: str = "numpy",
    ranks: int = 1,
    variant: str = "",
    clock: Callable[[], float] | None = None,
    timeout_s: float | None = None,
) -> RunResult:
    validate_params(p)
    if model not in MODELS:
        raise KernelParamError(
            "unknown programming model", param="model", value=model, allowed=" | ".join(MODELS)
        )
    if ranks < 1:
        raise KernelParamError("need at least one rank", param="ranks", value=ranks, allowed=">= 1")
    if variant and model != "mpi":
        raise KernelParamError(
            "only the mpi model has variants", param="variant", value=variant, allowed="''"
        )
    from mlpace.kernels.models import local

    if model == "numpy":
        if ranks != 1:
            raise KernelParamError(
                "the numpy model runs one worker", param="ranks", value=ranks, allowed="1"
            )
        return local.run_numpy(p, clock)
    if model == "threads":
        return local.run_threads(p, ranks, clock)
    if model == "shm":
        return local.run_shm(p, ranks)
    return _launch_mpi(p, model, ranks, variant, timeout_s)


def run_in_world(p: KernelParams, model: str, variant: str = "") -> RunResult:
    """Run in the current MPI job (every rank calls this)."""
    from mpi4py import MPI

    validate_params(p)
    if model == "mpishm":
        from mlpace.kernels.models.mpishm import run_mpishm

        return run_mpishm(p, MPI.COMM_WORLD)
    from mlpace.kernels.models.mpi import run_mpi

    return run_mpi(p, MPI.COMM_WORLD, variant)


def find_mpiexec() -> str:
    """$MLPACE_MPIEXEC, else the mpiexec next to this Python (the mpich wheel's), else PATH."""
    explicit = os.environ.get("MLPACE_MPIEXEC")
    if explicit:
        return explicit
    beside = Path(sys.executable).with_name("mpiexec")
    if beside.exists():
        return str(beside)
    found = shutil.which("mpiexec")
    if found:
        return found
    raise ModelUnavailableError(
        "no mpiexec found; install the mpi extra (pip install 'mlpace[mpi]', which brings mpi4py "
        "and the mpich wheel with its mpiexec) or set MLPACE_MPIEXEC"
    )


def _launch_mpi(
    p: KernelParams, model: str, ranks: int, variant: str, timeout_s: float | None
) -> RunResult:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise ModelUnavailableError(
            "the mpi models need mpi4py: pip install 'mlpace[mpi]'"
        ) from None
    mpiexec = find_mpiexec()
    with tempfile.TemporaryDirectory(prefix="mlpace-prk-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            mpiexec,
            "-n",
            str(ranks),
            sys.executable,
            "-m",
            "mlpace.kernels.mpi_child",
            json.dumps(p.to_dict()),
            model,
            variant,
            str(out),
        ]
        env = {**os.environ, **_ONE_THREAD}
        try:
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise ModelUnavailableError(
                f"{model} run with {ranks} ranks did not finish in {timeout_s} s"
            ) from None
        rec: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    if "error" in rec:
        if rec.get("param"):
            raise KernelParamError(
                rec["message"], param=rec["param"], value=rec["value"], allowed=rec["allowed"]
            )
        raise ModelUnavailableError(rec["error"])
    if proc.returncode != 0 or not rec:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        raise ModelUnavailableError(
            f"mpiexec -n {ranks} ({model}) failed with exit code {proc.returncode}: "
            + " | ".join(tail)
        )
    return RunResult.from_record(rec)
