"""The Parallel Research Kernels over several programming models.

Kernels (stencil, p2p, transpose, nstream, dgemm, sparse) are pure NumPy operators with
closed-form checks (`spec`, `ops`); models (numpy, threads, shm, mpi, mpishm) only decide who owns
which block and how data and signals move (`shared`, `models`); the timing rule lives once in
`timing`. Stands alone: nothing here imports the rest of mlpace except its error base class.
"""

from __future__ import annotations

from mlpace.kernels.errors import KernelParamError, ModelUnavailableError
from mlpace.kernels.output import parse_prk, prk_text
from mlpace.kernels.runner import MODELS, run
from mlpace.kernels.scale import ScaleTable, run_scaling
from mlpace.kernels.spec import KERNELS, KernelParams, default_params, validate_params
from mlpace.kernels.timing import RunResult, TimingStats, timed_loop

__all__ = [
    "KERNELS",
    "MODELS",
    "KernelParamError",
    "KernelParams",
    "ModelUnavailableError",
    "RunResult",
    "ScaleTable",
    "TimingStats",
    "default_params",
    "parse_prk",
    "prk_text",
    "run",
    "run_scaling",
    "timed_loop",
    "validate_params",
]
