"""Rule checks before the expensive run: every setting that would make a result fail the
submission checker, found from the settings alone, before a model loads or a query is issued.

``check_settings`` is a pure function over the effective settings of each scenario (unit
tested); ``check_run_rules`` builds those settings for an ``mlpace run`` the way the run will
(mlperf.conf, user.conf, profile, flags) and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlpace.submission.rules_data import SubmissionRules, load_rules

__all__ = [
    "RuleReport",
    "RuleViolation",
    "check_run_rules",
    "check_settings",
    "default_division",
]


@dataclass(frozen=True)
class RuleViolation:
    rule: str  # the checker rule id it would trip (see rules/submission_<v>.json "checks")
    scenario: str  # "" for the run as a whole
    observed: str
    required: str
    advice: str

    def format(self) -> str:
        where = f"{self.scenario}: " if self.scenario else ""
        return f"[{self.rule}] {where}{self.observed}; required {self.required}. {self.advice}"


@dataclass(frozen=True)
class RuleReport:
    division: str
    benchmark: str
    version: str
    violations: tuple[RuleViolation, ...]

    def format(self) -> str:
        head = f"rule check ({self.division} division, {self.benchmark}, {self.version}): "
        if not self.violations:
            return head + "every setting passes the submission checker's rules"
        lines = [head + f"{len(self.violations)} setting(s) would fail the checker"]
        lines += [f"  {v.format()}" for v in self.violations]
        return "\n".join(lines)


def check_settings(
    performance: Mapping[str, Any],
    *,
    accuracy_sample_count: int,
    benchmark: str,
    division: str,
    system_type: str = "edge",
    rules: SubmissionRules | None = None,
) -> list[RuleViolation]:
    """``performance``: scenario -> EffectiveSettings of its performance pass."""
    rules = rules or load_rules()
    spec = rules.benchmark(benchmark)
    out: list[RuleViolation] = []
    if spec is None:
        return [
            RuleViolation(
                "unknown-benchmark",
                "",
                f"task maps to {benchmark!r}",
                f"one of {', '.join(rules.benchmarks)}",
                "closed division takes MLPerf benchmarks only; use --division open",
            )
        ]
    if division in ("closed", "network"):
        required = spec["required_scenarios"].get(system_type) or []
        missing = [s for s in required if s not in performance]
        if missing:
            out.append(
                RuleViolation(
                    "scenarios-missing",
                    "",
                    f"scenarios {', '.join(performance) or 'none'}",
                    f"{', '.join(required)} for a {system_type} system",
                    f"add --scenario {' --scenario '.join(missing)} (or drop --scenario)",
                )
            )
    if accuracy_sample_count != spec["dataset_size"]:
        out.append(
            RuleViolation(
                "accuracy-sample-count",
                "",
                f"accuracy pass over {accuracy_sample_count} samples",
                f"the whole data set, {spec['dataset_size']} samples for {benchmark}",
                "use the full validation set (--dataset)",
            )
        )
    for scenario, eff in performance.items():
        out += _scenario_violations(scenario, eff, spec, benchmark, division, rules)
    return out


def _scenario_violations(
    scenario: str,
    eff: Any,
    spec: Mapping[str, Any],
    benchmark: str,
    division: str,
    rules: SubmissionRules,
) -> list[RuleViolation]:
    out = []

    def add(rule: str, observed: str, required: str, advice: str) -> None:
        out.append(RuleViolation(rule, scenario, observed, required, advice))

    if eff.min_duration_ms < rules.min_duration_ms:
        add(
            "min-duration",
            f"min_duration {eff.min_duration_ms} ms",
            f">= {rules.min_duration_ms} ms",
            "use --profile official (or drop --min-duration)",
        )
    psc = eff.official_performance_sample_count
    if psc < spec["performance_sample_count"]:
        add(
            "performance-sample-count",
            f"performance_sample_count {psc}",
            f">= {spec['performance_sample_count']} for {benchmark}",
            "use a data set at least that large (a proxy data set cannot meet it)",
        )
    for seed, expected in rules.seeds.items():
        value = getattr(eff, seed)
        if value != expected:
            add(
                "seeds",
                f"{seed} {value}",
                f"{expected} (mlperf.conf)",
                "remove the seed override from user.conf",
            )
    bound = spec["latency_ns"].get(scenario)
    if bound and eff.target_latency_ns > bound:
        add(
            "latency-bound",
            f"target_latency {eff.target_latency_ns / 1e6:g} ms",
            f"<= {bound / 1e6:g} ms for {benchmark}",
            "lower --target-latency-ms / target_latency",
        )
    if scenario not in rules.names("early_stopping_scenarios"):
        needed = spec["min_queries"].get(scenario)
        if needed and eff.min_query_count < needed:
            add(
                "min-queries",
                f"min_query_count {eff.min_query_count}",
                f">= {needed}",
                "drop the min_query_count override",
            )
    return out


def check_run_rules(
    opts: Any, *, division: str, system_type: str = "edge", version: str = "v6.1"
) -> RuleReport:
    """The rule check of an ``mlpace run`` (``opts``: RunOptions), from its settings alone."""
    from mlpace.loadgen.effective import effective_settings
    from mlpace.loadgen.enums import TestMode
    from mlpace.workloads.registry import get_task
    from mlpace.workloads.run_types import PROFILES, Calibration
    from mlpace.workloads.runner import scenario_settings

    rules = load_rules(version)
    task = get_task(opts.task)
    benchmark = rules.benchmark_name(task.results_name)
    if division == "open" and rules.benchmark(benchmark) is None:
        benchmark = str(rules.data.get("open_model_mapping", {}).get(task.name, benchmark))
    size = _dataset_size(task, opts)
    profile = PROFILES[opts.profile]
    # The calibrated hints change how long a run takes, never a rule's verdict: any will do.
    cal = Calibration(1e-3, 1e-3, 1e-2, 32, 8, 1)
    scenarios: Sequence[str] = opts.scenarios or task.scenarios
    performance = {}
    accuracy_count = size
    for scenario in scenarios:
        settings, _ = scenario_settings(task, scenario, profile, cal, qsl_size=size, opts=opts)
        performance[scenario] = effective_settings(
            settings, total_sample_count=size, performance_sample_count=size
        )
        acc = effective_settings(
            _with_mode(settings, TestMode.AccuracyOnly),
            total_sample_count=size,
            performance_sample_count=size,
        )
        accuracy_count = acc.official_accuracy_sample_count
    violations = check_settings(
        performance,
        accuracy_sample_count=accuracy_count,
        benchmark=benchmark,
        division=division,
        system_type=system_type,
        rules=rules,
    )
    return RuleReport(division, benchmark, rules.version, tuple(violations))


def default_division(task_name: str, version: str = "v6.1") -> str:
    """closed for an MLPerf benchmark, open for mlpace's own tasks (digits)."""
    from mlpace.workloads.registry import get_task

    rules = load_rules(version)
    name = rules.benchmark_name(get_task(task_name).results_name)
    return "closed" if rules.benchmark(name) is not None else "open"


def _with_mode(settings: Any, mode: Any) -> Any:
    import dataclasses

    return dataclasses.replace(settings, mode=mode)


def _dataset_size(task: Any, opts: Any) -> int:
    """The QSL size the run will have: the data set the task loads (no model inference)."""
    runnable = task.runnable
    if runnable is None:
        from mlpace.errors import TaskError

        raise TaskError(f"task {task.name!r} is reference data only; nothing to check")
    from mlpace.workloads.models.resnet50 import default_cache_dir

    model = runnable.make_model(opts.cache_dir or default_cache_dir(), opts.model_path)
    split = model.metadata.get("split")
    if opts.dataset is None and isinstance(split, Mapping):
        # A model that names its validation split (digits): count it instead of loading the
        # data (its loader imports scikit-learn, seconds on a busy machine).
        indices = split.get("validation_indices")
        if isinstance(indices, Sequence) and indices:
            return len(indices)
    return int(runnable.make_dataset(opts.dataset, model.metadata).size)
