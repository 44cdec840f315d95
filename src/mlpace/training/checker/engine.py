"""The rule engine: one log against one ruleset.

Semantics follow the official compliance checker (reference §2.2-2.3): rule files chain
common → {division}_common → {division}_{benchmark}; each is run over the whole log in log
order with a fresh state; checks of ``submission_*`` keys run on the first occurrence only;
``EXACTLY_ONE`` with identical duplicates is a warning; a later file that declares a key drops
the earlier files' findings for that key. Differences, on purpose: missing fields are reported
instead of crashing, an aborted run and a ``run_stop`` earlier than ``run_start`` are errors
(rules with ``origin: mlpace`` in the rule data).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.checker.expr import ExprError, State, evaluate
from mlpace.training.checker.findings import ERROR, WARNING, Finding
from mlpace.training.checker.rules import Check, KeyRule, RuleFile, RuleSet, load_ruleset
from mlpace.training.mllog import MLLogRecord, ParsedLog, read_mllog


@dataclass(frozen=True)
class LogCheckResult:
    """Everything the checker found in one log."""

    path: str
    ruleset: str
    findings: tuple[Finding, ...]
    division: str | None
    benchmark: str | None
    rule_files: tuple[str, ...]  # the rule files that were applied, in order
    record_count: int

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def passed(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ruleset": self.ruleset,
            "passed": self.passed,
            "division": self.division,
            "benchmark": self.benchmark,
            "rule_files": list(self.rule_files),
            "record_count": self.record_count,
            "findings": [f.to_dict() for f in self.findings],
        }


def _short(value: Any, limit: int = 160) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _subject(key: str, message: str) -> str:
    return message if message.startswith(key) else f"{key} {message}"


class _FileRun:
    """Runs one rule file over the log; collects findings and queued rule files."""

    def __init__(
        self, rule_file: RuleFile, parsed: ParsedLog, extra_env: Mapping[str, Any]
    ) -> None:
        self.rf = rule_file
        self.parsed = parsed
        self.extra_env = extra_env
        self.state = State(rule_file.state)
        self.findings: list[Finding] = []
        self.enqueued: list[tuple[str, MLLogRecord]] = []

    def finding(
        self, rule_id: str, severity: str, message: str, rec: MLLogRecord | None, key: str
    ) -> None:
        self.findings.append(
            Finding(
                rule_id=rule_id,
                severity=ERROR if severity == ERROR else WARNING,
                message=message,
                path=self.parsed.path,
                line=None if rec is None else rec.line,
                index=None if rec is None else rec.index,
                key=key,
            )
        )

    def env(self, rec: MLLogRecord) -> dict[str, Any]:
        return {
            "value": rec.value,
            "meta": rec.metadata,
            "ts": rec.time_ms,
            "key": rec.key,
            **self.extra_env,
        }

    def observed(self, check: Check, env: Mapping[str, Any]) -> str:
        try:
            got = evaluate(check.observed, env, self.state)
        except ExprError:
            got = env.get("value")
        return got if isinstance(got, str) and check.observed != "value" else _short(got)

    def run_check(self, check: Check, rec: MLLogRecord, env: Mapping[str, Any]) -> bool:
        try:
            ok = bool(evaluate(check.expr, env, self.state))
        except ExprError as exc:
            self.finding(
                check.id,
                check.severity,
                f"{rec.key} cannot be checked: {exc}; required: {check.message} [{check.expr}]",
                rec,
                rec.key,
            )
            return False
        if not ok:
            self.finding(
                check.id,
                check.severity,
                f"{_subject(rec.key, check.message)}: observed {self.observed(check, env)}; "
                f"required {check.expr}",
                rec,
                rec.key,
            )
        return ok

    def run(self) -> None:
        rules: dict[str, KeyRule] = {r.key: r for r in self.rf.keys}
        seen: Counter[str] = Counter()
        occurrences: dict[str, list[MLLogRecord]] = {}
        alo_passed: set[str] = set()
        for rec in self.parsed.records:
            rule = rules.get(rec.key)
            if rule is None:
                continue
            nth = seen[rec.key]
            seen[rec.key] += 1
            occurrences.setdefault(rec.key, []).append(rec)
            if rule.first_only and nth > 0:
                continue
            env = self.env(rec)
            checks = rule.check + (rule.first_check if nth == 0 else ())
            all_ok = True
            for check in checks:
                all_ok = self.run_check(check, rec, env) and all_ok
            alo = rule.atleast_one_check
            if alo is not None and rec.key not in alo_passed:
                try:
                    if evaluate(alo.expr, env, self.state):
                        alo_passed.add(rec.key)
                except ExprError:
                    pass  # an occurrence that cannot be evaluated simply does not satisfy it
            for name, expr in rule.post:
                try:
                    self.state.set(name, evaluate(expr, env, self.state))
                except ExprError as exc:
                    self.finding(
                        f"{self.rf.name}.{rule.key}.post",
                        ERROR,
                        f"{rec.key}: cannot record state {name!r}: {exc}",
                        rec,
                        rec.key,
                    )
            if rule.enqueue and all_ok:
                self.enqueued.append((rule.enqueue.format(value=rec.value), rec))
        self.requirements(rules, occurrences, alo_passed)
        for check in self.rf.end:
            try:
                ok = bool(evaluate(check.expr, dict(self.extra_env), self.state))
                detail = ""
            except ExprError as exc:
                ok, detail = False, f" ({exc})"
            if not ok:
                self.finding(check.id, check.severity, f"{check.message}{detail}", None, "")

    def requirements(
        self,
        rules: Mapping[str, KeyRule],
        occurrences: Mapping[str, list[MLLogRecord]],
        alo_passed: set[str],
    ) -> None:
        all_counts = Counter(r.key for r in self.parsed.records)
        for key, rule in rules.items():
            recs = occurrences.get(key, [])
            rid = f"{self.rf.name}.{key}.req"
            if rule.req == "EXACTLY_ONE":
                if not recs:
                    self.finding(
                        rid, ERROR, f"required exactly one '{key}' line, found 0", None, key
                    )
                elif len(recs) > 1:
                    values = [_short(r.value) for r in recs]
                    lines = ", ".join(str(r.line) for r in recs)
                    if len(set(values)) == 1:
                        self.finding(
                            rid,
                            WARNING,
                            f"required exactly one '{key}' line, found {len(recs)} "
                            f"(lines {lines}) with the same value {values[0]}",
                            recs[1],
                            key,
                        )
                    else:
                        self.finding(
                            rid,
                            ERROR,
                            f"required exactly one '{key}' line, found {len(recs)} "
                            f"(lines {lines}) with different values {', '.join(values)}",
                            recs[1],
                            key,
                        )
            elif rule.req == "AT_LEAST_ONE" and not recs:
                self.finding(rid, ERROR, f"required at least one '{key}' line, found 0", None, key)
            elif rule.req == "AT_LEAST" and len(recs) < rule.n:
                self.finding(
                    rid,
                    ERROR,
                    f"required at least {rule.n} '{key}' lines, found {len(recs)}",
                    None,
                    key,
                )
            elif rule.req == "AT_LEAST_ONE_OR":
                total = len(recs) + sum(all_counts[a] for a in rule.alternatives)
                if total == 0:
                    names = " or ".join(f"'{k}'" for k in (key, *rule.alternatives))
                    self.finding(
                        rid, ERROR, f"required at least one {names} line, found 0", None, key
                    )
            alo = rule.atleast_one_check
            if alo is not None and recs and key not in alo_passed:
                shown = ", ".join(_short(r.value, 24) for r in recs[-5:])
                more = f" (last 5 of {len(recs)})" if len(recs) > 5 else ""
                self.finding(
                    alo.id,
                    alo.severity,
                    f"no '{key}' line satisfies it: {alo.message}; observed {shown}{more}; "
                    f"required {alo.expr}",
                    recs[-1],
                    key,
                )


def check_parsed(
    parsed: ParsedLog,
    *,
    ruleset: str | RuleSet = C.DEFAULT_RULESET,
    benchmark: str | None = None,
) -> LogCheckResult:
    """Check an already-parsed log (see :func:`check_log`)."""
    rs = load_ruleset(ruleset) if isinstance(ruleset, str) else ruleset
    extra_env = {"benchmarks": rs.allowed_benchmarks}
    findings: list[Finding] = [
        Finding(
            rule_id="parse",
            severity=ERROR,
            message=f"line cannot be parsed: {e.message}",
            path=parsed.path,
            line=e.line,
            index=e.index,
        )
        for e in parsed.errors
    ]
    if not parsed.records:
        findings.append(Finding("parse.empty", ERROR, "no MLLOG lines detected", path=parsed.path))
    per_file: list[tuple[str, list[Finding], set[str]]] = []
    queue: list[tuple[str, MLLogRecord | None]] = [("common", None)]
    applied: list[str] = []
    while queue:
        name, origin = queue.pop(0)
        if name in applied:
            continue
        rule_file = rs.file(name)
        if rule_file is None:
            findings.append(
                Finding(
                    "ruleset.missing_rules",
                    ERROR,
                    f"ruleset {rs.version} has no rule file {name!r}",
                    path=parsed.path,
                    line=None if origin is None else origin.line,
                    index=None if origin is None else origin.index,
                )
            )
            continue
        applied.append(name)
        run = _FileRun(rule_file, parsed, extra_env)
        run.run()
        declared = rule_file.declared_keys()
        # A later rule file that re-declares a key replaces the earlier verdicts on it.
        for _, earlier, _ in per_file:
            earlier[:] = [f for f in earlier if f.key not in declared]
        per_file.append((name, run.findings, declared))
        queue.extend(run.enqueued)
    for _, fs, _ in per_file:
        findings.extend(fs)

    division_rec = parsed.first(C.SUBMISSION_DIVISION)
    bench_rec = parsed.first(C.SUBMISSION_BENCHMARK)
    division = str(division_rec.value) if division_rec is not None else None
    logged_bench = str(bench_rec.value) if bench_rec is not None else None
    if benchmark is not None and logged_bench is not None and logged_bench != benchmark:
        findings.append(
            Finding(
                "check.benchmark_mismatch",
                ERROR,
                f"the log is for {logged_bench!r} but {benchmark!r} was expected",
                path=parsed.path,
                line=bench_rec.line if bench_rec else None,
                index=bench_rec.index if bench_rec else None,
                key=C.SUBMISSION_BENCHMARK,
            )
        )
    findings.sort(key=lambda f: (f.line is None, f.line or 0, f.rule_id))
    return LogCheckResult(
        path=parsed.path,
        ruleset=rs.version,
        findings=tuple(findings),
        division=division,
        benchmark=logged_bench or benchmark,
        rule_files=tuple(applied),
        record_count=len(parsed.records),
    )


def check_log(
    path: str | Path,
    *,
    ruleset: str | RuleSet = C.DEFAULT_RULESET,
    benchmark: str | None = None,
) -> LogCheckResult:
    """Check one MLLOG file against ``ruleset``; ``benchmark`` asserts which benchmark it is."""
    if not Path(path).is_file():
        raise TrainingError(f"no such log file: {path}")
    return check_parsed(read_mllog(path), ruleset=ruleset, benchmark=benchmark)
