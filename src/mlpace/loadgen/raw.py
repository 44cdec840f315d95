"""The raw record of one run: timestamps and ids, nothing interpreted.

The issuing engine fills these arrays; :func:`mlpace.loadgen.results.compute_result` turns them
into metrics and validity with pure functions. All times are integer nanoseconds relative to the
run's start (the instant just before the first issue), so results never depend on the clock's
origin. ``-1`` marks "never happened" (a sample that did not complete, no first token).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mlpace.loadgen.enums import TestMode, TestScenario

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LogEvent:
    """An error or warning raised during the run, as it goes into the detail log."""

    key: str  # e.g. "error_runtime", "error_invalid_test_settings", "warning_generic_message"
    message: str
    is_error: bool
    time_ns: int = 0


@dataclass(frozen=True)
class RawRun:
    """Everything measured in one performance (or accuracy) pass.

    Per-sample arrays have one entry per *issued* sample, in issue order; the sample's sequence
    id (what the SUT saw as ``QuerySample.id``, and ``seq_id`` in the accuracy log) is
    ``first_sample_id + position``. Per-query arrays have one entry per issued query.
    """

    scenario: TestScenario
    mode: TestMode
    # per sample
    sample_index: I64  # QSL index
    query_of_sample: I64  # position of the sample's query in the per-query arrays
    scheduled_ns: I64  # when the sample was due (Server: ideal Poisson time)
    issued_ns: I64  # when issue_queries was actually called for it
    completed_ns: I64  # -1 if it never completed
    first_token_ns: I64  # -1 if no first token was reported
    n_tokens: I64  # 0 unless the SUT reported tokens
    # per query
    query_scheduled_ns: I64
    query_issued_ns: I64
    first_sample_id: int = 0
    # wall-clock (epoch ns) of the start and end of the issue window, for power_begin/power_end
    start_wall_ns: int = 0
    end_wall_ns: int = 0
    events: tuple[LogEvent, ...] = ()
    interrupted: bool = False
    interrupt_reason: str = ""
    # counters of SUT misbehaviour
    unknown_id_responses: int = 0
    duplicate_responses: int = 0
    loaded_sample_indices: tuple[int, ...] = field(default=())

    @property
    def issued_query_count(self) -> int:
        return int(self.query_issued_ns.shape[0])

    @property
    def issued_sample_count(self) -> int:
        return int(self.sample_index.shape[0])

    @property
    def completed_mask(self) -> npt.NDArray[np.bool_]:
        return self.completed_ns >= 0
