"""The compliance tests as data: which tests a round has, their audit.config files and pass rules.

Everything that changes from round to round lives in ``data/catalog.json`` and the
``data/<version>/*.audit.conf`` files next to this module; this module only reads them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from mlpace.errors import MlpaceError

__all__ = [
    "ALL_TESTS",
    "PerformanceRule",
    "TestSpec",
    "current_version",
    "audit_config_text",
    "get_test",
    "strict_rules",
    "applicable_tests",
    "versions",
]

ALL_TESTS = ("TEST01", "TEST04", "TEST05", "TEST06")


@dataclass(frozen=True)
class PerformanceRule:
    """How an official verify script compares the audit run's score with the reference's."""

    source: str  # "detail" (TEST01) or "summary" (TEST04, TEST05)
    rule: str  # "within", "not_faster" or "legacy_not_slower"
    threshold: float
    relaxed_threshold: float
    relaxed_if_reference_score_at_most: dict[str, float]

    def threshold_for(self, scenario: str, reference_score: float) -> float:
        """The official threshold: relaxed for very fast SingleStream/MultiStream systems."""
        limit = self.relaxed_if_reference_score_at_most.get(scenario)
        if limit is not None and reference_score <= limit:
            return self.relaxed_threshold
        return self.threshold


@dataclass(frozen=True)
class TestSpec:
    """One compliance test of one round."""

    __test__ = False  # not a pytest test class

    name: str
    version: str
    title: str
    purpose: str
    required_for: tuple[str, ...]
    runs: tuple[str, ...]
    legacy: bool = False
    last_required_in: str = ""
    accuracy: dict[str, Any] = field(default_factory=dict)
    performance: PerformanceRule | None = None
    audit_config_default: str = ""
    audit_config_by_model: dict[str, str] = field(default_factory=dict)

    def config_file(self, model: str | None) -> str:
        """The data file of this test's audit.config for ``model`` (the default one if unknown)."""
        if model is not None and model in self.audit_config_by_model:
            return self.audit_config_by_model[model]
        return self.audit_config_default


@functools.lru_cache(maxsize=1)
def _catalog() -> dict[str, Any]:
    text = resources.files("mlpace.audit").joinpath("data/catalog.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def current_version() -> str:
    return str(_catalog()["current_version"])


def versions() -> tuple[str, ...]:
    return tuple(_catalog()["versions"])


def _version(version: str | None) -> dict[str, Any]:
    name = version or current_version()
    known = _catalog()["versions"]
    if name not in known:
        raise MlpaceError(
            f"unknown compliance version {name!r}; mlpace knows {', '.join(sorted(known))}"
        )
    data: dict[str, Any] = known[name]
    return data


def get_test(name: str, version: str | None = None) -> TestSpec:
    """The rules of ``name`` (``TEST01`` ...) in ``version`` (default: the current round)."""
    data = _version(version)
    tests = data["tests"]
    key = name.upper()
    if key not in tests:
        raise MlpaceError(f"unknown compliance test {name!r}; choose {', '.join(sorted(tests))}")
    raw = tests[key]
    perf = raw.get("performance")
    rule = None
    if perf is not None:
        rule = PerformanceRule(
            source=str(perf["source"]),
            rule=str(perf["rule"]),
            threshold=float(perf["threshold"]),
            relaxed_threshold=float(perf["relaxed_threshold"]),
            relaxed_if_reference_score_at_most={
                str(k): float(v) for k, v in perf["relaxed_if_reference_score_at_most"].items()
            },
        )
    config = raw["audit_config"]
    return TestSpec(
        name=key,
        version=version or current_version(),
        title=str(raw["title"]),
        purpose=str(raw["purpose"]),
        required_for=tuple(raw.get("required_for", ())),
        runs=tuple(raw["runs"]),
        legacy=bool(raw.get("legacy", False)),
        last_required_in=str(raw.get("last_required_in", "")),
        accuracy=dict(raw.get("accuracy", {})),
        performance=rule,
        audit_config_default=str(config["default"]),
        audit_config_by_model=dict(config.get("by_model", {})),
    )


def audit_config_text(test: str, model: str | None = None, version: str | None = None) -> str:
    """The official audit.config of ``test`` for ``model``, as the text to place in a run."""
    spec = get_test(test, version)
    path = spec.config_file(model)
    return resources.files("mlpace.audit").joinpath(f"data/{path}").read_text("utf-8")


def strict_rules(version: str | None = None) -> dict[str, Any]:
    """mlpace's own additions: the every-sample-once run, the confidence level, defaults."""
    data: dict[str, Any] = _version(version)["strict"]
    return data


def applicable_tests(
    model: str | None, *, token_output: bool, version: str | None = None
) -> tuple[str, ...]:
    """The tests ``mlpace audit all`` runs: the round's list for a benchmark it names; for other
    models (mlpace's own tasks, unnamed harnesses) the tests that fit the kind of output."""
    data = _version(version)
    listed = tuple(
        name
        for name in ALL_TESTS
        if name in data["tests"]
        and model is not None
        and model in data["tests"][name].get("required_for", ())
    )
    strict = data["strict"]
    if listed:
        # The legacy seed test is cheap and catches seed-tuned systems: add it to non-LLM lists.
        extra = () if token_output else ("TEST05",)
        return tuple(dict.fromkeys((*listed, *extra)))
    key = "token_models_get" if token_output else "unlisted_models_get"
    return tuple(strict[key])
