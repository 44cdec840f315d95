"""Synthetic MLLOG logs: a minimal compliant event list that tests (and users trying the
checker) can edit and write with :class:`~mlpace.training.mllog.MLLogger`.

The event order is the one reference §7 found to pass the official checker for a closed
``llama2_70b_lora`` run; other benchmarks get their required hyperparameters from
``hyperparameters.REFERENCE_CLOSED`` where we know them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlpace.training import constants as C
from mlpace.training.mllog import MLLogger


@dataclass(frozen=True)
class Event:
    """One line to write: ``kind`` is ``start``, ``end`` or ``event``."""

    kind: str
    key: str
    value: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    time_ms: int = 0

    def at(self, time_ms: int) -> Event:
        return replace(self, time_ms=time_ms)


def reference_events(
    *,
    benchmark: str = C.LLAMA2_70B_LORA,
    division: str = C.CLOSED,
    hyperparameters: Mapping[str, Any] | None = None,
    seed: int = 1,
    start_ms: int = 1_700_000_000_000,
    init_ms: int = 60_000,
    run_ms: int = 600_000,
    evals: Sequence[tuple[int, float]] = ((3072, 0.92),),
    status: str | None = C.SUCCESS,
) -> list[Event]:
    """A compliant run: init, hyperparameters, disclosure keys, blocks with evals, run_stop.

    ``evals`` are ``(samples_count, eval_accuracy)`` pairs spread evenly over ``run_ms``.
    """
    from mlpace.training.hyperparameters import reference_hyperparameters

    hp = dict(reference_hyperparameters(benchmark))
    hp.update(hyperparameters or {})
    gbs = hp.pop(C.GLOBAL_BATCH_SIZE, 8)
    t0 = start_ms
    ev: list[Event] = [
        Event("event", C.CACHE_CLEAR, True, time_ms=t0),
        Event("start", C.INIT_START, time_ms=t0),
        Event("event", C.SUBMISSION_ORG, "mlpace", time_ms=t0),
        Event("event", C.SUBMISSION_PLATFORM, "cpu-2core", time_ms=t0),
        Event("event", C.SUBMISSION_DIVISION, division, time_ms=t0),
        Event("event", C.SUBMISSION_STATUS, C.RESEARCH, time_ms=t0),
        Event("event", C.SUBMISSION_BENCHMARK, benchmark, time_ms=t0),
        Event("event", C.SEED, seed, time_ms=t0),
        # global_batch_size first: formula rules read it from the state.
        Event("event", C.GLOBAL_BATCH_SIZE, gbs, time_ms=t0),
    ]
    ev += [Event("event", k, v, time_ms=t0) for k, v in hp.items()]
    if C.GRADIENT_ACCUMULATION_STEPS not in hp:
        ev.append(Event("event", C.GRADIENT_ACCUMULATION_STEPS, 1, time_ms=t0))
    for key in (C.TRAIN_SAMPLES, C.EVAL_SAMPLES):
        if key not in hp:
            ev.append(Event("event", key, 1024, time_ms=t0))
    ev += [Event("event", k, "bfloat16", time_ms=t0) for k in C.PRECISION_KEYS]
    ev += [Event("event", k, 1, time_ms=t0) for k in C.PARALLELISM_KEYS]
    ev.append(Event("event", C.CONFIG_FILENAME, "config_mlpace.sh", time_ms=t0))
    t_run = t0 + init_ms
    ev.append(Event("end", C.INIT_STOP, time_ms=t_run))
    ev.append(Event("start", C.RUN_START, time_ms=t_run))
    prev = 0
    n = max(len(evals), 1)
    for i, (samples, acc) in enumerate(evals):
        t_block = t_run + run_ms * i // n
        t_eval = t_run + run_ms * (i + 1) // n
        ev.append(Event("start", C.BLOCK_START, metadata={C.SAMPLES_COUNT: prev}, time_ms=t_block))
        ev.append(Event("end", C.BLOCK_STOP, metadata={C.SAMPLES_COUNT: samples}, time_ms=t_eval))
        ev.append(Event("start", C.EVAL_START, metadata={C.SAMPLES_COUNT: samples}, time_ms=t_eval))
        ev.append(
            Event(
                "event", C.EVAL_ACCURACY, acc, metadata={C.SAMPLES_COUNT: samples}, time_ms=t_eval
            )
        )
        ev.append(Event("end", C.EVAL_STOP, metadata={C.SAMPLES_COUNT: samples}, time_ms=t_eval))
        prev = samples
    stop_meta: dict[str, Any] = {C.SAMPLES_COUNT: prev}
    if status is not None:
        stop_meta[C.STATUS] = status
    ev.append(Event("end", C.RUN_STOP, metadata=stop_meta, time_ms=t_run + run_ms))
    return ev


def write_events(path: str | Path, events: Iterable[Event], *, prefix: str = "") -> Path:
    """Write ``events`` as an MLLOG file (overwriting it); ``prefix`` goes before each token."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        logger = MLLogger(fh)
        for e in events:
            if prefix:
                fh.write(prefix)
            if e.kind == "start":
                logger.start(e.key, e.value, dict(e.metadata), time_ms=e.time_ms)
            elif e.kind == "end":
                logger.end(e.key, e.value, dict(e.metadata), time_ms=e.time_ms)
            else:
                logger.event(e.key, e.value, dict(e.metadata), time_ms=e.time_ms)
    return out


def without(events: Sequence[Event], *keys: str) -> list[Event]:
    return [e for e in events if e.key not in keys]


def replaced(events: Sequence[Event], key: str, **changes: Any) -> list[Event]:
    return [replace(e, **changes) if e.key == key else e for e in events]
