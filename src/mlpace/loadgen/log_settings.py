"""Where and how the four log files are written (the official LogOutputSettings/LogSettings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LogOutputSettings:
    outdir: str = "."
    prefix: str = "mlperf_log_"
    suffix: str = ""
    prefix_with_datetime: bool = False
    copy_detail_to_stdout: bool = False
    copy_summary_to_stdout: bool = False

    def path(self, kind: str, datetime_tag: str = "") -> Path:
        """``kind`` is summary, detail, accuracy or trace (official file naming)."""
        ext = "txt" if kind in ("summary", "detail") else "json"
        tag = f"{datetime_tag}_" if self.prefix_with_datetime and datetime_tag else ""
        return Path(self.outdir) / f"{self.prefix}{tag}{kind}{self.suffix}.{ext}"


@dataclass(frozen=True)
class LogSettings:
    log_output: LogOutputSettings = field(default_factory=LogOutputSettings)
    enable_trace: bool = True
