"""Reference Convergence Points (RCP): statistics, pruning and the submission test (ref. §4).

RCP files are JSON: ``{"<bm>_ref_<BS>": {"Benchmark", "BS", "Hyperparams",
"Epochs to converge" | "samples to converge": [...]}}`` (the numbers are training samples for
every current benchmark whatever the list is called).

Per RCP: mean = olympic mean (drop ``trim`` at each end), stdev = population std of *all* points,
``min_epochs`` = the smallest submission mean that a one-sided pooled two-sample Student t-test
(alpha 0.05, both sides assumed to have the RCP stdev, n_ref = len - 2*trim, or 2N when
interpolated; n_sub = N - 2) does not reject, found by bisection on [0, mean] to 1e-4.
``max_speedup = mean / min_epochs``; a stdev of 0 allows no speedup.

scipy is used for the t distribution (the ``train`` extra).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlpace.errors import MissingDependencyError, TrainingError
from mlpace.training import constants as C

ALPHA = 0.05
TOLERANCE = 1e-4
NOT_CONVERGED = 1e9  # what a run that did not end with status success counts as

CASE_FOUND = "RCP found"
CASE_INTERPOLATED = "RCP Interpolation"
CASE_LOWER_BS = "RCP not found but slower convergence on smaller batch size"
CASE_NO_RCPS = "Cannot find any RCPs"


def _missing(bs: Any) -> str:
    return f"Missing RCP, please submit RCP with BS = {bs}"


@dataclass(frozen=True)
class RCPRecord:
    name: str
    benchmark: str
    bs: float
    points: tuple[float, ...]
    mean: float
    stdev: float
    min_epochs: float
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    interpolated: bool = False

    @property
    def max_speedup(self) -> float:
        return self.mean / self.min_epochs if self.min_epochs else math.inf


def one_sided_p_value(
    sub_mean: float,
    sub_std: float,
    n_sub: int,
    ref_mean: float,
    ref_std: float,
    n_ref: int,
) -> float:
    """P(T <= t) for the pooled (equal-variance) two-sample t statistic of sub - ref.

    This equals the official conversion of the two-sided p-value (p/2 when t < 0, else
    1 - p/2)."""
    try:
        from scipy import stats
    except ImportError as exc:  # pragma: no cover - scipy ships with the train extra
        raise MissingDependencyError("scipy", "train") from exc
    df = n_sub + n_ref - 2
    if df <= 0:
        raise TrainingError(f"t-test needs n_sub + n_ref > 2 (got {n_sub} + {n_ref})")
    pooled = ((n_sub - 1) * sub_std**2 + (n_ref - 1) * ref_std**2) / df
    se = math.sqrt(pooled * (1.0 / n_sub + 1.0 / n_ref))
    if se == 0.0:
        diff = sub_mean - ref_mean
        return 0.5 if diff == 0 else (1.0 if diff > 0 else 0.0)
    t = (sub_mean - ref_mean) / se
    return float(stats.t.cdf(t, df))


def min_acceptable_mean(
    mean: float,
    stdev: float,
    n_ref: int,
    n_sub: int,
    *,
    alpha: float = ALPHA,
    tolerance: float = TOLERANCE,
) -> float:
    """The smallest submission mean the one-sided test still accepts (bisection on [0, mean])."""
    if stdev == 0:
        return mean
    lo, hi = 0.0, mean
    mid = (lo + hi) / 2
    while hi - lo > tolerance:
        if one_sided_p_value(mid, stdev, n_ref, mean, stdev, n_sub) > alpha:
            hi = mid
        else:
            lo = mid
        mid = (lo + hi) / 2
    return mid


def olympic(points: Sequence[float], trim: int = 1) -> float:
    ordered = sorted(points)
    kept = ordered[trim : len(ordered) - trim]
    if not kept:
        raise TrainingError(f"{len(points)} points leave nothing after trimming {trim} per end")
    return math.fsum(kept) / len(kept)


def population_std(points: Sequence[float]) -> float:
    m = math.fsum(points) / len(points)
    return math.sqrt(math.fsum((p - m) ** 2 for p in points) / len(points))


def _trim_for(benchmark: str) -> int:
    return 4 if benchmark == C.UNET3D else 1


def make_record(
    name: str,
    benchmark: str,
    bs: float,
    points: Sequence[float],
    *,
    submission_runs: int,
    hyperparams: Mapping[str, Any] | None = None,
) -> RCPRecord:
    trim = _trim_for(benchmark)
    mean = olympic(points, trim)
    stdev = population_std(points)
    min_e = min_acceptable_mean(mean, stdev, len(points) - 2 * trim, submission_runs - 2)
    return RCPRecord(
        name=name,
        benchmark=benchmark,
        bs=bs,
        points=tuple(sorted(float(p) for p in points)),
        mean=mean,
        stdev=stdev,
        min_epochs=min_e,
        hyperparams=dict(hyperparams or {}),
    )


def _submission_runs(benchmark: str) -> int:
    from mlpace.training.benchmarks_official import runs_required

    return runs_required(benchmark)


def load_rcps(
    source: str | Path | Mapping[str, Any], *, submission_runs: int | None = None
) -> list[RCPRecord]:
    """Parse an RCP JSON file (or its dict) into records sorted by batch size."""
    if isinstance(source, Mapping):
        raw: Any = source
        where = "<rcps>"
    else:
        where = str(source)
        try:
            raw = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TrainingError(f"cannot read RCP file {source}: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise TrainingError(f"{where}: an RCP file is a JSON object of records")
    out = []
    for name, rec in raw.items():
        try:
            bench = str(rec["Benchmark"])
            bs = rec["BS"]
            points = rec.get("samples to converge", rec.get("Epochs to converge"))
            if points is None:
                raise KeyError("'Epochs to converge' or 'samples to converge'")
        except (KeyError, TypeError) as exc:
            raise TrainingError(f"{where}: RCP record {name!r} lacks {exc}") from exc
        runs = submission_runs if submission_runs is not None else _submission_runs(bench)
        out.append(
            make_record(
                name,
                bench,
                bs,
                [float(p) for p in points],
                submission_runs=runs,
                hyperparams=rec.get("Hyperparams", {}),
            )
        )
    return sorted(out, key=lambda r: r.bs)


def interpolate(bs: float, low: RCPRecord, high: RCPRecord, *, submission_runs: int) -> RCPRecord:
    """Linear interpolation of mean and stdev in BS; the reference n is 2N."""
    frac = 0.0 if high.bs == low.bs else (bs - low.bs) / (high.bs - low.bs)
    frac = min(max(frac, 0.0), 1.0)  # like numpy.interp, clamp outside the interval
    mean = low.mean + frac * (high.mean - low.mean)
    stdev = low.stdev + frac * (high.stdev - low.stdev)
    return RCPRecord(
        name=f"{low.benchmark}_interp_{bs}",
        benchmark=low.benchmark,
        bs=bs,
        points=(),
        mean=mean,
        stdev=stdev,
        min_epochs=min_acceptable_mean(mean, stdev, submission_runs * 2, submission_runs - 2),
        interpolated=True,
    )


def prune(records: Sequence[RCPRecord]) -> list[RCPRecord]:
    """The fastest-convergence curve: drop BS below the fastest RCP, then interior points
    slower than the interpolation of their neighbours (re-checking the same position)."""
    if not records:
        return []
    ordered = sorted(records, key=lambda r: r.bs)
    fastest = min(ordered, key=lambda r: r.mean)
    kept = [r for r in ordered if r.bs >= fastest.bs]
    i = 1
    while i < len(kept) - 1:
        low, high = kept[i - 1], kept[i + 1]
        frac = (kept[i].bs - low.bs) / (high.bs - low.bs)
        if kept[i].mean > low.mean + frac * (high.mean - low.mean):
            del kept[i]
        else:
            i += 1
    return kept


@dataclass(frozen=True)
class RCPResult:
    """The verdict of the RCP test for one benchmark folder."""

    passed: bool
    case: str  # CASE_* or the "Missing RCP ..." text
    message: str
    benchmark: str
    bs: Any
    submission_mean: float | None
    rcp: RCPRecord | None
    norm_factor: float  # RCP mean / submission mean, at least 1
    bypassed: bool = False

    @property
    def scaling_factor(self) -> float | None:
        """The score multiplier to write to scaling.json (only for a pass faster than RCP)."""
        faster = (
            self.rcp is not None
            and self.submission_mean is not None
            and self.submission_mean < self.rcp.mean
        )
        return self.norm_factor if self.passed and faster else None


def check_convergence(
    convergence: Sequence[float | None],
    bs: Any,
    rcps: Sequence[RCPRecord],
    *,
    benchmark: str,
    submission_runs: int | None = None,
    max_dropped: int | None = None,
    pruned: bool = True,
    bypass: bool = False,
) -> RCPResult:
    """The RCP test on the samples-to-converge of N runs (``None`` = did not converge)."""
    runs = submission_runs if submission_runs is not None else _submission_runs(benchmark)
    drop = max_dropped if max_dropped is not None else _trim_for(benchmark)
    failed = sum(1 for c in convergence if c is None)
    if failed > drop:
        return RCPResult(
            False,
            "Insufficient convergence",
            f"{failed} runs did not converge; at most {drop} may fail",
            benchmark,
            bs,
            None,
            None,
            1.0,
        )
    points = [NOT_CONVERGED if c is None else float(c) for c in convergence]
    sub_mean = olympic(points, _trim_for(benchmark))
    pool = [r for r in rcps if r.benchmark == benchmark]
    pool = prune(pool) if pruned else sorted(pool, key=lambda r: r.bs)
    record: RCPRecord | None = next((r for r in pool if r.bs == bs), None)
    case = CASE_FOUND
    if record is None:
        lower = [r for r in pool if r.bs < bs]
        upper = [r for r in pool if r.bs > bs]
        if lower and upper:
            case = CASE_INTERPOLATED
            record = interpolate(bs, lower[-1], upper[0], submission_runs=runs)
        elif lower:
            return _verdict(False, _missing(bs), benchmark, bs, sub_mean, None, bypass)
        elif upper:
            record = upper[0]
            case = CASE_LOWER_BS
        else:
            return _verdict(False, CASE_NO_RCPS, benchmark, bs, sub_mean, None, False)
    passed = sub_mean >= record.mean / record.max_speedup
    if case == CASE_LOWER_BS and not passed:
        case = _missing(bs)
    return _verdict(passed, case, benchmark, bs, sub_mean, record, bypass)


def _verdict(
    passed: bool,
    case: str,
    benchmark: str,
    bs: Any,
    sub_mean: float | None,
    record: RCPRecord | None,
    bypass: bool,
) -> RCPResult:
    norm = 1.0
    if record is not None and sub_mean:
        norm = max(1.0, record.mean / sub_mean)
    if record is None:
        detail = ""
    else:
        detail = (
            f": submission mean {sub_mean:.4f} vs RCP (BS {record.bs}) mean {record.mean:.4f}, "
            f"min {record.min_epochs:.4f}, max speedup {record.max_speedup:.4f}"
        )
    bypassed = False
    bypassable = case in (CASE_FOUND, CASE_INTERPOLATED) or case.startswith("Missing RCP")
    if not passed and bypass and bypassable:
        passed, bypassed = True, True
        detail += " (passed using rcp_bypass: the review committee must approve)"
    faster = record is not None and sub_mean is not None and sub_mean < record.mean
    if passed and faster and not bypassed:
        detail += f"; faster than the RCP mean, score normalized by {norm:.4f}"
    verdict = "RCP test PASSED" if passed else "RCP test FAILED"
    return RCPResult(
        passed=passed,
        case=case,
        message=f"{case}, {verdict}{detail}",
        benchmark=benchmark,
        bs=bs,
        submission_mean=sub_mean,
        rcp=record,
        norm_factor=norm,
        bypassed=bypassed,
    )


def check_rcp_logs(
    paths: Sequence[str | Path],
    rcps: Sequence[RCPRecord] | str | Path | Mapping[str, Any],
    *,
    pruned: bool = True,
    bypass: bool = False,
    set_scaling: bool = False,
) -> RCPResult:
    """The RCP test on result logs: GBS (last line whose text mentions global_batch_size),
    benchmark and samples to converge from each file; optionally writes scaling.json."""
    from mlpace.training.mllog import read_mllog
    from mlpace.training.scoring import samples_to_converge

    if not paths:
        raise TrainingError("no result logs for the RCP check")
    bss: set[Any] = set()
    benches: set[str] = set()
    conv: list[float | None] = []
    for p in paths:
        parsed = read_mllog(p)
        gbs = None
        for rec in parsed.records:
            if C.GLOBAL_BATCH_SIZE in rec.text:
                gbs = rec.value
        if gbs is None:
            raise TrainingError(f"{p}: could not detect global_batch_size")
        bss.add(gbs)
        bench = parsed.first(C.SUBMISSION_BENCHMARK)
        benches.add("" if bench is None else str(bench.value))
        conv.append(samples_to_converge(parsed.records))
    if len(bss) != 1 or len(benches) != 1:
        raise TrainingError(
            f"batch sizes {sorted(map(str, bss))} or benchmarks {sorted(benches)} differ "
            "between the result files"
        )
    benchmark = benches.pop()
    records = rcps if isinstance(rcps, Sequence) and not isinstance(rcps, str) else load_rcps(rcps)
    result = check_convergence(
        conv, bss.pop(), list(records), benchmark=benchmark, pruned=pruned, bypass=bypass
    )
    if set_scaling:
        folder = Path(paths[0]).parent
        target = folder / "scaling.json"
        if target.exists():
            target.unlink()
        factor = result.scaling_factor
        if factor is not None:
            write_scaling_json(folder, factor)
    return result


def write_scaling_json(folder: str | Path, factor: float) -> Path:
    path = Path(folder) / "scaling.json"
    path.write_text(json.dumps({"scaling_factor": factor}), encoding="utf-8")
    return path


def with_points(record: RCPRecord, points: Sequence[float], *, submission_runs: int) -> RCPRecord:
    """A copy of ``record`` recomputed for new points (handy in tests and what-ifs)."""
    fresh = make_record(
        record.name, record.benchmark, record.bs, points, submission_runs=submission_runs
    )
    return replace(fresh, hyperparams=record.hyperparams)
