"""What ``mlpace run`` and ``mlpace train`` do after each pass and at the end: keep the per-sample
timing, write ``report.html`` beside the logs, record the runs in the history.

A :class:`RunRecorder` is made by the command line and handed to the code that runs passes:

    recorder = RunRecorder(history=default_path(), context={"task": "digits", ...})
    outcome = run_test(...)
    recorder.pass_done(outcome, out_dir)          # after every run_test
    done = recorder.finish(report_dir)            # once, after the last pass

Nothing here may fail a benchmark that already ran: a locked or unwritable history, a report
that cannot be written, become warnings in :attr:`Finished.warnings`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpace.errors import MlpaceError
from mlpace.report.history import History, default_path
from mlpace.report.html import write_report
from mlpace.report.run import RunLog, read_run
from mlpace.report.samples import SAMPLES_FILE, write_samples

if TYPE_CHECKING:
    from mlpace.training.harness import RunRecord

REPORT_FILE = "report.html"


def inference_fields(run: RunLog, context: Mapping[str, Any]) -> dict[str, Any]:
    """The history columns of one inference run, from its logs."""
    name, value, unit = run.primary_metric()
    metrics: dict[str, Any] = dict(run.results)
    metrics["primary"] = {"name": name, "value": value, "unit": unit}
    if run.accuracy_text:
        metrics["accuracy"] = run.accuracy_text
    settings = dict(run.settings)
    settings.update({f"context.{k}": v for k, v in context.items() if k not in ("task", "system")})
    checks = [
        {"name": c.name, "passed": c.passed, "observed": c.observed, "required": c.required,
         "advice": c.advice}
        for c in run.checks
    ]  # fmt: skip
    system = dict(run.system)
    if run.sut:
        system["sut"] = run.sut
    return {
        "kind": "inference",
        "task": str(context.get("task", "")),
        "scenario": run.scenario,
        "mode": run.mode,
        "system": str(context.get("system", run.system.get("system_name", ""))),
        "valid": run.valid if run.has_performance else None,
        "metric_name": name,
        "metric_value": value,
        "metric_unit": unit,
        "log_dir": str(run.path.resolve()),
        "generator": run.generator,
        "settings_json": settings,
        "system_json": system,
        "metrics_json": metrics,
        "checks_json": checks,
    }


@dataclass
class Finished:
    """What :meth:`RunRecorder.finish` did."""

    report: Path | None = None
    run_ids: list[int] = field(default_factory=list)
    history: Path | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunRecorder:
    """Collects the passes of one command and records them at the end (see module docstring).

    ``history``: the database (None: not recorded). ``report``: write ``report.html``.
    ``context``: task, system, backend, profile... stored with every history row.
    """

    history: Path | None = None
    report: bool = True
    context: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False
    performance_dirs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def observer(self) -> Any:
        """The live-progress observer to pass to ``run_test(..., observer=)`` (None if quiet)."""
        from mlpace.report.progress import live_progress

        return live_progress(self.quiet)

    def pass_done(self, outcome: Any, out_dir: Path) -> None:
        """After ``run_test``: keep the performance pass's per-sample timing beside its logs."""
        perf = getattr(outcome, "performance", None)
        if perf is None:
            return
        out_dir = Path(out_dir)
        try:
            write_samples(out_dir / SAMPLES_FILE, perf.raw)
        except (OSError, ValueError) as exc:
            self.warnings.append(f"could not write {out_dir / SAMPLES_FILE}: {exc}")
        if out_dir not in self.performance_dirs:
            self.performance_dirs.append(out_dir)

    def finish(
        self,
        report_dir: Path | None = None,
        title: str = "",
        *,
        context: Mapping[str, Any] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> Finished:
        """Read back every performance pass, write the report, record the history.

        ``context`` adds to the recorder's (task, system, backend...); ``say`` gets one line
        per thing done (report path, history ids, warnings).
        """
        if context:
            self.context.update(context)
        done = self._finish(report_dir, title)
        if say is not None:
            for line in describe(done):
                say(line)
        return done

    def _finish(self, report_dir: Path | None, title: str) -> Finished:
        done = Finished(warnings=list(self.warnings))
        runs: list[RunLog] = []
        for folder in self.performance_dirs:
            try:
                runs.append(read_run(folder))
            except MlpaceError as exc:
                done.warnings.append(f"cannot read back {folder}: {exc}")
        if not runs:
            return done
        if self.report:
            where = Path(report_dir) if report_dir is not None else runs[0].path
            task = self.context.get("task")
            name = title or (f"mlpace report: {task}" if task else "mlpace report")
            try:
                done.report = write_report(runs, where / REPORT_FILE, name)
            except (OSError, MlpaceError) as exc:
                done.warnings.append(f"could not write the report in {where}: {exc}")
        if self.history is not None:
            done.history = self.history
            try:
                with History(self.history) as db:
                    for run in runs:
                        done.run_ids.append(db.add(**inference_fields(run, self.context)))
            except MlpaceError as exc:
                done.warnings.append(f"history not recorded: {exc}")
        return done


def describe(done: Finished) -> list[str]:
    """What :meth:`RunRecorder.finish` did, as ``mlpace:`` lines."""
    lines = []
    if done.report is not None:
        lines.append(f"mlpace: report: {done.report}")
    if done.run_ids:
        ids = ", ".join(str(i) for i in done.run_ids)
        lines.append(f"mlpace: recorded as run {ids} in {done.history} (mlpace history)")
    lines += [f"mlpace: warning: {w}" for w in done.warnings]
    return lines


def recorder_from_args(args: Any, **context: Any) -> RunRecorder:
    """A recorder from ``mlpace run`` flags (``--no-history``, ``--history``, ``--no-report``,
    ``--quiet``); missing attributes take the defaults."""
    return RunRecorder(
        history=history_choice(
            bool(getattr(args, "no_history", False)), getattr(args, "history", None)
        ),
        report=not bool(getattr(args, "no_report", False)),
        context=dict(context),
        quiet=bool(getattr(args, "quiet", False)),
    )


def history_choice(
    no_history: bool = False, path: str | os.PathLike[str] | None = None
) -> Path | None:
    """The database a command records into: ``--no-history`` wins, then ``--history``, then
    ``$MLPACE_HISTORY``, then the default location."""
    if no_history:
        return None
    if path is not None:
        return Path(path).expanduser()
    return default_path()


def record_training_runs(
    records: Sequence[RunRecord],
    *,
    history: Path | None,
    system: str = "",
    system_description: Mapping[str, Any] | None = None,
) -> tuple[list[int], list[str]]:
    """One history row per training run (time to train, status, hyperparameters, log path)."""
    if history is None or not records:
        return [], []
    ids: list[int] = []
    try:
        with History(history) as db:
            for r in records:
                ids.append(
                    db.add(
                        kind="training",
                        task=r.benchmark,
                        mode=f"seed {r.seed}",
                        system=system,
                        valid=r.success,
                        metric_name="time to train",
                        metric_value=r.time_to_train_min,
                        metric_unit="min",
                        log_dir=str(Path(r.log_path).resolve()) if r.log_path else "",
                        generator="mlpace training harness",
                        settings_json=dict(r.hyperparameters),
                        system_json=dict(system_description or {}),
                        metrics_json={
                            "status": r.status,
                            "epochs": r.epochs,
                            "samples_to_converge": r.samples_to_converge,
                            "final_metric": r.final_metric,
                            "init_time_min": r.init_time_min,
                            "world_size": r.world_size,
                            "seed": r.seed,
                        },
                    )
                )
    except MlpaceError as exc:
        return ids, [f"history not recorded: {exc}"]
    return ids, []


__all__ = [
    "REPORT_FILE",
    "Finished",
    "RunRecorder",
    "describe",
    "history_choice",
    "recorder_from_args",
    "inference_fields",
    "record_training_runs",
]
