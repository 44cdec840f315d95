"""The trace, ``mlperf_log_trace.json`` (Chrome trace format, reference §12.4), from a RawRun.

Written at the end of the run, streamed in chunks. Per sample a "Sample" begin/end pair (begin
at the sample's latency base, end at its completion); Server runs add a "Latency" counter per
sample ("Token_Latency" in token runs, up to the first token): the policy's
``trace_latency_counter``. To keep the file usable, at most
``max_samples`` samples get events (the first ones issued); ``otherData`` says how many were
written and how many there were. Times are microseconds with 3 decimals from the run's start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mlpace.loadgen.raw import RawRun

if TYPE_CHECKING:
    from mlpace.loadgen.scenarios import ScenarioPolicy

MAX_TRACE_SAMPLES = 100_000
_CHUNK = 4096


def _us(ns: int) -> str:
    return f"{ns // 1000}.{ns % 1000:03d}" if ns >= 0 else f"-{_us(-ns)}"


def write_trace(
    path: Path,
    raw: RawRun,
    policy: ScenarioPolicy,
    *,
    origin_wall_ns: int = 0,
    pid: int | None = None,
    max_samples: int = MAX_TRACE_SAMPLES,
) -> int:
    """Write the trace (``policy``: the run's scenario's); returns how many samples got events."""
    pid = os.getpid() if pid is None else pid
    n = raw.issued_sample_count
    written = min(n, max_samples)
    base = policy.latency_base_ns(raw)
    server = policy.trace_latency_counter
    tokens = bool(np.any(raw.first_token_ns[:written] >= 0))
    with open(path, "w", encoding="ascii") as out:
        out.write('{"traceEvents":[\n')
        lines: list[str] = []
        for i in range(written):
            b = int(base[i])
            issued = int(raw.issued_ns[i])
            done = int(raw.completed_ns[i])
            seq = raw.first_sample_id + i
            delay = issued - b
            if server:
                if tokens and raw.first_token_ns[i] >= 0:
                    name, to_done = "Token_Latency", int(raw.first_token_ns[i]) - issued
                else:
                    name, to_done = "Latency", (done - issued if done >= 0 else -1)
                lines.append(
                    f'{{"name":"{name}","ph": "C","pid":{pid},"ts":{_us(b)},'
                    f'"args":{{ "issue_delay":{delay},"issue_to_done":{to_done}}}}},\n'
                )
            lines.append(
                f'{{"name":"Sample","cat":"default","ph":"b","pid":{pid},"id":{seq},'
                f'"ts":{_us(b)},"args":{{"sample_seq":{seq},'
                f'"query_seq":{int(raw.query_of_sample[i])},'
                f'"sample_idx":{int(raw.sample_index[i])},"issue_start_ns":{delay},'
                f'"complete_ns":{done - b if done >= 0 else -1}}}}},\n'
            )
            if done >= 0:
                lines.append(
                    f'{{"name":"Sample","cat":"default","ph":"e", "pid":{pid},"id":{seq},'
                    f'"ts":{_us(done)}}},\n'
                )
            if len(lines) >= _CHUNK:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
        out.write(
            '{"name":"LastTrace"}\n],\n"displayTimeUnit":"ns",\n"otherData":{\n'
            f'"ts":{_us(origin_wall_ns)},\n"version":"MLPerf LoadGen v1.0",\n'
            f'"generator":"mlpace",\n"sample_events_written":{written},\n'
            f'"sample_count":{n}\n}}\n}}\n'
        )
    return written
