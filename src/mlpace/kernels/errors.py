"""Errors of the kernels package: bad parameters and models that cannot run here."""

from __future__ import annotations

from mlpace.errors import MlpaceError

__all__ = ["KernelParamError", "ModelUnavailableError"]


class KernelParamError(MlpaceError):
    """A kernel parameter is outside what the kernel (or the decomposition) allows."""

    def __init__(self, message: str, *, param: str, value: object, allowed: str) -> None:
        self.param = param
        self.value = value
        self.allowed = allowed
        super().__init__(f"{message}: {param} = {value!r} (allowed: {allowed})")


class ModelUnavailableError(MlpaceError):
    """A programming model needs something that is not installed or not reachable."""
