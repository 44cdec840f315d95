"""The inference load generator: settings, schedules, scenarios, results and the official logs.

Depends on nothing but NumPy.
"""

from mlpace.loadgen.enums import TestMode, TestScenario
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.sut import QuerySample, QuerySampleLibrary, QuerySampleResponse, SystemUnderTest

__all__ = [
    "LogOutputSettings",
    "LogSettings",
    "QuerySample",
    "QuerySampleLibrary",
    "QuerySampleResponse",
    "SystemUnderTest",
    "TestMode",
    "TestScenario",
    "TestSettings",
]
