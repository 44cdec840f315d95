"""The inference load generator: settings, schedules, scenarios, results and the official logs.

Depends on nothing but NumPy. The engine and the built-in SUTs are imported on first use (module
``__getattr__``), so ``import mlpace.loadgen`` stays cheap and free of import cycles.

    from mlpace.loadgen import TestSettings, TestScenario, NullSUT, NullQSL, run_test
    outcome = run_test(NullSUT(), NullQSL(1024), TestSettings(scenario=TestScenario.Server))
    print(outcome.summary)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlpace.loadgen.enums import TestMode, TestScenario
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.sut import QuerySample, QuerySampleLibrary, QuerySampleResponse, SystemUnderTest

if TYPE_CHECKING:
    from mlpace.loadgen.engine import PassOutcome, TestOutcome, run_test
    from mlpace.loadgen.null_sut import NullQSL, NullSUT
    from mlpace.loadgen.schedule import Schedule, make_schedule
    from mlpace.loadgen.simulated import SimulatedSUT

_LAZY = {
    "run_test": "mlpace.loadgen.engine",
    "TestOutcome": "mlpace.loadgen.engine",
    "PassOutcome": "mlpace.loadgen.engine",
    "NullSUT": "mlpace.loadgen.null_sut",
    "NullQSL": "mlpace.loadgen.null_sut",
    "SimulatedSUT": "mlpace.loadgen.simulated",
    "Schedule": "mlpace.loadgen.schedule",
    "make_schedule": "mlpace.loadgen.schedule",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlpace.loadgen' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "LogOutputSettings",
    "LogSettings",
    "NullQSL",
    "NullSUT",
    "PassOutcome",
    "QuerySample",
    "QuerySampleLibrary",
    "QuerySampleResponse",
    "Schedule",
    "SimulatedSUT",
    "SystemUnderTest",
    "TestMode",
    "TestOutcome",
    "TestScenario",
    "TestSettings",
    "make_schedule",
    "run_test",
]
