"""The backend contract, the model artifact every backend loads from, and the factory.

A backend turns a batch of preprocessed inputs (batch-first) into an output array (batch-first).
Optional frameworks are imported only inside :meth:`Backend.load`, so a missing package surfaces
as :class:`~mlpace.errors.MissingDependencyError` naming the pip extra, at the moment it is
needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mlpace.errors import BackendError, MissingDependencyError, TaskError
from mlpace.workloads.datasets.base import Batch

__all__ = [
    "BACKEND_NAMES",
    "BACKEND_OPTIONS",
    "Backend",
    "ModelArtifact",
    "make_backend",
    "require",
]

BACKEND_NAMES: tuple[str, ...] = ("numpy", "onnxruntime", "torch")

NumpyForward = Callable[[Batch], np.ndarray]


@dataclass(frozen=True)
class ModelArtifact:
    """One model, in every form the backends can use; each form is built lazily.

    ``numpy_forward()`` returns a pure-NumPy forward function; ``onnx_path()`` returns the path
    of an ONNX file (building and caching it if needed); ``torch_module()`` returns a
    ``torch.nn.Module``. A form that is None is not available for this model.
    """

    name: str
    input_name: str = "input"
    numpy_forward: Callable[[], NumpyForward] | None = None
    onnx_path: Callable[[], Path] | None = None
    torch_module: Callable[[], Any] | None = None
    # True when the weights are random (performance runs only; flagged in the summary).
    random_weights: bool = False
    source: str = ""  # where the weights came from, for the logs
    # Model-file metadata (e.g. the digits validation split and FP32 reference accuracy).
    metadata: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    name: str

    def load(self, model: ModelArtifact) -> None:
        """Prepare ``model`` for inference (may build a session, move weights to a device)."""
        ...

    def predict(self, batch: Batch) -> np.ndarray:
        """Outputs for ``batch`` (batch-first; named arrays for multi-input models), as a NumPy
        array. Thread-safe after load."""
        ...

    def describe(self) -> dict[str, object]:
        """Backend name, version, device and thread settings (for the logs and summary)."""
        ...


def require(package: str, extra: str) -> Any:
    """Import an optional ``package`` or raise :class:`MissingDependencyError`."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise MissingDependencyError(package, extra) from exc


# Backend-specific options (``make_backend(..., **options)``), the values each accepts.
BACKEND_OPTIONS: dict[str, tuple[str, ...]] = {
    "numpy": (),
    "onnxruntime": ("inter_op_threads", "execution_mode"),
    "torch": ("inter_op_threads",),
}


def _check_options(name: str, options: Mapping[str, Any]) -> None:
    allowed = BACKEND_OPTIONS.get(name, ())
    for key, value in options.items():
        if key not in allowed:
            what = ", ".join(allowed) if allowed else "none"
            raise BackendError(f"backend {name} has no option {key!r} (its options: {what})")
        if (
            key == "inter_op_threads"
            and value is not None
            and (not isinstance(value, int) or isinstance(value, bool) or value < 1)
        ):
            raise BackendError(f"inter_op_threads must be a whole number >= 1, got {value!r}")
        if key == "execution_mode" and value not in (None, "sequential", "parallel"):
            raise BackendError(f"execution_mode must be 'sequential' or 'parallel', got {value!r}")


def make_backend(
    name: str, *, threads: int | None = None, device: str | None = None, **options: Any
) -> Backend:
    """A backend by name. ``threads``: intra-op threads of the framework (None: its default).

    ``options`` (see :data:`BACKEND_OPTIONS`): ``inter_op_threads`` (ONNX Runtime: threads of
    the parallel executor, which implies ``execution_mode="parallel"`` when above 1; PyTorch:
    ``torch.set_num_interop_threads``) and ``execution_mode`` (ONNX Runtime: ``"sequential"``
    or ``"parallel"``). None means the backend's default.
    """
    if device not in (None, "cpu") and name not in ("torch", "pytorch"):
        raise BackendError(f"--device {device} is only supported by the torch backend")
    canonical = {"onnx": "onnxruntime", "ort": "onnxruntime", "pytorch": "torch"}.get(name, name)
    if canonical not in BACKEND_NAMES:
        raise TaskError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    _check_options(canonical, options)
    if canonical == "numpy":
        from mlpace.workloads.backends.numpy_backend import NumpyBackend

        return NumpyBackend(threads=threads)
    if canonical == "onnxruntime":
        from mlpace.workloads.backends.onnx_backend import OnnxBackend

        return OnnxBackend(
            threads=threads,
            inter_op_threads=options.get("inter_op_threads"),
            execution_mode=options.get("execution_mode"),
        )
    from mlpace.workloads.backends.torch_backend import TorchBackend

    return TorchBackend(
        threads=threads, device=device or "cpu", inter_op_threads=options.get("inter_op_threads")
    )
