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


def make_backend(name: str, *, threads: int | None = None, device: str | None = None) -> Backend:
    """A backend by name. ``threads``: intra-op threads of the framework (None: its default)."""
    if device not in (None, "cpu") and name != "torch":
        raise BackendError(f"--device {device} is only supported by the torch backend")
    if name == "numpy":
        from mlpace.workloads.backends.numpy_backend import NumpyBackend

        return NumpyBackend(threads=threads)
    if name in ("onnxruntime", "onnx", "ort"):
        from mlpace.workloads.backends.onnx_backend import OnnxBackend

        return OnnxBackend(threads=threads)
    if name in ("torch", "pytorch"):
        from mlpace.workloads.backends.torch_backend import TorchBackend

        return TorchBackend(threads=threads, device=device or "cpu")
    raise TaskError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
