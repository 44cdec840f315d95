"""mlpace's training compliance checker: versioned rule data, a safe rule engine, and a
results-folder (package) mode. See ``engine`` for the semantics and deliberate differences."""

from __future__ import annotations

from mlpace.training.checker.engine import LogCheckResult, check_log, check_parsed
from mlpace.training.checker.findings import ERROR, WARNING, Finding, Severity
from mlpace.training.checker.rules import RuleSet, available_rulesets, load_ruleset

__all__ = [
    "ERROR",
    "WARNING",
    "Finding",
    "LogCheckResult",
    "RuleSet",
    "Severity",
    "available_rulesets",
    "check_log",
    "check_parsed",
    "load_ruleset",
]
