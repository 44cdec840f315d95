"""Inference submissions: the official tree (package), mlpace's checker, pre-run rule checks
and the results table. Rules that change by version live in ``rules/submission_<v>.json``."""

from __future__ import annotations

from mlpace.submission.rules_data import SubmissionRules, available_versions, load_rules

__all__ = ["SubmissionRules", "available_versions", "load_rules"]
