"""Scheduler-driven adaptive runtime: task types, a run-time mode, domains of efficiency, and the
adaptive data compression engine on tiled SpMV. Stands alone: NumPy only."""

from mlpace.adaptive.costs import CpuModel, LinkModel
from mlpace.adaptive.matrix import CsrTile, compress, graph500_matrix, kronecker_edges
from mlpace.adaptive.report import format_report, report_json
from mlpace.adaptive.runtime import (
    COMM,
    COMPRESS,
    COMPUTE,
    OFF,
    ON,
    AdaptiveError,
    Mode,
    ModeTracker,
    Optimisations,
    Task,
    Toggle,
    hysteresis,
    rules,
)
from mlpace.adaptive.scheduler import RunStats, ThreadScheduler, VirtualScheduler
from mlpace.adaptive.spmv import (
    VARIANTS,
    SpmvConfig,
    SpmvReport,
    VariantResult,
    make_phases,
    run_spmv,
    run_variant,
    speedup,
)
from mlpace.adaptive.sweep import SweepResult, run_sweep, sweep_csv, sweep_svg

__all__ = [
    "COMM",
    "COMPRESS",
    "COMPUTE",
    "OFF",
    "ON",
    "VARIANTS",
    "AdaptiveError",
    "CpuModel",
    "CsrTile",
    "LinkModel",
    "Mode",
    "ModeTracker",
    "Optimisations",
    "RunStats",
    "SpmvConfig",
    "SpmvReport",
    "SweepResult",
    "Task",
    "ThreadScheduler",
    "Toggle",
    "VariantResult",
    "VirtualScheduler",
    "compress",
    "format_report",
    "graph500_matrix",
    "hysteresis",
    "kronecker_edges",
    "make_phases",
    "report_json",
    "rules",
    "run_spmv",
    "run_sweep",
    "run_variant",
    "speedup",
    "sweep_csv",
    "sweep_svg",
]
