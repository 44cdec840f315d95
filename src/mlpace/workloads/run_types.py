"""The data of a task run: profiles, options, calibration, one table row, the whole run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.workloads.registry import AccuracyReport, Task

__all__ = [
    "DEFAULT_OUTPUT",
    "PROFILES",
    "Calibration",
    "Profile",
    "RunOptions",
    "ScenarioRow",
    "TaskRun",
]

DEFAULT_OUTPUT = Path("mlpace-results")


@dataclass(frozen=True)
class Profile:
    """How long each scenario runs. ``official=True``: mlperf.conf durations and counts."""

    name: str
    label: str
    official: bool = False
    min_duration_ms: Mapping[str, int] = field(default_factory=dict)
    min_query_count: Mapping[str, int] = field(default_factory=dict)
    # Server target QPS as a fraction of the calibrated single-sample capacity. Low on purpose:
    # Python's issue thread and the workers share the cores, and the tail must stay in bound.
    server_load_fraction: float = 0.15
    # Without a peak search (tiny, official): a cap on the calibrated Server target. Measured on
    # 2 shared cores: at 1000 QPS the p99 of the digits model sits right at its 10 ms bound
    # when other processes compete for the cores.
    max_server_qps: float = 600.0
    # Server target from a FindPeakPerformance search (see mlpace.workloads.peak).
    peak_search: bool = False


PROFILES: dict[str, Profile] = {
    "short": Profile(
        "short",
        "short-run profile (not valid for submission)",
        min_duration_ms={
            "SingleStream": 2000,
            "MultiStream": 2000,
            # Long enough (~2400 queries) for early stopping to prove the p99 bound.
            "Server": 4000,
            "Offline": 2000,
        },
        min_query_count={"SingleStream": 100, "MultiStream": 662, "Server": 100, "Offline": 1},
        peak_search=True,
    ),
    "tiny": Profile(
        "tiny",
        "tiny test profile (not valid for submission)",
        min_duration_ms={"SingleStream": 200, "MultiStream": 200, "Server": 300, "Offline": 200},
        min_query_count={"SingleStream": 32, "MultiStream": 32, "Server": 32, "Offline": 1},
    ),
    "official": Profile("official", "official profile (mlperf.conf durations)", official=True),
}


@dataclass(frozen=True)
class RunOptions:
    task: str = "digits"
    backend: str | None = None
    scenarios: tuple[str, ...] | None = None
    # "PerformanceOnly", "AccuracyOnly" or "SubmissionRun" (both); None: both when the data and
    # weights are real, performance only otherwise.
    mode: str | None = None
    dataset: str | None = None
    model_path: str | None = None
    profile: str = "short"
    output_dir: Path = DEFAULT_OUTPUT
    system: str | None = None
    threads: int | None = None  # None: the task's default; 0: the framework's default
    workers: int | None = None
    batch_size: int | None = None
    max_wait_ms: float | None = None
    device: str | None = None
    # Backend-specific options for make_backend, e.g. {"inter_op_threads": 2} (see
    # mlpace.workloads.backends.BACKEND_OPTIONS); `mlpace run --threads-from` fills them.
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    # The threads.json the thread settings came from (recorded in mlpace_sut.json).
    threads_from: str | None = None
    user_conf: str | None = None
    mlperf_conf: str | None = None
    audit_conf: str | None = None
    # TestSettings fields set last (from command-line flags), e.g. {"server_target_qps": 500}.
    overrides: Mapping[str, Any] = field(default_factory=dict)
    enable_trace: bool = True
    cache_dir: Path | None = None
    # An earlier run in the folders this run writes: "refuse" (an error), "replace" (delete its
    # files) or "move-aside" (to <output>/previous/); see mlpace.workloads.outdir.
    output_policy: str = "refuse"
    # mlpace.report.record.RunRecorder: per-sample timing, report.html, history (None: none)
    recorder: Any = None


@dataclass(frozen=True)
class Calibration:
    """Median backend latencies (s) for one sample, one MultiStream query and one batch."""

    single_s: float
    multi_s: float
    batch_s: float
    batch_size: int
    samples_per_query: int
    workers: int

    @property
    def single_capacity_qps(self) -> float:
        return self.workers / self.single_s

    @property
    def batch_throughput(self) -> float:
        """Expected Offline samples/s: one worker's rate, plus a quarter per extra worker
        (measured: workers share the GIL and the cores, so they add far less than 1x each)."""
        return (1.0 + 0.25 * (self.workers - 1)) * self.batch_size / self.batch_s


@dataclass(frozen=True)
class ScenarioRow:
    scenario: str
    metric_name: str = ""
    metric_value: float | None = None
    metric_unit: str = ""
    valid: bool | None = None  # None: no performance pass
    accuracy: AccuracyReport | None = None
    accuracy_met: bool | None = None
    performance_dir: Path | None = None
    accuracy_dir: Path | None = None
    error: str = ""
    sut: Mapping[str, object] = field(default_factory=dict)
    loadgen_errors: int = 0  # error lines in the detail logs (a submission checker rejects them)
    notes: tuple[str, ...] = ()  # why INVALID, errors, warnings, how the figure was obtained
    peak_qps: float | None = None  # FindPeakPerformance result
    target_qps: float | None = None  # Server: the target of the performance pass
    attempt: int = 0  # the default Server run: which attempt gave the figure (0: no attempts)
    find_peak_only: bool = False  # --mode FindPeakPerformance: the peak is the result

    @property
    def ok(self) -> bool:
        if self.error or self.loadgen_errors or self.accuracy_met is False:
            return False
        if self.find_peak_only:
            return self.peak_qps is not None
        return self.valid is not False


@dataclass(frozen=True)
class TaskRun:
    task: Task
    backend: str
    system: str
    profile: Profile
    rows: tuple[ScenarioRow, ...]
    results_dir: Path
    flags: tuple[str, ...]
    calibration: Calibration
    quality_target: float | None
    wall_s: float
    table: str

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)
