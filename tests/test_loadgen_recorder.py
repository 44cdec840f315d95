"""The response recorder's ``fail(ids, reason)``: a SUT gives up on samples, the run never
hangs, ends INVALID, and names them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlpace.clock import VirtualClock
from mlpace.loadgen._recorder import ResponseRecorder
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.simulated import SimulatedSUT

MS = 1_000_000


class FailsOne(SimulatedSUT):
    def __init__(self, clock: VirtualClock, victim: int) -> None:
        super().__init__(clock, MS)
        self.victim = victim
        self.real: Any = None

    def bind(self, sink: Any) -> None:
        self.real = sink
        super().bind(self)

    def complete_ids(self, ids: list[int]) -> None:
        keep = [i for i in ids if i != self.victim]
        if len(keep) < len(ids):
            self.real.fail([self.victim], "connection reset")
            self.real.complete_ids([self.victim])  # a late answer after giving up: a duplicate
        if keep:
            self.real.complete_ids(keep)


def test_a_failed_sample_ends_the_run_invalid_without_waiting(tmp_path: Path) -> None:
    clock = VirtualClock()
    settings = TestSettings(min_duration_ms=200, single_stream_expected_latency_ns=MS)
    logs = LogSettings(LogOutputSettings(outdir=str(tmp_path)))
    outcome = run_test(FailsOne(clock, victim=3), NullQSL(16), settings, logs, clock=clock)
    assert not outcome.valid
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert int(raw.completed_ns[3]) == -1  # never completed in the record
    assert int((raw.completed_ns >= 0).sum()) == raw.issued_sample_count - 1
    assert raw.duplicate_responses == 1
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "sample id 3 failed: connection reset" in detail


def test_fail_outside_the_issued_range_is_an_unknown_id() -> None:
    import numpy as np

    errors: list[tuple[str, str]] = []
    rec = ResponseRecorder(lambda: 5, lambda key, text: errors.append((key, text)))
    rec.begin_pass(
        first_id=0, sample_index=np.arange(4), log_all=False, log_mask=bytes(4),
        accuracy=None, use_tokens=False, check_first_token=False,
    )  # fmt: skip
    rec.issued = 2
    rec.fail([1, 3], "gone")
    assert rec.completed == 1 and rec.failed_samples == 1 and rec.unknown_id_responses == 1
    rec.end_pass()
    assert list(rec.completed_ns) == [-1, -1, -1, -1]
