"""A finding of mlpace's submission checker: rule id, severity, where, found, required, fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlpace.submission.rules_data import SubmissionRules

__all__ = ["Finding", "Findings", "format_findings"]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # "error" fails the submission; "warning" does not
    path: str  # relative to the checked folder
    found: str
    required: str
    fix: str
    line: int | None = None

    def format(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return (
            f"{self.severity.upper()} [{self.rule}] {where}\n"
            f"    found: {self.found}\n    required: {self.required}\n    fix: {self.fix}"
        )


@dataclass
class Findings:
    """Collects findings; severity and fix text come from the version's rules data."""

    rules: SubmissionRules
    root: Path
    items: list[Finding] = field(default_factory=list)

    def add(
        self,
        rule: str,
        path: Path | str,
        found: str,
        required: str,
        *,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        meta = self.rules.data["checks"][rule]
        rel = self.rel(path)
        self.items.append(
            Finding(
                rule, str(meta["severity"]), rel, found, required, fix or str(meta["fix"]), line
            )
        )

    def rel(self, path: Path | str) -> str:
        p = Path(path)
        try:
            return str(p.relative_to(self.root)) or "."
        except ValueError:
            return str(p)


def format_findings(findings: Sequence[Finding], root: Path | str = "") -> str:
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    lines = [f.format() for f in findings]
    verdict = "FAILED" if errors else "OK"
    lines.append(f"check-submission {root}: {errors} error(s), {warnings} warning(s): {verdict}")
    return "\n".join(lines)
