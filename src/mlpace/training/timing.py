"""The timing rules of a training run, read from its MLLOG records (reference §3.1).

* time to train = ``run_stop.time_ms - run_start.time_ms`` of the *first* run_start and the
  *first* run_stop, in minutes (/ 60,000), as the result summarizer computes it;
* the untimed init allowance runs from the *earliest* ``init_start`` to ``init_stop``:
  30 minutes closed, 240 minutes open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.mllog import MLLogRecord

MS_PER_MINUTE = 60_000.0


def init_budget_minutes(division: str) -> float:
    """The init allowance of a division (30 closed, 240 open)."""
    try:
        return C.INIT_BUDGET_MINUTES[division]
    except KeyError:
        raise TrainingError(
            f"unknown division {division!r}; expected one of {', '.join(C.DIVISIONS)}"
        ) from None


def _first(records: Sequence[MLLogRecord], key: str) -> MLLogRecord | None:
    return next((r for r in records if r.key == key), None)


def time_to_train_ms(records: Sequence[MLLogRecord]) -> float | None:
    """``run_stop - run_start`` in ms from the first of each; ``None`` if either is missing.

    May be negative for a broken log (the official tools do not check the order; our checker
    reports it)."""
    start, stop = _first(records, C.RUN_START), _first(records, C.RUN_STOP)
    if start is None or stop is None:
        return None
    return stop.time_ms - start.time_ms


def time_to_train_minutes(records: Sequence[MLLogRecord]) -> float | None:
    ms = time_to_train_ms(records)
    return None if ms is None else ms / MS_PER_MINUTE


def init_minutes(records: Sequence[MLLogRecord]) -> float | None:
    """Earliest ``init_start`` to the first ``init_stop`` in minutes (``None`` if missing)."""
    starts = [r.time_ms for r in records if r.key == C.INIT_START]
    stop = _first(records, C.INIT_STOP)
    if not starts or stop is None:
        return None
    return (stop.time_ms - min(starts)) / MS_PER_MINUTE


@dataclass(frozen=True)
class RunTiming:
    """The timing facts of one log."""

    time_to_train_min: float | None
    init_min: float | None
    division: str | None
    status: str | None  # run_stop metadata status

    @property
    def init_budget_min(self) -> float | None:
        if self.division not in C.INIT_BUDGET_MINUTES:
            return None
        return C.INIT_BUDGET_MINUTES[self.division]

    @property
    def init_within_budget(self) -> bool | None:
        budget = self.init_budget_min
        if budget is None or self.init_min is None:
            return None
        # Strictly less, like the official rule.
        return self.init_min < budget

    @property
    def success(self) -> bool:
        return self.status == C.SUCCESS


def run_timing(records: Sequence[MLLogRecord]) -> RunTiming:
    division = _first(records, C.SUBMISSION_DIVISION)
    stop = _first(records, C.RUN_STOP)
    status = stop.metadata.get(C.STATUS) if stop is not None else None
    return RunTiming(
        time_to_train_min=time_to_train_minutes(records),
        init_min=init_minutes(records),
        division=str(division.value) if division is not None else None,
        status=str(status) if status is not None else None,
    )
