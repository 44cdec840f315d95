"""Olympic scoring of a set of runs, from their logs only (reference §3.3).

Every log is checked with our compliance checker; a run that fails it (an aborted run
included: it never reached the target) or lacks run_start/run_stop is *failed*. Up to
``max_dropped`` failures are allowed (1; 4 for unet3d); each takes the place of the slowest run.
Sort the successful times, keep ``times[max_dropped : n - (max_dropped - failed)]``, average
them and multiply by the scaling factor (``scaling.json`` next to the logs, if any).

Difference from the official summarizer, on purpose: it accepts any ``run_stop`` status
because compliance does; we count a non-``success`` status as a failed run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.mllog import MLLogRecord, read_mllog
from mlpace.training.timing import run_timing


@dataclass(frozen=True)
class RunRow:
    """One run as a results table shows it."""

    path: str
    seed: Any
    time_to_train_min: float | None
    status: str | None
    samples_to_converge: float | None
    global_batch_size: Any
    compliant: bool
    failed: bool
    reason: str  # why the run failed ("" if it did not)


@dataclass(frozen=True)
class OlympicResult:
    score: float | None
    kept: tuple[float, ...]
    failed: int
    max_dropped: int
    reason: str  # empty when there is a score


@dataclass(frozen=True)
class Score:
    """The score of a benchmark folder (or any list of logs)."""

    benchmark: str | None
    rows: tuple[RunRow, ...]
    unscaled_min: float | None
    scaling_factor: float
    score_min: float | None
    max_dropped: int
    kept_min: tuple[float, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "score_min": self.score_min,
            "unscaled_min": self.unscaled_min,
            "scaling_factor": self.scaling_factor,
            "max_dropped": self.max_dropped,
            "kept_min": list(self.kept_min),
            "reason": self.reason,
            "runs": [r.__dict__ for r in self.rows],
        }


def olympic_mean(times: Sequence[float | None], max_dropped: int = 1) -> OlympicResult:
    """Olympic mean of run times; ``None`` marks a failed run (it counts as the slowest)."""
    if max_dropped < 0:
        raise TrainingError("max_dropped must be >= 0")
    ok = sorted(t for t in times if t is not None)
    failed = len(times) - len(ok)
    if failed > max_dropped:
        return OlympicResult(
            None,
            (),
            failed,
            max_dropped,
            f"{failed} of {len(times)} runs failed; at most {max_dropped} may fail",
        )
    kept = ok[max_dropped : len(ok) - (max_dropped - failed)]
    if not kept:
        return OlympicResult(
            None,
            (),
            failed,
            max_dropped,
            f"{len(times)} runs leave nothing after dropping {max_dropped} at each end",
        )
    return OlympicResult(math.fsum(kept) / len(kept), tuple(kept), failed, max_dropped, "")


def samples_to_converge(records: Sequence[MLLogRecord]) -> float | None:
    """``samples_count`` (else ``epoch_num``) of the last eval_accuracy before a successful
    run_stop; ``None`` when the run did not end with status success."""
    last: float | None = None
    for rec in records:
        if rec.key == C.EVAL_ACCURACY:
            got = rec.metadata.get(C.SAMPLES_COUNT, rec.metadata.get(C.EPOCH_NUM))
            if isinstance(got, (int, float)) and not isinstance(got, bool):
                last = float(got)
        elif rec.key == C.RUN_STOP:
            return last if rec.metadata.get(C.STATUS) == C.SUCCESS else None
    return None


def run_row(path: str | Path, *, ruleset: str = C.DEFAULT_RULESET, check: bool = True) -> RunRow:
    """Read one log into a table row (checking compliance unless ``check`` is false)."""
    from mlpace.training.checker.engine import check_parsed

    parsed = read_mllog(path)
    timing = run_timing(parsed.records)
    seed = parsed.first(C.SEED)
    gbs = parsed.last(C.GLOBAL_BATCH_SIZE)
    reasons: list[str] = []
    compliant = True
    if check:
        result = check_parsed(parsed, ruleset=ruleset)
        compliant = result.passed
        if not compliant:
            first = result.errors[0]
            more = f" (+{len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
            reasons.append(f"not compliant: {first.message}{more}")
    if timing.time_to_train_min is None:
        reasons.append("no run_start/run_stop")
    elif not timing.success and check is False:
        reasons.append(f"run_stop status {timing.status!r}")
    return RunRow(
        path=str(path),
        seed=None if seed is None else seed.value,
        time_to_train_min=timing.time_to_train_min,
        status=timing.status,
        samples_to_converge=samples_to_converge(parsed.records),
        global_batch_size=None if gbs is None else gbs.value,
        compliant=compliant,
        failed=bool(reasons),
        reason="; ".join(reasons),
    )


def read_scaling_factor(folder: str | Path) -> float | None:
    """``scaling_factor`` from ``<folder>/scaling.json``, if the file exists."""
    path = Path(folder) / "scaling.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return float(data["scaling_factor"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainingError(f'{path}: expected {{"scaling_factor": number}} ({exc})') from exc


def score_logs(
    paths: Sequence[str | Path],
    *,
    benchmark: str | None = None,
    max_dropped: int | None = None,
    scaling_factor: float | None = None,
    ruleset: str = C.DEFAULT_RULESET,
    check: bool = True,
) -> Score:
    """Score the runs in ``paths`` (all of one benchmark)."""
    from mlpace.training.benchmarks_official import max_dropped as default_max_dropped

    if not paths:
        raise TrainingError("no result logs to score")
    rows = tuple(run_row(p, ruleset=ruleset, check=check) for p in sorted(paths, key=str))
    if benchmark is None:
        names = set()
        for p in paths:
            rec = read_mllog(p).first(C.SUBMISSION_BENCHMARK)
            if rec is not None:
                names.add(str(rec.value))
        benchmark = names.pop() if len(names) == 1 else None
    drop = max_dropped if max_dropped is not None else default_max_dropped(benchmark or "")
    if scaling_factor is None:
        folders = {Path(p).resolve().parent for p in paths}
        found = read_scaling_factor(folders.pop()) if len(folders) == 1 else None
        scaling_factor = 1.0 if found is None else found
    result = olympic_mean(
        [None if r.failed else r.time_to_train_min for r in rows], max_dropped=drop
    )
    score = None if result.score is None else result.score * scaling_factor
    return Score(
        benchmark=benchmark,
        rows=rows,
        unscaled_min=result.score,
        scaling_factor=scaling_factor,
        score_min=score,
        max_dropped=drop,
        kept_min=result.kept,
        reason=result.reason,
    )
