"""The ONNX Runtime backend (pip extra ``onnx``); onnxruntime is imported in :meth:`load`."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlpace.errors import BackendError
from mlpace.workloads.backends.base import ModelArtifact, require
from mlpace.workloads.datasets.base import Batch


class OnnxBackend:
    name = "onnxruntime"

    def __init__(
        self,
        *,
        threads: int | None = None,
        inter_op_threads: int | None = None,
        execution_mode: str | None = None,
    ) -> None:
        self.threads = threads
        self.inter_op_threads = inter_op_threads
        # Parallel execution runs independent branches of the graph at once; it only pays for
        # wide graphs, so it is chosen explicitly or implied by more than one inter-op thread.
        if execution_mode is None:
            parallel = inter_op_threads is not None and inter_op_threads > 1
            execution_mode = "parallel" if parallel else "sequential"
        self.execution_mode = execution_mode
        self._session: Any = None
        self._input = "input"
        self._output = ""
        self._model = ""
        self._version = ""

    def load(self, model: ModelArtifact) -> None:
        ort = require("onnxruntime", "onnx")
        if model.onnx_path is None:
            raise BackendError(f"model {model.name!r} has no ONNX form")
        path = model.onnx_path()
        opts = ort.SessionOptions()
        if self.threads is not None:
            opts.intra_op_num_threads = self.threads
        if self.execution_mode == "parallel":
            opts.execution_mode = ort.ExecutionMode.ORT_PARALLEL
            if self.inter_op_threads is not None:
                opts.inter_op_num_threads = self.inter_op_threads
        else:
            # One request runs at a time per worker thread; parallelism across requests comes
            # from the SUT's workers, so inter-op parallelism would only oversubscribe the cores.
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise BackendError(f"onnxruntime could not load {path}: {exc}") from exc
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name
        self._model = model.name
        self._version = str(ort.__version__)

    def predict(self, batch: Batch) -> np.ndarray:
        if self._session is None:
            raise BackendError("OnnxBackend.predict before load")
        if isinstance(batch, dict):
            feed = {k: np.ascontiguousarray(v) for k, v in batch.items()}
        else:
            feed = {self._input: np.ascontiguousarray(batch)}
        # InferenceSession.run is thread-safe; several SUT workers may share the session.
        out = self._session.run([self._output], feed)
        return np.asarray(out[0])

    def describe(self) -> dict[str, object]:
        intra: object = self.threads
        if self._session is not None and intra is None:
            intra = "ort default (one per core)"
        return {
            "backend": self.name,
            "version": self._version,
            "device": "cpu",
            "model": self._model,
            "intra_op_threads": intra,
            "inter_op_threads": (
                1 if self.execution_mode == "sequential" else self.inter_op_threads or "ort default"
            ),
            "execution_mode": self.execution_mode,
        }
