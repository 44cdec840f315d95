"""The official LoadGen log files: detail, accuracy, summary and trace."""

from mlpace.loadgen.logs.accuracy import AccuracyLog
from mlpace.loadgen.logs.detail import DetailLog
from mlpace.loadgen.logs.session import LogSession, result_items
from mlpace.loadgen.logs.summary import format_summary
from mlpace.loadgen.logs.trace import write_trace

__all__ = [
    "AccuracyLog",
    "DetailLog",
    "LogSession",
    "format_summary",
    "result_items",
    "write_trace",
]
