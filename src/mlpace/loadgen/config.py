"""The official config files: ``mlperf.conf``, ``user.conf`` and ``audit.config``.

Lines are ``model.scenario.key = value`` (see ``mlperf.conf`` next to this module). We read them the
way the official LoadGen does (whitespace tokens, ``=`` as its own token, ``strtoul`` base-0
integers, ms and percent units, the four-step wildcard lookup, the last duplicate line winning),
with one deliberate difference: anything the official tool would silently ignore or misread (an
unknown key, ``a.b.c=5``, a trailing comment, ``1e3`` for an integer, a negative count, a seed in
user.conf) is a :class:`~mlpace.errors.ConfigError` naming the file, line, key and value. Lines
that are valid but can never take effect (a model-specific line in an audit.config, ``ttft_latency``
while ``use_token_latencies`` is 0) give a warning. One extension: an audit.config may set
``test05`` and the ``test05_*_rng_seed`` keys (the legacy TEST05 procedure; the official LoadGen
ignores them there), with a warning saying so.

* :func:`parse_config` text → :class:`ConfigFile` (every line checked, values converted);
* :func:`apply_config` one file onto a :class:`TestSettings` for a model and scenario;
* :func:`load_settings` built-in mlperf.conf, then user.conf, then audit.config.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from importlib import resources

from mlpace.errors import ConfigError, SettingsError
from mlpace.loadgen._config_keys import (
    FILE_NAMES,
    KEYS,
    MLPERF_ONLY,
    SCENARIOS,
    UNREAD_KEYS,
    VERIFIER_KEYS,
    ConfType,
)
from mlpace.loadgen._config_values import (
    C_SPACE,
    bad_number_advice,
    convert_value,
    is_c_number,
    parse_c_double,
)
from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.settings import TestSettings

__all__ = [
    "ConfType",
    "ConfigEntry",
    "ConfigFile",
    "apply_config",
    "builtin_mlperf_conf_text",
    "load_settings",
    "parse_config",
    "read_config",
]


# Parsed form
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigEntry:
    """One ``model.scenario.key = value`` line, checked and converted."""

    line: int
    model: str
    scenario: str  # a scenario name or "*"
    key: str
    text: str  # the value token as written
    # field name -> converted value (official units: ns, fractions), for every field this line
    # can set given its scenario part; empty for keys LoadGen never reads
    values: tuple[tuple[str, object], ...] = ()
    notes: tuple[str, ...] = ()  # warnings worth showing when this line takes effect

    @property
    def full_key(self) -> str:
        return f"{self.model}.{self.scenario}.{self.key}"

    def value_for(self, field_name: str) -> object:
        for name, value in self.values:
            if name == field_name:
                return value
        raise KeyError(field_name)

    @property
    def number(self) -> float:
        """The value as a plain number (for keys LoadGen never reads, e.g. test09_*)."""
        return parse_c_double(self.text)


@dataclass(frozen=True)
class ConfigFile:
    """A parsed config file: its checked lines in file order."""

    path: str
    conf_type: ConfType
    entries: tuple[ConfigEntry, ...] = ()
    # full key -> its last line (the official map keeps the last duplicate)
    _by_key: dict[str, ConfigEntry] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {e.full_key: e for e in self.entries})

    def lookup(self, model: str, scenario: str, key: str) -> ConfigEntry | None:
        """The line the official four-step lookup picks for ``key``."""
        for candidate in (
            f"{model}.{scenario}.{key}",
            f"*.{scenario}.{key}",
            f"{model}.*.{key}",
            f"*.*.{key}",
        ):
            entry = self._by_key.get(candidate)
            if entry is not None:
                return entry
        return None


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_config(text: str, *, path: str = "<string>", conf_type: ConfType) -> ConfigFile:
    """Check and convert every line of a config file.

    Raises :class:`ConfigError` (with ``path`` and ``line``) for the first wrong line. Model
    names are not checked: one file may cover many models.
    """
    conf_type = ConfType(conf_type)
    entries: list[ConfigEntry] = []
    seen: dict[str, int] = {}
    for line_no, raw in enumerate(text.split("\n"), start=1):
        entry = _parse_line(raw, line_no, path, conf_type)
        if entry is None:
            continue
        earlier = seen.get(entry.full_key)
        if earlier is not None:
            note = f"{entry.full_key} is also set on line {earlier}; the later line wins"
            entry = replace(entry, notes=(*entry.notes, _where(path, line_no, note)))
        seen[entry.full_key] = line_no
        entries.append(entry)
    return ConfigFile(path=path, conf_type=conf_type, entries=tuple(entries))


def _where(path: str, line: int, message: str) -> str:
    return f"{path}:{line}: {message}"


def _parse_line(raw: str, line_no: int, path: str, conf_type: ConfType) -> ConfigEntry | None:
    tokens = [t for t in C_SPACE.split(raw) if t]

    def error(message: str, key: str | None = None, value: str | None = None) -> ConfigError:
        return ConfigError(message, path=path, line=line_no, key=key, value=value)

    if not tokens or tokens[0] == "#":
        return None
    first = tokens[0]
    if first.startswith("#"):
        if len(tokens) == 1:
            return None  # the official reads a lone "#word" as a key without "=": no effect
        raise error(
            "a comment needs '#' as its own token ('# text'); the official LoadGen reads "
            f"{first!r} as a key and rejects the whole file"
        )
    if len(tokens) == 1:
        if "=" in first:
            raise error(
                "write spaces around '=' ('model.scenario.key = value'); the official LoadGen "
                "silently ignores this line",
                key=first.split("=", 1)[0],
                value=first.split("=", 1)[1],
            )
        raise error("expected 'model.scenario.key = value', found a key alone", key=first)
    second = tokens[1]
    if second != "=":
        if second == "#":
            raise error(
                "expected '= value' after the key, found a comment (the official LoadGen ignores "
                "this line silently)",
                key=first,
            )
        if second.startswith("="):
            raise error(
                "'=' must be its own token: write 'key = value' (the official LoadGen rejects "
                "the whole file)",
                key=first,
                value=second[1:],
            )
        raise error("expected 'model.scenario.key = value'", key=first, value=second)
    if len(tokens) == 2:
        raise error("missing value after '='", key=first)
    value = tokens[2]
    if len(tokens) > 3:
        extra = tokens[3]
        if extra.startswith("#"):
            raise error(
                "a comment after the value is not allowed (the official LoadGen rejects the "
                "whole file); put the comment on its own line",
                key=first,
                value=value,
            )
        raise error(
            f"one value per line, found {len(tokens) - 2} (the official LoadGen would keep the "
            "last one)",
            key=first,
            value=" ".join(tokens[2:]),
        )
    return _parse_entry(first, value, line_no, path, conf_type)


def _parse_entry(
    key_token: str, value: str, line_no: int, path: str, conf_type: ConfType
) -> ConfigEntry:
    def error(message: str) -> ConfigError:
        return ConfigError(message, path=path, line=line_no, key=key_token, value=value)

    parts = key_token.rsplit(".", 2)
    if len(parts) != 3 or not all(parts):
        raise error(
            "a key has three dot-separated parts, 'model.scenario.key' ('*' for any model or "
            "scenario), e.g. 'resnet50.Server.target_latency'"
        )
    model, scenario, name = parts
    if scenario != "*" and scenario not in SCENARIOS:
        raise error(_scenario_advice(scenario))
    spec = KEYS.get(name) or UNREAD_KEYS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, [*KEYS, *UNREAD_KEYS], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise error(f"unknown key {name!r}{hint}")
    if conf_type not in spec.files:
        allowed = " or ".join(FILE_NAMES[c] for c in sorted(spec.files))
        why = (
            "; the official LoadGen silently ignores it elsewhere, so remove the line"
            if spec.files == MLPERF_ONLY
            else ""
        )
        raise error(f"{name!r} may only be set in {allowed}, not in {FILE_NAMES[conf_type]}{why}")
    if not is_c_number(value):
        raise error(bad_number_advice(name, value, spec.unit))

    notes: list[str] = []
    values: list[tuple[str, object]] = []
    for use in spec.uses:
        if scenario != "*" and use.scenario is not None and use.scenario != scenario:
            continue
        converted, note = convert_value(use, name, value, error)
        values.append((use.field, converted))
        if note and note not in notes:
            notes.append(note)
    if name == "target_duration":
        notes.append("LoadGen never reads 'target_duration'; this line has no effect")
    elif conf_type is ConfType.AUDIT and name.startswith("test05"):
        notes.append(
            f"mlpace applies {name!r} from an audit.config (the legacy TEST05 procedure); the "
            "official LoadGen reads it only from mlperf.conf and ignores this line"
        )
    elif spec.uses and not values:
        where = "/".join(sorted({u.scenario or "" for u in spec.uses}))
        notes.append(
            f"LoadGen looks up {name!r} only under {where} (or '*'), so this {scenario} line "
            "has no effect"
        )
    if name in VERIFIER_KEYS:
        # Only the compliance verify scripts read these; they need a plain finite number.
        number = parse_c_double(value)
        if not math.isfinite(number):
            raise error(f"{name} must be a finite number")
    return ConfigEntry(
        line=line_no,
        model=model,
        scenario=scenario,
        key=name,
        text=value,
        values=tuple(values),
        notes=tuple(_where(path, line_no, n) for n in notes),
    )


def _scenario_advice(scenario: str) -> str:
    for real in SCENARIOS:
        if real.lower() == scenario.lower():
            return (
                f"unknown scenario {scenario!r}: names are case-sensitive, write {real!r} "
                "(the official LoadGen would never match this line)"
            )
    if scenario.lower() == "interactive":
        return (
            "'Interactive' is not a LoadGen scenario: use 'Server' with the model key "
            "'<model>-interactive', e.g. 'llama2-70b-interactive.Server.ttft_latency'"
        )
    return f"unknown scenario {scenario!r}: use one of {', '.join(SCENARIOS)} or '*'"


# --------------------------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------------------------

# For an error that involves two fields, the other one (to name the line that set it).
_RELATED_FIELDS: dict[str, tuple[str, ...]] = {
    "max_duration_ms": ("max_duration_ms", "min_duration_ms"),
    "max_query_count": ("max_query_count", "min_query_count"),
    "performance_issue_same": ("performance_issue_same", "performance_issue_unique"),
}


def _scenario_name(scenario: TestScenario | str) -> str:
    if isinstance(scenario, TestScenario):
        return scenario.value
    if isinstance(scenario, str) and scenario in SCENARIOS:
        return scenario
    raise SettingsError(
        f"scenario must be one of {', '.join(SCENARIOS)} (case-sensitive), got {scenario!r}",
        field="scenario",
        value=scenario,
    )


def apply_config(
    settings: TestSettings, config: ConfigFile, *, model: str, scenario: TestScenario | str
) -> tuple[TestSettings, list[str]]:
    """Apply one parsed file for ``model`` and ``scenario``; return new settings and warnings.

    An audit.config is applied with model ``*`` whatever ``model`` says, as the official LoadGen
    does; its model-specific lines are reported as warnings because they never take effect.
    ``settings.scenario`` is not changed.
    """
    scenario_name = _scenario_name(scenario)
    lookup_model = "*" if config.conf_type is ConfType.AUDIT else model
    values: dict[str, object] = {n: getattr(settings, n) for n in settings.field_names()}
    set_by: dict[str, ConfigEntry] = {}
    warnings: list[str] = []

    def warn(messages: Iterable[str]) -> None:
        for message in messages:
            if message not in warnings:
                warnings.append(message)

    for name, spec in KEYS.items():
        for use in spec.uses:
            entry = config.lookup(lookup_model, use.scenario or scenario_name, name)
            if entry is None:
                continue
            if use.only_if is not None and not values[use.only_if]:
                warn(
                    [
                        _where(
                            config.path,
                            entry.line,
                            f"{entry.full_key} is ignored because {use.only_if} is 0 "
                            "(as in the official LoadGen)",
                        )
                    ]
                )
                continue
            values[use.field] = entry.value_for(use.field)
            set_by[use.field] = entry
            warn(entry.notes)

    for entry in config.entries:
        concerns_run = entry.scenario in ("*", scenario_name)
        if config.conf_type is ConfType.AUDIT and entry.model != "*" and concerns_run:
            warn(
                [
                    _where(
                        config.path,
                        entry.line,
                        f"{entry.full_key} has no effect: LoadGen applies an audit.config with "
                        "model '*', so only '*.<scenario>.key' and '*.*.key' lines count",
                    )
                ]
            )
        elif (
            entry.model in ("*", lookup_model)
            and not entry.values
            and entry.key not in VERIFIER_KEYS
        ):
            # a line LoadGen never reads (wrong scenario part, target_duration)
            warn(entry.notes)

    changed = {n: values[n] for n in set_by}
    try:
        new = replace(settings, **changed) if changed else settings  # type: ignore[arg-type]
    except SettingsError as exc:
        culprit = None
        for name in _RELATED_FIELDS.get(exc.field or "", (exc.field or "",)):
            if name in set_by:
                culprit = set_by[name]
                break
        raise ConfigError(
            f"these settings are inconsistent: {exc}",
            path=config.path,
            line=culprit.line if culprit else None,
            key=culprit.full_key if culprit else None,
            value=culprit.text if culprit else None,
        ) from None
    return new, warnings


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def builtin_mlperf_conf_text() -> str:
    """The built-in mlperf.conf (this round's seeds and per-model defaults)."""
    return resources.files("mlpace.loadgen").joinpath("mlperf.conf").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _builtin_config() -> ConfigFile:
    return parse_config(
        builtin_mlperf_conf_text(), path="<built-in mlperf.conf>", conf_type=ConfType.MLPERF
    )


def read_config(path: str | os.PathLike[str], conf_type: ConfType) -> ConfigFile:
    """Read and parse one config file; a missing or unreadable file is a :class:`ConfigError`."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ConfigError(f"{FILE_NAMES[conf_type]} not found", path=name) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {FILE_NAMES[conf_type]}: {exc.strerror}", path=name
        ) from None
    # Like the official reader, bytes are bytes: undecodable ones only matter inside a token.
    text = data.decode("utf-8", errors="surrogateescape")
    return parse_config(text, path=name, conf_type=conf_type)


def load_settings(
    model: str,
    scenario: TestScenario | str,
    *,
    base: TestSettings | None = None,
    user_conf: str | os.PathLike[str] | None = None,
    mlperf_conf: str | os.PathLike[str] | None = None,
    audit_conf: str | os.PathLike[str] | None = None,
) -> tuple[TestSettings, list[str]]:
    """Settings for ``model`` in ``scenario``: mlperf.conf, then user.conf, then audit.config.

    ``mlperf_conf=None`` uses the built-in file. The scenario field is set from ``scenario``.
    Returns the settings and the warnings of all files, in order.
    """
    scenario_name = _scenario_name(scenario)
    settings = replace(base or TestSettings(), scenario=TestScenario(scenario_name))
    warnings: list[str] = []
    mlperf = _builtin_config() if mlperf_conf is None else read_config(mlperf_conf, ConfType.MLPERF)
    configs = [mlperf]
    if user_conf is not None:
        configs.append(read_config(user_conf, ConfType.USER))
    if audit_conf is not None:
        configs.append(read_config(audit_conf, ConfType.AUDIT))
    for config in configs:
        settings, more = apply_config(settings, config, model=model, scenario=scenario_name)
        warnings.extend(more)
    return settings, warnings
