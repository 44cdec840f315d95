"""One system description for every mlpace output: inference runs, training runs and packages.

``describe_system(**overrides)`` fills each key of the submission checker's system JSON that
the machine can tell (CPU, caches, memory, storage, network, OS, software, accelerators) and
leaves the keys only a person knows (submitter, status, system type, cooling, ...) empty;
``needs_user`` lists those, ``validate_description`` checks the values that have a fixed set.
Every value is a string: the official tools join and compare them as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlpace.errors import MlpaceError
from mlpace.system import _probe

__all__ = [
    "USER_KEYS",
    "DescriptionProblem",
    "SystemDescriptionError",
    "describe_system",
    "load_description",
    "needs_user",
    "parse_assignments",
    "required_keys",
    "validate_description",
    "write_description",
]

# Keys a person must give: the machine cannot know them.
USER_KEYS = ("submitter", "division", "status", "system_name", "system_type", "cooling")


class SystemDescriptionError(MlpaceError):
    """A --set assignment or a --from file is malformed, or a value is not allowed."""


@dataclass(frozen=True)
class DescriptionProblem:
    key: str
    found: str
    required: str
    fix: str

    def format(self) -> str:
        return f"{self.key}: found {self.found!r}; required {self.required}; {self.fix}"


def required_keys(version: str = "v6.1") -> list[str]:
    from mlpace.submission.rules_data import load_rules

    return load_rules(version).names("system_required_fields")


def describe_system(
    base: Mapping[str, object] | None = None,
    /,
    *,
    version: str = "v6.1",
    backend: str | None = None,
    threads: int | None = None,
    workers: int | None = None,
    storage_path: str | Path = ".",
    **overrides: object,
) -> dict[str, str]:
    """The machine's description; ``base`` (e.g. a --from file) then ``overrides`` win.

    Keys that are not Python names (``accelerator_on-chip_memories``) go in ``base``.
    ``backend``/``threads``/``workers`` describe the run and land in ``framework`` and
    ``sw_notes``.
    """
    desc = dict.fromkeys(required_keys(version), "")
    desc.update(
        {
            "number_of_nodes": "1",
            "system_type_detail": "",
            "hw_notes": "",
            "operating_system": _probe.operating_system(),
        }
    )
    desc.update(_probe.cpu())
    desc.update(_probe.memory())
    desc.update(_probe.storage(storage_path))
    desc.update(_probe.network())
    desc.update(_probe.accelerators())
    desc.update(_probe.software(backend))
    notes = ["captured by mlpace describe-system"]
    if backend:
        notes.append(f"backend {backend}")
    if threads is not None:
        notes.append(f"{threads} intra-op thread(s) per worker")
    if workers is not None:
        notes.append(f"{workers} SUT worker(s)")
    desc["sw_notes"] = "; ".join(notes)
    for source in (base or {}), overrides:
        for key, value in source.items():
            desc[key] = "" if value is None else str(value)
    return desc


def needs_user(desc: Mapping[str, str], version: str = "v6.1") -> list[str]:
    """Keys the checker requires non-empty that are still empty."""
    from mlpace.submission.rules_data import load_rules

    meaningful = load_rules(version).names("system_meaningful_fields")
    return [k for k in meaningful if not str(desc.get(k, "")).strip()]


def validate_description(
    desc: Mapping[str, str], version: str = "v6.1"
) -> list[DescriptionProblem]:
    """Values outside their allowed set (status, system_type, division), when given."""
    from mlpace.submission.rules_data import load_rules

    rules = load_rules(version)
    problems = []
    for key, allowed in (
        ("status", rules.names("statuses")),
        ("system_type", rules.names("system_types")),
        ("division", rules.names("divisions")),
    ):
        value = str(desc.get(key, ""))
        if value and value not in allowed:
            problems.append(
                DescriptionProblem(
                    key, value, f"one of {', '.join(allowed)}", f"give --set {key}={allowed[0]}"
                )
            )
    for key in ("number_of_nodes", "host_processors_per_node", "accelerators_per_node"):
        value = str(desc.get(key, ""))
        if value and not value.isdigit():
            problems.append(DescriptionProblem(key, value, "a whole number", f"give --set {key}=N"))
    return problems


_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$", re.DOTALL)


def parse_assignments(items: list[str] | None, flag: str = "--set") -> dict[str, str]:
    """``["key=value", ...]`` as a dict; a malformed item names the flag and the item."""
    out: dict[str, str] = {}
    for item in items or []:
        m = _ASSIGN.match(item)
        if m is None:
            raise SystemDescriptionError(
                f"{flag} {item!r}: expected KEY=VALUE (e.g. {flag} cooling=air)"
            )
        out[m.group(1)] = m.group(2)
    return out


def load_description(path: str | Path, flag: str = "--from") -> dict[str, str]:
    """A system JSON file (an object of strings) as a dict, or a clear error."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SystemDescriptionError(f"{flag} {p}: cannot read it: {exc.strerror}") from None
    except ValueError as exc:
        raise SystemDescriptionError(f"{flag} {p}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SystemDescriptionError(f"{flag} {p}: expected a JSON object of key: value")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def write_description(desc: Mapping[str, str], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(dict(desc), indent=2) + "\n", encoding="utf-8")
    return p
