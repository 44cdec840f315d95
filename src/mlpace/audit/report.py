"""Text of a verdict: the official lines exactly as the official script prints them, then
mlpace's strict findings with what was observed, what was required, and what to do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlpace.audit.session import AuditReport
    from mlpace.audit.verify import Verdict

__all__ = ["render_summary", "render_verdict"]

_MARK = {"pass": "pass", "fail": "FAIL", "warn": "warn", "n/a": "n/a "}


def _indent(lines: Iterable[str], pad: str) -> list[str]:
    return [pad + line if line else "" for line in lines]


def render_verdict(verdict: Verdict, *, details: bool = True) -> str:
    scenario = f", {verdict.scenario}" if verdict.scenario else ""
    legacy = " (legacy)" if verdict.legacy else ""
    out = [f"== {verdict.test}{legacy}: {verdict.title}{scenario}"]
    out.append("official rule:")
    for check in verdict.official.checks:
        if details:
            out.append(f"  verify_{check.name}.txt:")
            out += _indent((line for line in check.output if line), "    ")
    out += _indent(verdict.official.lines, "  ")
    for check in verdict.official.checks:
        if check.note:
            out.append(f"  note: {check.note}")
    for note in verdict.notes:
        out.append(f"  note: {note}")
    strict_word = "PASS" if verdict.strict_passed else "FAIL"
    out.append(f"mlpace strict verdict: {strict_word}")
    for f in verdict.findings:
        out.append(f"  [{_MARK.get(f.status, f.status)}] {f.title}: {f.observed}")
        if f.status == "fail":
            if f.required:
                out.append(f"         required: {f.required}")
            if f.official_missed:
                out.append(f"         the official rule lets this through: {f.official_missed}")
            if f.advice:
                out.append(f"         what it means: {f.advice}")
        elif f.status == "warn" and f.advice:
            out.append(f"         {f.advice}")
        if details and f.status in ("fail", "warn"):
            out += _indent(f.details, "         - ")
    missed = [f for f in verdict.findings if f.failed and f.official_missed]
    if verdict.official.passed and missed:
        out.append(
            f"!! the official {verdict.test} rule passes this system; mlpace's strict checks "
            f"do not ({', '.join(f.name for f in missed)})"
        )
    official_word = "PASS" if verdict.official.passed else "FAIL"
    out.append(f"{verdict.test}: official {official_word}, strict {strict_word}")
    return "\n".join(out)


def render_summary(report: AuditReport) -> str:
    lines = ["== audit summary"]
    for audit in report.audits:
        where = f" -> {audit.results_dir}" if audit.results_dir is not None else ""
        lines.append(f"  {audit.scenario or audit.label}{where}")
        for v in audit.verdicts:
            official = "PASS" if v.official.passed else "FAIL"
            strict = "PASS" if v.strict_passed else "FAIL"
            lines.append(f"    {v.test}: official {official}, strict {strict}")
        for test, why in audit.skipped:
            lines.append(f"    {test}: skipped ({why})")
    lines.append(f"  {'all tests pass' if report.passed else 'NOT all tests pass'}")
    return "\n".join(lines)
