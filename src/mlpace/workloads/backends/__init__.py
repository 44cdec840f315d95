"""Inference backends behind one interface: NumPy (core), ONNX Runtime, PyTorch."""

from mlpace.workloads.backends.base import (
    BACKEND_NAMES,
    BACKEND_OPTIONS,
    Backend,
    ModelArtifact,
    make_backend,
)

__all__ = ["BACKEND_NAMES", "BACKEND_OPTIONS", "Backend", "ModelArtifact", "make_backend"]
