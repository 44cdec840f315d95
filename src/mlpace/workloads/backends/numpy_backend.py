"""The NumPy backend: no dependency beyond the core install."""

from __future__ import annotations

import numpy as np

from mlpace.errors import BackendError
from mlpace.workloads.backends.base import ModelArtifact, NumpyForward
from mlpace.workloads.datasets.base import Batch


def _blas_threads() -> int | None:
    """BLAS thread count (threadpoolctl ships with scikit-learn; None if unknown)."""
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-untyped]
    except ImportError:
        return None
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return int(infos[0]["num_threads"]) if infos else None


class NumpyBackend:
    name = "numpy"

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = threads
        self._forward: NumpyForward | None = None
        self._model = ""
        self._limiter: object | None = None

    def load(self, model: ModelArtifact) -> None:
        if model.numpy_forward is None:
            raise BackendError(
                f"model {model.name!r} has no NumPy implementation; use --backend onnxruntime "
                "or --backend torch"
            )
        if self.threads is not None:
            try:
                from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

                # Kept alive for the backend's lifetime: BLAS threads stay capped.
                self._limiter = threadpool_limits(limits=self.threads, user_api="blas")
            except ImportError:
                pass
        self._forward = model.numpy_forward()
        self._model = model.name

    def close(self) -> None:
        """Give the BLAS thread limit back (a sweep builds many backends in one process)."""
        limiter, self._limiter = self._limiter, None
        restore = getattr(limiter, "restore_original_limits", None)
        if restore is not None:
            restore()

    def predict(self, batch: Batch) -> np.ndarray:
        if self._forward is None:
            raise BackendError("NumpyBackend.predict before load")
        return self._forward(batch)

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "version": np.__version__,
            "device": "cpu",
            "model": self._model,
            "intra_op_threads": self.threads if self.threads is not None else _blas_threads(),
        }
