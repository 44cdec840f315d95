"""What each kernel is, independent of any programming model.

For every kernel: its parameters and their allowed ranges, the work one iteration does (flops or
bytes, as the PRK counts them), the closed-form value the result must reach after
``iterations + 1`` applications (the untimed warm-up changes the data too), and the tolerance.
A validator needs one number from the run (a norm, a checksum, an error sum or a corner value),
which distributed models obtain by summing per-rank parts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mlpace.kernels.errors import KernelParamError

__all__ = [
    "KERNELS",
    "KernelParams",
    "Verdict",
    "default_params",
    "param_lines",
    "reference_value",
    "title",
    "unit",
    "validate_params",
    "verdict",
    "work_per_iteration",
]

KERNELS = ("stencil", "p2p", "transpose", "nstream", "dgemm", "sparse")
PRK_VERSION = "2020"
NSTREAM_SCALAR = 3.0


@dataclass(frozen=True)
class KernelParams:
    """The PRK inputs of one run; fields a kernel does not use keep their defaults."""

    kernel: str
    iterations: int = 10
    order: int = 1000  # stencil grid edge, transpose and dgemm matrix order
    radius: int = 2  # stencil and sparse
    pattern: str = "star"  # stencil: star | grid
    # transpose tile edge; 0 = untiled, the default because one strided NumPy add beats a
    # Python loop over tiles (the PRK C default is 32; any 1..order can be asked for)
    tile: int = 0
    m: int = 1000  # p2p first (distributed) dimension
    n: int = 1000  # p2p second (pipelined) dimension
    group: int = 1  # p2p lines per synchronization (the PRK's group factor)
    length: int = 2_000_000  # nstream vector length
    lsize: int = 10  # sparse: log2 of the grid edge
    scramble: bool = True  # sparse: bit-reversed column indices

    def to_dict(self) -> dict[str, Any]:
        used = _USED[self.kernel]
        return {k: v for k, v in dataclasses.asdict(self).items() if k in used}


_USED: dict[str, tuple[str, ...]] = {
    "stencil": ("kernel", "iterations", "order", "radius", "pattern"),
    "p2p": ("kernel", "iterations", "m", "n", "group"),
    "transpose": ("kernel", "iterations", "order", "tile"),
    "nstream": ("kernel", "iterations", "length"),
    "dgemm": ("kernel", "iterations", "order"),
    "sparse": ("kernel", "iterations", "lsize", "radius", "scramble"),
}
_DEFAULT_ORDER = {"stencil": 1000, "transpose": 1000, "dgemm": 500}


def default_params(kernel: str, **overrides: Any) -> KernelParams:
    """CI-friendly defaults (the PRK 'small' sizes where Python can afford them)."""
    if kernel not in KERNELS:
        raise KernelParamError("unknown kernel", param="kernel", value=kernel, allowed=_one_of())
    base: dict[str, Any] = {"kernel": kernel, "order": _DEFAULT_ORDER.get(kernel, 1000)}
    if kernel == "sparse":
        base["radius"] = 4
    base.update({k: v for k, v in overrides.items() if v is not None})
    return KernelParams(**base)


def _one_of() -> str:
    return " | ".join(KERNELS)


def _need(ok: bool, message: str, param: str, value: object, allowed: str) -> None:
    if not ok:
        raise KernelParamError(message, param=param, value=value, allowed=allowed)


def validate_params(p: KernelParams) -> None:
    """Raise KernelParamError for the first parameter the kernel cannot run with."""
    _need(p.kernel in KERNELS, "unknown kernel", "kernel", p.kernel, _one_of())
    _need(p.iterations >= 1, "iterations must be positive", "iterations", p.iterations, ">= 1")
    k = p.kernel
    if k == "stencil":
        _need(p.pattern in ("star", "grid"), "unknown stencil", "pattern", p.pattern, "star|grid")
        _need(p.radius >= 1, "stencil radius must be positive", "radius", p.radius, ">= 1")
        _need(p.order >= 1, "grid size must be positive", "order", p.order, ">= 1")
        _need(
            2 * p.radius + 1 <= p.order,
            "stencil radius too large for the grid",
            "radius",
            p.radius,
            f"1..{max(0, (p.order - 1) // 2)} for grid size {p.order} (2*radius+1 <= size)",
        )
    elif k in ("transpose", "dgemm"):
        _need(p.order >= 1, "matrix order must be positive", "order", p.order, ">= 1")
        if k == "transpose":
            _need(
                0 <= p.tile <= p.order,
                "tile larger than the matrix",
                "tile",
                p.tile,
                f"0 (untiled) .. {p.order} (the matrix order)",
            )
    elif k == "p2p":
        _need(p.m >= 2, "first grid dimension too small", "m", p.m, ">= 2")
        _need(p.n >= 2, "second grid dimension too small", "n", p.n, ">= 2")
        _need(
            1 <= p.group <= p.n - 1, "group factor out of range", "group", p.group, f"1..{p.n - 1}"
        )
    elif k == "nstream":
        _need(p.length >= 1, "vector length must be positive", "length", p.length, ">= 1")
    elif k == "sparse":
        _need(0 <= p.lsize <= 13, "log2 grid size out of range", "lsize", p.lsize, "0..13")
        _need(p.radius >= 1, "stencil radius must be positive", "radius", p.radius, ">= 1")
        edge = 1 << p.lsize
        _need(
            2 * p.radius + 1 <= edge,
            "stencil radius too large for the grid",
            "radius",
            p.radius,
            f"1..{max(0, (edge - 1) // 2)} for grid edge 2^{p.lsize} = {edge}",
        )


def stencil_points(p: KernelParams) -> int:
    return 4 * p.radius + 1 if p.pattern == "star" else (2 * p.radius + 1) ** 2


def work_per_iteration(p: KernelParams) -> float:
    """Flops (or bytes, for transpose and nstream) one iteration does, as the PRK counts them."""
    k = p.kernel
    if k == "stencil":
        return float((2 * stencil_points(p) + 1) * (p.order - 2 * p.radius) ** 2)
    if k == "p2p":
        return 2.0 * (p.m - 1) * (p.n - 1)
    if k == "transpose":
        return 2.0 * 8 * p.order * p.order
    if k == "nstream":
        return 4.0 * 8 * p.length
    if k == "dgemm":
        return 2.0 * p.order**3
    return 2.0 * float(4**p.lsize) * (4 * p.radius + 1)


def unit(kernel: str) -> str:
    return "MB/s" if kernel in ("transpose", "nstream") else "MFlops/s"


def title(kernel: str) -> str:
    return {
        "stencil": "stencil execution on 2D grid",
        "p2p": "pipeline execution on 2D grid",
        "transpose": "Matrix transpose: B = A^T",
        "nstream": "stream triad: A = B + scalar*C",
        "dgemm": "Dense matrix-matrix multiplication: C = A x B",
        "sparse": "Sparse matrix-vector multiplication",
    }[kernel]


def param_lines(p: KernelParams, ranks: int, model_line: str | None = None) -> list[str]:
    """The parameter lines a PRK run prints after its banner."""
    lines = [f"Number of ranks       = {ranks}"] if ranks > 1 else []
    k = p.kernel
    if k == "stencil":
        lines += [
            f"Grid size             = {p.order}",
            f"Radius of stencil     = {p.radius}",
            f"Type of stencil       = {'star' if p.pattern == 'star' else 'compact'}",
            "Data type             = double precision",
        ]
    elif k == "p2p":
        lines.append(f"Grid sizes            = {p.m}, {p.n}")
        if p.group > 1:
            lines.append(f"Group factor          = {p.group}")
    elif k == "transpose":
        lines.append(f"Matrix order          = {p.order}")
        lines.append(f"Tile size             = {p.tile}" if 0 < p.tile < p.order else "Untiled")
    elif k == "nstream":
        lines += [f"Vector length         = {p.length}", "Offset                = 0"]
    elif k == "dgemm":
        lines.append(f"Matrix order          = {p.order}")
    else:
        lines += [
            f"Matrix order          = {4**p.lsize}",
            f"Stencil diameter      = {2 * p.radius + 1}",
            f"Sparsity              = {(4 * p.radius + 1) / 4**p.lsize:.10f}",
            "Using scrambled indexing" if p.scramble else "Using canonical indexing",
        ]
    if model_line:
        lines.append(model_line)
    lines.append(f"Number of iterations  = {p.iterations}")
    return lines


@dataclass(frozen=True)
class Verdict:
    """Whether the run's checked value matches the closed form within the PRK tolerance."""

    valid: bool
    observed: float
    reference: float
    error: float  # absolute or relative, as the kernel's rule says
    tolerance: float
    relative: bool
    quantity: str

    def failure_line(self) -> str:
        kind = "relative" if self.relative else "absolute"
        return (
            f"ERROR: {self.quantity} = {self.observed!r}, reference = {self.reference!r}, "
            f"{kind} error {self.error:.6g} exceeds {self.tolerance:g}"
        )


def reference_value(p: KernelParams) -> float:
    """The closed-form value of the checked quantity after iterations + 1 applications."""
    runs = p.iterations + 1
    k = p.kernel
    if k == "stencil":
        return 2.0 * runs  # L1 norm per active point: (iterations+1) * (cx + cy)
    if k == "p2p":
        return float(runs * (p.m + p.n - 2))
    if k == "transpose":
        return 0.0  # summed absolute difference from the expected matrix
    if k == "nstream":
        return float(p.length) * runs * (2.0 + NSTREAM_SCALAR * 2.0)
    if k == "dgemm":
        n = float(p.order)
        return 0.25 * n**3 * (n - 1.0) ** 2 * runs
    nnz = float(4**p.lsize * (4 * p.radius + 1))
    return 0.5 * nnz * runs * (runs + 1)


_RULES: dict[str, tuple[str, float, bool]] = {
    "stencil": ("L1 norm per active point", 1e-8, False),
    "p2p": ("corner value", 1e-8, True),
    "transpose": ("sum of absolute differences", 1e-8, False),
    "nstream": ("sum of |A|", 1e-8, True),
    "dgemm": ("checksum", 1e-8, True),
    "sparse": ("vector sum", 1e-8, False),
}


def verdict(p: KernelParams, observed: float) -> Verdict:
    """Compare the run's checked quantity with the closed form, by the kernel's own rule."""
    quantity, tol, relative = _RULES[p.kernel]
    ref = reference_value(p)
    diff = abs(observed - ref)
    error = diff / abs(ref) if relative and ref != 0 else diff
    valid = bool(error < tol) and observed == observed  # NaN never validates
    return Verdict(valid, float(observed), ref, float(error), tol, relative, quantity)
