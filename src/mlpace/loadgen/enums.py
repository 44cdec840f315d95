"""Scenario and mode enums, spelled exactly as the official LoadGen spells them in its logs."""

from __future__ import annotations

import enum


class TestScenario(str, enum.Enum):
    SingleStream = "SingleStream"
    MultiStream = "MultiStream"
    Server = "Server"
    Offline = "Offline"


class TestMode(str, enum.Enum):
    SubmissionRun = "SubmissionRun"
    AccuracyOnly = "AccuracyOnly"
    PerformanceOnly = "PerformanceOnly"
    FindPeakPerformance = "FindPeakPerformance"


# Config files encode the mode as an integer (mlperf.conf / user.conf / audit.config ``mode``).
MODE_FROM_CONFIG_INT: dict[int, TestMode] = {
    0: TestMode.SubmissionRun,
    1: TestMode.AccuracyOnly,
    2: TestMode.PerformanceOnly,
    3: TestMode.FindPeakPerformance,
}
