"""``mlpace tune-threads``: grid, sweep, table, best-settings file and plot, in one call.

``tune_threads(TuneOptions(...))`` builds the pruned grid for this machine's physical cores and
the model's graph width (:mod:`mlpace.workloads.tuning_grid`), measures it with the LoadGen
(:mod:`mlpace.workloads.tuning_measure`) within the budget (:mod:`mlpace.workloads.tuning`),
and writes into the output folder:

* ``threads.json`` — the best setting, for ``mlpace run --threads-from`` (also at
  ``threads_file`` when given);
* ``sweep.json`` — every point and repeat; ``sweep.md`` — the table in Markdown;
* ``throughput_vs_threads.svg`` — the plot;
* ``system_description.json`` — this machine's MLPerf system description with the tuned
  settings in ``sw_notes``, when :mod:`mlpace.system` is installed;
* ``logs/`` — the LoadGen logs of every pass.

Files are written even when the sweep was stopped early (budget, Ctrl-C): the points measured
so far are kept.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlpace.errors import TaskError
from mlpace.workloads.registry import get_task
from mlpace.workloads.topology import CpuTopology, detect_topology
from mlpace.workloads.tuning import SweepResult, format_sweep_table, run_sweep
from mlpace.workloads.tuning_file import (
    full_system_description,
    sweep_document,
    threads_document,
    write_json,
)
from mlpace.workloads.tuning_grid import ThreadPoint, batch_candidates, build_grid
from mlpace.workloads.tuning_plot import sweep_svg

__all__ = ["TuneOptions", "TuneOutcome", "Measurer", "default_output", "tune_threads"]

Say = Callable[[str], None]


class Measurer(Protocol):
    """What :func:`tune_threads` needs from a measurer (the LoadGen one, or a test's fake)."""

    @property
    def metric(self) -> str: ...

    @property
    def largest_batch(self) -> int: ...

    def graph_width(self) -> int: ...

    def __call__(self, point: ThreadPoint) -> float: ...

    def close(self) -> None: ...


MeasurerFactory = Callable[["TuneOptions", Path], Measurer]


@dataclass(frozen=True)
class TuneOptions:
    task: str
    backend: str | None = None
    scenario: str = "Offline"
    budget_s: float = 300.0
    repeats: int = 3
    max_repeats: int = 9  # more rounds while the budget lasts
    pass_ms: int = 1500
    batches: tuple[int, ...] | None = None  # None: a quarter of, equal to, 4x the task's batch
    max_points: int | None = 24
    output_dir: Path | None = None  # None: default_output(...)
    threads_file: Path | None = None  # another copy of threads.json
    dataset: str | None = None
    model_path: str | None = None
    topology: CpuTopology | None = None  # None: this machine's


@dataclass(frozen=True)
class TuneOutcome:
    sweep: SweepResult
    table: str
    files: dict[str, Path]

    @property
    def exit_code(self) -> int:
        if self.sweep.exit_code:
            return self.sweep.exit_code
        return 0 if self.sweep.best is not None else 1


def default_output(task: str, backend: str, scenario: str) -> Path:
    return Path("mlpace-results") / "tuning" / task / f"{backend}-{scenario}"


def _loadgen_measurer(opts: TuneOptions, log_root: Path) -> Measurer:
    from mlpace.workloads.tuning_measure import LoadGenMeasurer

    assert opts.backend is not None
    return LoadGenMeasurer(
        opts.task,
        opts.backend,
        opts.scenario,
        log_root=log_root,
        pass_ms=opts.pass_ms,
        dataset=opts.dataset,
        model_path=opts.model_path,
    )


def _mlpace_default(opts: TuneOptions, cores: int) -> tuple[int | None, int]:
    """(threads, workers) that ``mlpace run`` uses for the task (as the runner sizes them)."""
    runnable = get_task(opts.task).runnable
    assert runnable is not None
    threads = runnable.default_threads
    workers = runnable.default_workers or (max(1, cores // threads) if threads else cores)
    return threads, workers


def tune_threads(
    opts: TuneOptions,
    *,
    say: Say | None = None,
    make_measurer: MeasurerFactory = _loadgen_measurer,
    clock: Callable[[], float] = time.monotonic,
) -> TuneOutcome:
    """Sweep, print nothing, write the files; ``say`` gets progress lines."""
    task = get_task(opts.task)
    runnable = task.runnable
    if runnable is None:
        raise TaskError(f"task {task.name!r} is reference data only (no model ships with mlpace)")
    backend = opts.backend or runnable.default_backend
    backend = {"onnx": "onnxruntime", "ort": "onnxruntime", "pytorch": "torch"}.get(
        backend, backend
    )
    if backend not in runnable.backends:
        raise TaskError(
            f"task {task.name!r} runs on {', '.join(runnable.backends)}, not {backend!r}"
        )
    opts = dataclasses.replace(opts, backend=backend)
    out = opts.output_dir or default_output(task.name, backend, opts.scenario)
    topology = opts.topology or detect_topology()
    tell = say or (lambda _line: None)
    measurer = make_measurer(opts, out / "logs")
    try:
        width = measurer.graph_width()
        default_batch = runnable.default_batch_size
        batches = opts.batches or tuple(batch_candidates(default_batch, measurer.largest_batch))
        grid = functools.partial(
            build_grid,
            topology,
            backend=backend,
            graph_width=width,
            batches=batches,
            default_batch=default_batch,
            mlpace_default=_mlpace_default(opts, topology.physical_cores),
        )
        whole, points = grid(), grid(max_points=opts.max_points)
        if len(points) < len(whole):
            tell(
                f"mlpace: tune-threads: the pruned grid has {len(whole)} points; measuring the "
                f"first {len(points)} (--max-points): reference points, then the likeliest"
            )
        tell(
            f"mlpace: tune-threads: {task.name} on {backend}, {opts.scenario}: "
            f"{topology.describe()}; graph width {width}; {len(points)} point(s) x "
            f"{opts.repeats} to {max(opts.repeats, opts.max_repeats)} repeat(s) within "
            f"{opts.budget_s:g} s"
        )
        sweep = run_sweep(
            points,
            measurer,
            task=task.name,
            backend=backend,
            scenario=opts.scenario,
            metric=measurer.metric,
            topology=topology,
            graph_width=width,
            repeats=opts.repeats,
            max_repeats=opts.max_repeats,
            budget_s=opts.budget_s,
            clock=clock,
            say=tell,
        )
    finally:
        measurer.close()
    return TuneOutcome(sweep, format_sweep_table(sweep), _write(sweep, out, opts.threads_file))


def _write(sweep: SweepResult, out: Path, threads_file: Path | None) -> dict[str, Path]:
    files = {"sweep": out / "sweep.json", "table": out / "sweep.md", "plot": out / "plot.svg"}
    files["plot"] = out / "throughput_vs_threads.svg"
    write_json(files["sweep"], sweep_document(sweep))
    files["table"].write_text(format_sweep_table(sweep, markdown=True) + "\n")
    files["plot"].write_text(sweep_svg(sweep))
    doc = threads_document(sweep)
    if doc is not None:
        files["threads"] = out / "threads.json"
        write_json(files["threads"], doc)
        if threads_file is not None:
            write_json(threads_file, doc)
            files["threads_copy"] = threads_file
        system = full_system_description(doc)
        if system is not None:
            files["system"] = out / "system_description.json"
            write_json(files["system"], system)
    return files
