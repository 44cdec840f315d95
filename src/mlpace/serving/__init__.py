"""Networked systems under test: an OpenAI-compatible streaming client for the LoadGen and a
real local server to test it against (``mlpace serve``).

The client and server need the ``serve`` extra (aiohttp, starlette, uvicorn); the translation
model needs torch. Modules are imported on first use so ``import mlpace.serving`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlpace.serving.client import HttpSUT, HttpTarget, RequestRecord
    from mlpace.serving.models import EchoConfig, EchoModel
    from mlpace.serving.report import ClientReport, client_report
    from mlpace.serving.run import HttpRunOptions, run_http
    from mlpace.serving.server import FaultPlan, create_app, serving_in_thread

_LAZY = {
    "HttpSUT": "mlpace.serving.client",
    "HttpTarget": "mlpace.serving.client",
    "RequestRecord": "mlpace.serving.client",
    "EchoConfig": "mlpace.serving.models",
    "EchoModel": "mlpace.serving.models",
    "ClientReport": "mlpace.serving.report",
    "client_report": "mlpace.serving.report",
    "HttpRunOptions": "mlpace.serving.run",
    "run_http": "mlpace.serving.run",
    "FaultPlan": "mlpace.serving.server",
    "create_app": "mlpace.serving.server",
    "serving_in_thread": "mlpace.serving.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlpace.serving' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ClientReport",
    "EchoConfig",
    "EchoModel",
    "FaultPlan",
    "HttpRunOptions",
    "HttpSUT",
    "HttpTarget",
    "RequestRecord",
    "client_report",
    "create_app",
    "run_http",
    "serving_in_thread",
]
