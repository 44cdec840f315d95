"""The PyTorch backend (pip extra ``torch``); CPU by default, ``device="cuda"`` when present."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlpace.errors import BackendError
from mlpace.workloads.backends.base import ModelArtifact, require
from mlpace.workloads.datasets.base import Batch


class TorchBackend:
    name = "torch"

    def __init__(
        self,
        *,
        threads: int | None = None,
        device: str = "cpu",
        inter_op_threads: int | None = None,
    ) -> None:
        self.threads = threads
        self.inter_op_threads = inter_op_threads
        self.device = device
        self._torch: Any = None
        self._module: Any = None
        self._model = ""

    def load(self, model: ModelArtifact) -> None:
        torch = require("torch", "torch")
        if model.torch_module is None:
            raise BackendError(f"model {model.name!r} has no PyTorch form")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError(
                "--device cuda was asked for but torch.cuda.is_available() is False "
                f"(torch {torch.__version__})"
            )
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        wanted = self.inter_op_threads
        if wanted is not None and wanted != torch.get_num_interop_threads():
            try:
                torch.set_num_interop_threads(wanted)
            except RuntimeError as exc:
                # PyTorch fixes its inter-op pool at the first parallel work of the process.
                raise BackendError(
                    f"torch inter-op threads can be set once per process, before any parallel "
                    f"work; it is already {torch.get_num_interop_threads()} here, {wanted} was "
                    f"asked for ({exc})"
                ) from None
        module = model.torch_module()
        self._module = module.to(self.device).eval()
        self._torch = torch
        self._model = model.name

    def predict(self, batch: Batch) -> np.ndarray:
        torch = self._torch
        if torch is None:
            raise BackendError("TorchBackend.predict before load")

        def tensor(a: np.ndarray) -> Any:
            return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

        with torch.inference_mode():
            if isinstance(batch, dict):
                y = self._module(**{k: tensor(v) for k, v in batch.items()})
            else:
                y = self._module(tensor(batch))
            return np.asarray(y.detach().to("cpu").numpy())

    def describe(self) -> dict[str, object]:
        torch = self._torch
        return {
            "backend": self.name,
            "version": "" if torch is None else str(torch.__version__),
            "device": self.device,
            "model": self._model,
            "intra_op_threads": None if torch is None else int(torch.get_num_threads()),
            "inter_op_threads": None if torch is None else int(torch.get_num_interop_threads()),
        }
