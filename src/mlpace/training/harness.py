"""Run one proxy benchmark under the MLPerf training timing rules, writing an MLLOG file.

The order of a run (dissertation §3.2.2; training rules "what is timed"):

untimed — ``cache_clear``, ``init_start``, the ``submission_*`` keys, ``seed``,
``global_batch_size`` and every hyperparameter, the 6.1 disclosure keys,
``train_samples``/``eval_samples``, then model and optimizer construction, then ``init_stop``.
The init allowance (30 min closed, 4 h open) is checked here, not only by the checker, so an
over-long initialisation fails loudly instead of producing a log that is rejected later.

timed — ``run_start`` is logged *before* the first touch of training or validation data (the
trainer's ``load_data``), so data loading and synthetic generation are on the clock. Then
``block_start``/``block_stop`` around each epoch and ``eval_start``/``eval_accuracy``/
``eval_stop`` after it, all with ``samples_count`` and ``epoch_num``, until the quality target
is reached (``run_stop`` status ``success``) or the epoch or time budget is exhausted
(``aborted``). Evaluation is on the clock, as the rules require.

The harness never computes the score: it returns a :class:`RunRecord` for progress display,
and the score is computed by the scorer from the log file alone.

Data parallel: with a :class:`~mlpace.training.distributed.DistContext` of world size > 1,
every rank runs this same function; only rank 0 writes the log; ranks meet at barriers around
``init_stop``/``run_start`` so the timed region starts together; the evaluated metric and the
stop decision are broadcast from rank 0, so every rank leaves the loop at the same epoch.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.proxies import DEFAULT_SEED, BenchmarkDefinition, HyperValue, get_benchmark

if TYPE_CHECKING:
    from mlpace.training.distributed import DistContext

__all__ = [
    "DEFAULT_SEED",
    "EvalPoint",
    "RunRecord",
    "check_init_budget",
    "run_benchmark",
]

ProgressFn = Callable[["EvalPoint"], None]


@dataclass(frozen=True)
class EvalPoint:
    """One evaluation, as reported to a progress callback."""

    benchmark: str
    epoch: int
    samples_count: int
    value: float
    target: float
    elapsed_s: float  # since run_start, on the run's clock


@dataclass(frozen=True)
class RunRecord:
    """What one run did (for progress and tables; the score comes from the log)."""

    benchmark: str
    log_name: str
    seed: int
    status: str  # "success" or "aborted"
    time_to_train_min: float  # (run_stop - run_start) / 60,000 on the logged clock
    samples_to_converge: int  # samples_count of the last eval_accuracy
    epochs: int
    final_metric: float
    init_time_min: float
    log_path: Path | None
    world_size: int
    hyperparameters: Mapping[str, HyperValue] = field(default_factory=dict)
    history: tuple[EvalPoint, ...] = ()

    @property
    def success(self) -> bool:
        return self.status == C.SUCCESS


def check_init_budget(init_ms: float, division: str) -> None:
    """Raise if initialisation (earliest init_start to init_stop) exceeds the division's budget."""
    budget_min = C.INIT_BUDGET_MINUTES.get(division)
    if budget_min is None:
        raise TrainingError(f"division must be 'closed' or 'open', not {division!r}")
    if init_ms / 60_000.0 >= budget_min:
        raise TrainingError(
            f"initialisation took {init_ms / 60_000.0:.2f} min, over the {division} division's "
            f"untimed allowance of {budget_min:g} min; the run would not be compliant"
        )


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _clear_caches() -> None:
    """What a user-space process can do for ``cache_clear``.

    Dropping the OS page cache needs root (``/proc/sys/vm/drop_caches``); we try it and go on
    when it is refused. Every run re-reads or regenerates its data after ``run_start``, and no
    proxy keeps data in memory between runs, so the in-process part is a garbage collection.
    """
    gc.collect()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as fh:  # root only; harmless otherwise
            fh.write("1\n")
    except OSError:
        pass


def run_benchmark(
    name: str | BenchmarkDefinition,
    *,
    seed: int,
    log_path: str | Path | None,
    hyperparameters: Mapping[str, HyperValue] | None = None,
    division: str = C.CLOSED,
    max_time_s: float | None = None,
    max_epochs: int | None = None,
    clock: Callable[[], int] | None = None,
    dist: DistContext | None = None,
    org: str = "mlpace",
    platform: str = "2-core CPU",
    submission_status: str = C.RESEARCH,
    config_filename: str | None = None,
    threads: int | None = None,
    echo: TextIO | None = None,
    progress: ProgressFn | None = None,
) -> RunRecord:
    """Run ``name`` once from ``init_start`` to ``run_stop``; write the MLLOG file at ``log_path``.

    ``clock`` returns integer milliseconds since the epoch (default: wall time); every logged
    ``time_ms`` and the time budget use it, so tests can inject a fake one. ``dist`` defaults
    to the torchrun environment (single process without one). ``threads`` caps torch's
    intra-op threads (default: the machine's cores divided by the local world size).
    ``log_path=None`` writes the MLLOG lines to stdout, as the official logger does by default.
    An existing file at ``log_path`` is replaced (one file holds one run).
    """
    try:
        import torch
    except ImportError:
        from mlpace.errors import MissingDependencyError

        raise MissingDependencyError("torch", "train") from None
    from mlpace.training.distributed import init_from_env
    from mlpace.training.mllog import MLLogger

    bench = get_benchmark(name) if isinstance(name, str) else name
    ctx = dist if dist is not None else init_from_env()
    clock_ms = clock or _wall_clock_ms
    budget_s = bench.max_time_s if max_time_s is None else max_time_s
    epoch_limit = bench.max_epochs if max_epochs is None else max_epochs
    if seed < 0:
        raise TrainingError(f"seed must be a non-negative integer, not {seed}")
    hp = bench.resolve(hyperparameters, division=division, world_size=ctx.world_size)
    n_threads = threads or max(1, (os.cpu_count() or 1) // max(1, ctx.world_size))
    torch.set_num_threads(n_threads)

    path = Path(log_path) if log_path is not None else None
    writes = ctx.is_main and path is not None
    if writes and path is not None:
        # One file, one run: the logger appends, so start from an empty file.
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
    logger = MLLogger(
        path if writes else None,
        clock_ms=clock_ms,
        echo=echo if ctx.is_main else None,
        rank=ctx.rank,
    )
    try:
        return _run(
            bench,
            logger,
            ctx,
            hp,
            seed=seed,
            division=division,
            budget_s=budget_s,
            epoch_limit=epoch_limit,
            clock_ms=clock_ms,
            org=org,
            platform=platform,
            submission_status=submission_status,
            config_filename=config_filename or f"{bench.name}_defaults.json",
            log_path=path,
            progress=progress if ctx.is_main else None,
        )
    finally:
        logger.close()


def _run(
    bench: BenchmarkDefinition,
    logger: Any,
    ctx: DistContext,
    hp: dict[str, HyperValue],
    *,
    seed: int,
    division: str,
    budget_s: float,
    epoch_limit: int,
    clock_ms: Callable[[], int],
    org: str,
    platform: str,
    submission_status: str,
    config_filename: str,
    log_path: Path | None,
    progress: ProgressFn | None,
) -> RunRecord:
    gbs = int(hp[C.GLOBAL_BATCH_SIZE])

    # ---- untimed: initialisation -------------------------------------------------------
    _clear_caches()
    logger.event(C.CACHE_CLEAR, True)
    init_start_ms = clock_ms()
    logger.start(C.INIT_START, time_ms=init_start_ms)
    logger.event(C.SUBMISSION_ORG, org)
    logger.event(C.SUBMISSION_PLATFORM, platform)
    logger.event(C.SUBMISSION_DIVISION, division)
    logger.event(C.SUBMISSION_STATUS, submission_status)
    logger.event(C.SUBMISSION_BENCHMARK, bench.log_name)
    logger.event(C.SEED, seed)
    # global_batch_size first: rules that check the learning rate read it from earlier state.
    logger.event(C.GLOBAL_BATCH_SIZE, gbs)
    for key in sorted(hp):
        if key != C.GLOBAL_BATCH_SIZE:
            logger.event(key, hp[key])
    logger.event("world_size", ctx.world_size)  # mlpace extension: data-parallel ranks
    for key in C.PRECISION_KEYS:
        logger.event(key, "fp32")
    for key in (
        C.TENSOR_PARALLELISM,
        C.PIPELINE_PARALLELISM,
        C.CONTEXT_PARALLELISM,
        C.EXPERT_PARALLELISM,
    ):
        logger.event(key, 1)
    logger.event(C.MICRO_BATCH_SIZE, gbs // ctx.world_size)
    logger.event(C.CONFIG_FILENAME, config_filename)
    logger.event(C.TRAIN_SAMPLES, bench.train_samples)
    logger.event(C.EVAL_SAMPLES, bench.eval_samples)

    trainer = bench.load_trainer_class()(hp, seed=seed, dist=ctx)
    trainer.build()  # model creation: allowed in the untimed part
    ctx.barrier()
    init_stop_ms = clock_ms()
    logger.end(C.INIT_STOP, time_ms=init_stop_ms)
    check_init_budget(init_stop_ms - init_start_ms, division)

    # ---- timed: from the first touch of the data ---------------------------------------
    ctx.barrier()
    run_start_ms = clock_ms()
    logger.start(C.RUN_START, time_ms=run_start_ms)
    trainer.load_data()

    samples = 0
    epoch = 0
    value = float("nan")
    status = C.ABORTED
    history: list[EvalPoint] = []
    while epoch < epoch_limit:
        epoch += 1
        logger.start(
            C.BLOCK_START,
            metadata={C.FIRST_EPOCH_NUM: epoch, C.EPOCH_COUNT: 1, C.SAMPLES_COUNT: samples},
        )
        samples += trainer.train_epoch(epoch)
        logger.end(C.BLOCK_STOP, metadata={C.FIRST_EPOCH_NUM: epoch, C.SAMPLES_COUNT: samples})
        logger.start(C.EVAL_START, metadata={C.EPOCH_NUM: epoch, C.SAMPLES_COUNT: samples})
        # Rank 0's value everywhere: every rank then takes the same stop decision.
        value = ctx.broadcast_float(trainer.evaluate())
        logger.event(
            C.EVAL_ACCURACY, value, metadata={C.EPOCH_NUM: epoch, C.SAMPLES_COUNT: samples}
        )
        logger.end(C.EVAL_STOP, metadata={C.EPOCH_NUM: epoch, C.SAMPLES_COUNT: samples})
        elapsed_s = (clock_ms() - run_start_ms) / 1000.0
        point = EvalPoint(bench.name, epoch, samples, value, bench.quality_target, elapsed_s)
        history.append(point)
        if progress is not None:
            progress(point)
        if bench.target_reached(value):
            status = C.SUCCESS
            break
        # The time budget is rank 0's clock, broadcast, so no rank stops alone.
        if ctx.broadcast_int(1 if elapsed_s >= budget_s else 0):
            break
    ctx.barrier()  # run_stop only once every rank has finished its last step
    run_stop_ms = clock_ms()
    logger.end(
        C.RUN_STOP,
        metadata={C.STATUS: status, C.EPOCH_NUM: epoch, C.SAMPLES_COUNT: samples},
        time_ms=run_stop_ms,
    )
    return RunRecord(
        benchmark=bench.name,
        log_name=bench.log_name,
        seed=seed,
        status=status,
        time_to_train_min=(run_stop_ms - run_start_ms) / 60_000.0,
        samples_to_converge=samples,
        epochs=epoch,
        final_metric=value,
        init_time_min=(init_stop_ms - init_start_ms) / 60_000.0,
        log_path=log_path if ctx.is_main else None,
        world_size=ctx.world_size,
        hyperparameters=dict(hp),
        history=tuple(history),
    )
