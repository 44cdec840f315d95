"""Which user.conf lines a run actually uses, and which it silently would not.

The official LoadGen ignores a line for another model or scenario without a word, so a typo in
the model name (``Resnet50.Server.target_qps``) or a line for a scenario the run does not have
quietly changes nothing. :func:`unused_lines` lists each such line with its file and line
number, the model or scenario it names and the ones the run uses, and the lines a more specific
line overrides. Lines the LoadGen never reads at all (``target_duration``, a key under the wrong
scenario) are already reported by :func:`mlpace.loadgen.config.apply_config`.

:func:`keys_set` says which keys a user.conf sets for one model and scenario, so a runner keeps
its own defaults for everything else.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from mlpace.loadgen.config import ConfigEntry, ConfigFile

__all__ = ["UnusedLine", "keys_set", "unused_lines"]


@dataclass(frozen=True)
class UnusedLine:
    path: str
    line: int
    full_key: str
    value: str
    reason: str

    def format(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.full_key} = {self.value} has no effect: {self.reason}"
        )


def _model_hint(named: str, model: str) -> str:
    if named.lower() == model.lower():
        return f" (model names are case-sensitive: did you mean {model!r}?)"
    if difflib.get_close_matches(named, [model], n=1, cutoff=0.75):
        return f" (did you mean {model!r}?)"
    return ""


def _scenario_hint(named: str, scenarios: Sequence[str]) -> str:
    lowered = {s.lower(): s for s in scenarios}
    if named.lower() in lowered:
        return f" (scenario names are case-sensitive: did you mean {lowered[named.lower()]!r}?)"
    return ""


def _applies(entry: ConfigEntry, model: str, scenario: str) -> bool:
    return entry.model in ("*", model) and entry.scenario in ("*", scenario)


def unused_lines(
    config: ConfigFile, model: str, scenarios: Sequence[str], *, model_label: str = ""
) -> list[UnusedLine]:
    """The lines of ``config`` that set nothing for ``model`` in any of ``scenarios``.

    ``model_label`` says where the run's model name comes from (e.g. "--sut null").
    """
    label = f"{model!r}" + (f" ({model_label})" if model_label else "")
    out: list[UnusedLine] = []
    for entry in config.entries:
        if not entry.values:
            continue  # never read by the LoadGen; apply_config warns about these
        reason = ""
        if entry.model not in ("*", model):
            reason = f"it names model {entry.model!r}; this run uses model {label}" + _model_hint(
                entry.model, model
            )
        elif entry.scenario != "*" and entry.scenario not in scenarios:
            reason = (
                f"it names scenario {entry.scenario!r}; this run has {', '.join(scenarios)}"
                + _scenario_hint(entry.scenario, scenarios)
            )
        else:
            winners = [
                config.lookup(model, s, entry.key) for s in scenarios if _applies(entry, model, s)
            ]
            if winners and all(w is not None and w is not entry for w in winners):
                other = winners[0]
                assert other is not None
                reason = f"line {other.line} ({other.full_key}) is more specific and wins"
        if reason:
            out.append(UnusedLine(config.path, entry.line, entry.full_key, entry.text, reason))
    return out


def keys_set(config: ConfigFile | None, model: str, scenario: str) -> frozenset[str]:
    """The keys (``target_qps``, ``min_duration``, ...) ``config`` sets for this model and
    scenario through the official lookup, whatever their value."""
    if config is None:
        return frozenset()
    keys = {e.key for e in config.entries if e.values}
    return frozenset(k for k in keys if config.lookup(model, scenario, k) is not None)
