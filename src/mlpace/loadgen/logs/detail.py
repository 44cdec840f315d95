"""The detail log, ``mlperf_log_detail.txt``: one ``:::MLLOG {json}`` line per event.

Each line is written and flushed at once under a lock, so a crash or Ctrl-C loses nothing that
was already logged and threads never interleave. Key order inside a line is the official one.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from mlpace.loadgen.logs.formatting import json_value

DEFAULT_FILE = "mlpace"


def format_time_ms(elapsed_ns: int) -> str:
    """``<ms>.<6-digit ns remainder>`` as the official log prints ``time_ms``."""
    elapsed_ns = max(0, int(elapsed_ns))
    return f"{elapsed_ns // 1_000_000}.{elapsed_ns % 1_000_000:06d}"


def format_line(
    key: str,
    value: object,
    *,
    elapsed_ns: int,
    is_error: bool,
    is_warning: bool,
    file: str,
    line_no: int,
    pid: int,
    tid: int,
) -> str:
    return (
        f':::MLLOG {{"key": {json_value(key)}, "value": {json_value(value)}, '
        f'"time_ms": {format_time_ms(elapsed_ns)}, "namespace": "mlperf::logging", '
        f'"event_type": "POINT_IN_TIME", "metadata": {{"is_error": {json_value(is_error)}, '
        f'"is_warning": {json_value(is_warning)}, "file": {json_value(file)}, '
        f'"line_no": {int(line_no)}, "pid": {int(pid)}, "tid": {int(tid)}}}}}\n'
    )


class DetailLog:
    """Thread-safe writer of detail-log lines; ``path=None`` keeps only the counters."""

    def __init__(
        self,
        path: Path | None,
        *,
        now_ns: Callable[[], int],
        pid: int | None = None,
        copy_to_stdout: bool = False,
    ) -> None:
        self._now_ns = now_ns
        self._origin_ns = now_ns()
        self._pid = os.getpid() if pid is None else pid
        self._copy = copy_to_stdout
        self._lock = threading.Lock()
        self._out: IO[str] | None = None
        if path is not None:
            self._out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.error_count = 0
        self.warning_count = 0
        self.path = path

    def event(
        self,
        key: str,
        value: object,
        *,
        is_error: bool = False,
        is_warning: bool = False,
        file: str = DEFAULT_FILE,
        line_no: int = 0,
    ) -> None:
        line = format_line(
            key,
            value,
            elapsed_ns=self._now_ns() - self._origin_ns,
            is_error=is_error,
            is_warning=is_warning,
            file=file,
            line_no=line_no,
            pid=self._pid,
            tid=threading.get_native_id(),
        )
        with self._lock:
            if is_error:
                self.error_count += 1
            if is_warning:
                self.warning_count += 1
            if self._out is not None:
                self._out.write(line)
                self._out.flush()
            if self._copy:
                sys.stdout.write(line)
                sys.stdout.flush()

    def close(self) -> None:
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None
