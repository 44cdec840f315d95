"""The program mpiexec starts for the MPI models: run, then rank 0 writes the JSON record.

Usage (internal): python -m mlpace.kernels.mpi_child PARAMS_JSON MODEL VARIANT OUT_FILE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlpace.errors import MlpaceError
from mlpace.kernels.errors import KernelParamError
from mlpace.kernels.runner import run_in_world
from mlpace.kernels.spec import KernelParams


def main(argv: list[str]) -> int:
    from mpi4py import MPI

    params_json, model, variant, out = argv
    p = KernelParams(**json.loads(params_json))
    rank = MPI.COMM_WORLD.Get_rank()
    try:
        result = run_in_world(p, model, variant)
    except KernelParamError as exc:
        if rank == 0:
            rec: dict[str, object] = {"error": str(exc), "param": exc.param}
            rec.update(message=str(exc).split(":")[0], value=exc.value, allowed=exc.allowed)
            Path(out).write_text(json.dumps(rec))
        return 2
    except MlpaceError as exc:
        if rank == 0:
            Path(out).write_text(json.dumps({"error": str(exc)}))
        return 2
    if rank == 0:
        Path(out).write_text(result.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
