"""See and compare results: log readers, the HTML report, the run history, compare, live progress.

Sits above ``loadgen``, ``workloads`` and ``training`` and below ``cli``; nothing below imports
it. Everything is read back from log files, so a run of the official LoadGen is reported and
compared the same way as an mlpace run.

    from mlpace.report import read_runs, write_report, compare_runs, format_comparison
    runs = read_runs([Path("A"), Path("B")])
    write_report(runs, Path("report.html"))
    print(format_comparison(compare_runs(read_runs([Path("A")]), read_runs([Path("B")]))))
"""

from __future__ import annotations

from mlpace.report.compare import (
    CompareError,
    Comparison,
    MetricChange,
    compare_runs,
    comparison_html,
    format_comparison,
)
from mlpace.report.history import History, HistoryError, HistoryRow, default_path, open_history
from mlpace.report.html import build_html, write_report
from mlpace.report.logs import LogReadError, read_accuracy, read_detail, read_summary
from mlpace.report.progress import LiveProgress, PassView, live_progress, snapshot
from mlpace.report.record import RunRecorder, record_training_runs, recorder_from_args
from mlpace.report.run import Check, RunLog, find_runs, read_run, read_runs
from mlpace.report.samples import (
    SamplesError,
    SampleTimes,
    read_samples_npz,
    read_trace,
    write_samples,
)

__all__ = [
    "Check",
    "CompareError",
    "Comparison",
    "History",
    "HistoryError",
    "HistoryRow",
    "LiveProgress",
    "LogReadError",
    "MetricChange",
    "PassView",
    "RunLog",
    "RunRecorder",
    "SampleTimes",
    "SamplesError",
    "build_html",
    "compare_runs",
    "comparison_html",
    "default_path",
    "find_runs",
    "format_comparison",
    "live_progress",
    "open_history",
    "read_accuracy",
    "read_detail",
    "read_run",
    "read_runs",
    "read_samples_npz",
    "read_summary",
    "read_trace",
    "record_training_runs",
    "recorder_from_args",
    "snapshot",
    "write_report",
    "write_samples",
]
