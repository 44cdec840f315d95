"""Load the submission rules of one version from ``rules/submission_<version>.json``.

Only data is read here (no other mlpace module), so the system description and the
pre-run rule checks can use the same facts as the checker.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from mlpace.errors import MlpaceError

__all__ = ["DEFAULT_VERSION", "SubmissionRules", "available_versions", "load_rules"]

DEFAULT_VERSION = "v6.1"


@dataclass(frozen=True)
class SubmissionRules:
    """One version's rules: the raw mapping plus typed accessors for the common facts."""

    version: str
    data: dict[str, Any]

    def names(self, key: str) -> list[str]:
        return [str(x) for x in self.data.get(key, [])]

    @property
    def min_duration_ms(self) -> int:
        return int(self.data["min_duration_ms"])

    @property
    def seeds(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.data["seeds"].items()}

    @property
    def scenarios(self) -> list[str]:
        return self.names("scenarios")

    def benchmark_name(self, name: str, model_mapping: dict[str, str] | None = None) -> str:
        """The checker benchmark an mlpace task or model name stands for."""
        if model_mapping and name in model_mapping:
            name = model_mapping[name]
        return str(self.data.get("model_aliases", {}).get(name, name))

    def benchmark(self, name: str) -> dict[str, Any] | None:
        found = self.data["benchmarks"].get(name)
        return dict(found) if isinstance(found, dict) else None

    @property
    def benchmarks(self) -> list[str]:
        return sorted(self.data["benchmarks"])

    def result_field(self, scenario: str) -> tuple[str, float, str]:
        """(detail-log key, factor to the reported unit, unit) of a scenario's metric."""
        key, factor, unit = self.data["result_fields"][scenario]
        return str(key), float(factor), str(unit)


def available_versions() -> list[str]:
    out = []
    for entry in resources.files("mlpace.submission.rules").iterdir():
        name = entry.name
        if name.startswith("submission_") and name.endswith(".json"):
            out.append(name[len("submission_") : -len(".json")])
    return sorted(out)


@functools.lru_cache(maxsize=8)
def load_rules(version: str = DEFAULT_VERSION) -> SubmissionRules:
    """The rules of ``version`` (e.g. ``v6.1``); an unknown version names the known ones."""
    if not version.startswith("v"):
        version = f"v{version}"
    resource = resources.files("mlpace.submission.rules") / f"submission_{version}.json"
    if not resource.is_file():
        raise MlpaceError(
            f"no submission rules for version {version!r}; known: {', '.join(available_versions())}"
        )
    data = json.loads(resource.read_text(encoding="utf-8"))
    return SubmissionRules(version=version, data=data)
