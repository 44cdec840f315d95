"""PRK-style text output (so existing PRK parsers read mlpace runs) and a parser for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlpace.kernels.spec import PRK_VERSION, param_lines, title
from mlpace.kernels.timing import RunResult

__all__ = ["MODEL_NAMES", "PrkRate", "parse_prk", "prk_text"]

MODEL_NAMES = {
    "numpy": "Python NumPy",
    "threads": "Python threads + NumPy",
    "shm": "Python shared-memory processes + NumPy",
    "mpi": "MPI (mpi4py) + NumPy",
    "mpishm": "MPI shared-memory windows + NumPy",
}
_RATE = re.compile(r"Rate \(([^)]+)\):\s*([-+0-9.eEinfa]+)\s+Avg time \(s\):\s*([-+0-9.eE]+)")


def prk_text(result: RunResult) -> str:
    """Banner, parameter lines, verdict and the rate line, as a PRK kernel prints them."""
    p = result.params
    model = MODEL_NAMES.get(result.model, result.model)
    variant = f" ({result.variant})" if result.variant else ""
    lines = [
        f"Parallel Research Kernels version {PRK_VERSION}",
        f"mlpace {model}{variant} {title(p.kernel)}",
        *param_lines(p, result.ranks),
    ]
    v = result.verdict
    if v.valid:
        lines.append("Solution validates")
        lines.append(
            f"Rate ({result.unit}): {result.rate:.6f}  Avg time (s): {result.avg_time:.6f}"
        )
    else:
        lines.append(v.failure_line())
    return "\n".join(lines)


@dataclass(frozen=True)
class PrkRate:
    unit: str
    rate: float
    avg_time: float


def parse_prk(text: str) -> list[PrkRate]:
    """Every `Rate (unit): X  Avg time (s): Y` line in a PRK (or mlpace) output."""
    return [PrkRate(m.group(1), float(m.group(2)), float(m.group(3))) for m in _RATE.finditer(text)]
