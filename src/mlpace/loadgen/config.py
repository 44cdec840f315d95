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
import enum
import functools
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib import resources

from mlpace.errors import ConfigError, SettingsError
from mlpace.loadgen.enums import MODE_FROM_CONFIG_INT, TestScenario
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.validation import UINT64_MAX, check_field

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


class ConfType(enum.IntEnum):
    """Which file a config is; the numbers are the official ``conf_type`` argument."""

    MLPERF = 0
    USER = 1
    AUDIT = 2


# --------------------------------------------------------------------------------------------
# What each key sets
# --------------------------------------------------------------------------------------------


class _Kind(enum.Enum):
    UINT = "a whole number >= 0"
    BOOL = "0 or 1"
    MODE = "0 (submission), 1 (accuracy), 2 (performance) or 3 (find peak)"
    DOUBLE = "a number"
    PERCENT = "a number in percent"


@dataclass(frozen=True)
class _Use:
    """One field a key sets, and the scenario name its lookup uses (None: the run's)."""

    field: str
    scenario: str | None
    kind: _Kind
    int_scale: int = 1  # integer product, as the official uint64 lookup (ms -> ns)
    float_scale: float = 1.0  # double product (ms -> ns for the SS/MS latency hints)
    only_if: str | None = None  # a bool field that must already be true for the lookup


_ALL = frozenset(ConfType)
_MLPERF_ONLY = frozenset({ConfType.MLPERF})
_AUDIT_ONLY = frozenset({ConfType.AUDIT})
# mlpace extension: the legacy TEST05 audit.config sets these; the official LoadGen reads them
# from mlperf.conf only (and silently ignores the audit.config lines).
_MLPERF_OR_AUDIT = frozenset({ConfType.MLPERF, ConfType.AUDIT})
_MS_TO_NS = 1_000_000


@dataclass(frozen=True)
class _KeySpec:
    uses: tuple[_Use, ...]
    files: frozenset[ConfType] = _ALL
    unit: str = ""


def _cur(
    field_name: str, kind: _Kind, unit: str = "", files: frozenset[ConfType] = _ALL
) -> _KeySpec:
    return _KeySpec((_Use(field_name, None, kind),), files, unit)


# In the order the official FromConfig looks keys up: use_token_latencies before ttft/tpot and
# infer_token_latencies before the scaling factor matter, since those lookups depend on them.
_KEYS: dict[str, _KeySpec] = {
    "mode": _cur("mode", _Kind.MODE),
    "qsl_rng_seed": _cur("qsl_rng_seed", _Kind.UINT, files=_MLPERF_ONLY),
    "sample_index_rng_seed": _cur("sample_index_rng_seed", _Kind.UINT, files=_MLPERF_ONLY),
    "schedule_rng_seed": _cur("schedule_rng_seed", _Kind.UINT, files=_MLPERF_ONLY),
    "accuracy_log_probability": _cur(
        "accuracy_log_probability", _Kind.PERCENT, "percent", files=_MLPERF_ONLY
    ),
    "test05": _cur("test05", _Kind.BOOL, files=_MLPERF_OR_AUDIT),
    "test05_qsl_rng_seed": _cur("test05_qsl_rng_seed", _Kind.UINT, files=_MLPERF_OR_AUDIT),
    "test05_sample_index_rng_seed": _cur(
        "test05_sample_index_rng_seed", _Kind.UINT, files=_MLPERF_OR_AUDIT
    ),
    "test05_schedule_rng_seed": _cur(
        "test05_schedule_rng_seed", _Kind.UINT, files=_MLPERF_OR_AUDIT
    ),
    "use_token_latencies": _cur("use_token_latencies", _Kind.BOOL),
    "ttft_latency": _KeySpec(
        (_Use("ttft_latency", "Server", _Kind.UINT, _MS_TO_NS, only_if="use_token_latencies"),),
        unit="ms",
    ),
    "tpot_latency": _KeySpec(
        (_Use("tpot_latency", "Server", _Kind.UINT, _MS_TO_NS, only_if="use_token_latencies"),),
        unit="ms",
    ),
    "infer_token_latencies": _cur("infer_token_latencies", _Kind.BOOL),
    "token_latency_scaling_factor": _KeySpec(
        (
            _Use(
                "token_latency_scaling_factor",
                None,
                _Kind.UINT,
                only_if="infer_token_latencies",
            ),
        )
    ),
    "target_latency_percentile": _KeySpec(
        (
            _Use("single_stream_target_latency_percentile", "SingleStream", _Kind.PERCENT),
            _Use("multi_stream_target_latency_percentile", "MultiStream", _Kind.PERCENT),
            _Use("server_target_latency_percentile", "Server", _Kind.PERCENT),
        ),
        unit="percent",
    ),
    "samples_per_query": _KeySpec(
        (_Use("multi_stream_samples_per_query", "MultiStream", _Kind.UINT),)
    ),
    # SingleStream/MultiStream read it as a double, Server as an integer (fractions truncated).
    "target_latency": _KeySpec(
        (
            _Use(
                "single_stream_expected_latency_ns",
                "SingleStream",
                _Kind.DOUBLE,
                float_scale=1e6,
            ),
            _Use("multi_stream_expected_latency_ns", "MultiStream", _Kind.DOUBLE, float_scale=1e6),
            _Use("server_target_latency_ns", "Server", _Kind.UINT, _MS_TO_NS),
        ),
        unit="ms",
    ),
    "performance_issue_unique": _cur("performance_issue_unique", _Kind.BOOL),
    "performance_issue_same": _cur("performance_issue_same", _Kind.BOOL),
    "performance_issue_same_index": _cur("performance_issue_same_index", _Kind.UINT),
    "sample_concatenate_permutation": _cur("sample_concatenate_permutation", _Kind.BOOL),
    "coalesce_queries": _KeySpec((_Use("server_coalesce_queries", "Server", _Kind.BOOL),)),
    "max_async_queries": _KeySpec((_Use("server_max_async_queries", "Server", _Kind.UINT),)),
    "min_duration": _cur("min_duration_ms", _Kind.UINT, "ms"),
    "max_duration": _cur("max_duration_ms", _Kind.UINT, "ms"),
    "min_query_count": _cur("min_query_count", _Kind.UINT),
    "max_query_count": _cur("max_query_count", _Kind.UINT),
    "performance_sample_count_override": _cur("performance_sample_count_override", _Kind.UINT),
    "accuracy_sample_count_override": _cur("accuracy_sample_count_override", _Kind.UINT),
    "target_qps": _KeySpec(
        (
            _Use("server_target_qps", "Server", _Kind.DOUBLE),
            _Use("offline_expected_qps", "Offline", _Kind.DOUBLE),
        ),
        unit="queries per second",
    ),
    "print_timestamps": _cur("print_timestamps", _Kind.BOOL),
    "accuracy_log_rng_seed": _cur("accuracy_log_rng_seed", _Kind.UINT),
    "accuracy_log_sampling_target": _cur("accuracy_log_sampling_target", _Kind.UINT),
}

# Keys the LoadGen never reads but official files contain. target_duration is in the official
# mlperf.conf; the testNN_* keys in audit.config files are read by the compliance verify scripts.
_UNREAD_KEYS: dict[str, _KeySpec] = {
    "target_duration": _KeySpec((), unit="ms"),
    "test07_accuracy_threshold": _KeySpec((), _AUDIT_ONLY),
    "test09_min_output_tokens": _KeySpec((), _AUDIT_ONLY),
    "test09_max_output_tokens": _KeySpec((), _AUDIT_ONLY),
}
_VERIFIER_KEYS = frozenset(k for k in _UNREAD_KEYS if k.startswith("test0"))

_SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
_FILE_NAMES = {
    ConfType.MLPERF: "mlperf.conf",
    ConfType.USER: "user.conf",
    ConfType.AUDIT: "audit.config",
}

# --------------------------------------------------------------------------------------------
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
        return _parse_c_double(self.text)


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
# Numbers, the C way
# --------------------------------------------------------------------------------------------

_C_SPACE = re.compile(r"[ \t\n\v\f\r]+")
# A token strtoul(base 0) consumes completely.
_C_INT = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
# A token strtod consumes completely (decimal, hexadecimal, inf and nan spellings).
_C_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_C_HEX_FLOAT = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
)
_C_SPECIAL = re.compile(r"[+-]?(?:inf|infinity|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)
_NUMBER_WITH_UNIT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[A-Za-z%]+")


def _is_c_number(token: str) -> bool:
    return any(p.fullmatch(token) for p in (_C_INT, _C_DEC_FLOAT, _C_HEX_FLOAT, _C_SPECIAL))


def _parse_c_double(token: str) -> float:
    """What strtod reads from a token accepted by :func:`_is_c_number`."""
    if _C_HEX_FLOAT.fullmatch(token):
        try:
            return float.fromhex(token)
        except OverflowError:
            return -math.inf if token.startswith("-") else math.inf
    if _C_SPECIAL.fullmatch(token):
        if token.lstrip("+-").lower().startswith("nan"):
            return math.nan
        return -math.inf if token.startswith("-") else math.inf
    return float(token)


def _strtoull_prefix(token: str) -> int:
    """What strtoull(token, NULL, 0) returns: the longest integer prefix, wrapped to uint64."""
    sign = -1 if token.startswith("-") else 1
    rest = token[1:] if token.startswith(("+", "-")) else token
    if rest[:2] in ("0x", "0X") and len(rest) > 2 and rest[2] in "0123456789abcdefABCDEF":
        base, digits, rest = 16, "0123456789abcdefABCDEF", rest[2:]
    elif rest[:1] == "0":
        base, digits = 8, "01234567"
    else:
        base, digits = 10, "0123456789"
    n = 0
    for ch in rest:
        if ch not in digits:
            break
        n = n * base + int(ch, 16)
    if n > UINT64_MAX:
        return UINT64_MAX  # strtoull saturates on overflow
    return (sign * n) % 2**64


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
    tokens = [t for t in _C_SPACE.split(raw) if t]

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
    if scenario != "*" and scenario not in _SCENARIOS:
        raise error(_scenario_advice(scenario))
    spec = _KEYS.get(name) or _UNREAD_KEYS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, [*_KEYS, *_UNREAD_KEYS], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise error(f"unknown key {name!r}{hint}")
    if conf_type not in spec.files:
        allowed = " or ".join(_FILE_NAMES[c] for c in sorted(spec.files))
        why = (
            "; the official LoadGen silently ignores it elsewhere, so remove the line"
            if spec.files == _MLPERF_ONLY
            else ""
        )
        raise error(f"{name!r} may only be set in {allowed}, not in {_FILE_NAMES[conf_type]}{why}")
    if not _is_c_number(value):
        raise error(_bad_number_advice(name, value, spec.unit))

    notes: list[str] = []
    values: list[tuple[str, object]] = []
    for use in spec.uses:
        if scenario != "*" and use.scenario is not None and use.scenario != scenario:
            continue
        converted, note = _convert(use, name, value, error)
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
    if name in _VERIFIER_KEYS:
        # Only the compliance verify scripts read these; they need a plain finite number.
        number = _parse_c_double(value)
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
    for real in _SCENARIOS:
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
    return f"unknown scenario {scenario!r}: use one of {', '.join(_SCENARIOS)} or '*'"


def _bad_number_advice(name: str, value: str, unit: str) -> str:
    if value.startswith("#"):
        return "missing value: a comment cannot stand in place of the value"
    if _NUMBER_WITH_UNIT.fullmatch(value):
        unit_text = f" in {unit}" if unit else ""
        return (
            f"wrong unit: the unit of {name!r} is implied{unit_text}; write the bare number "
            "without a suffix"
        )
    return "the value must be an integer (decimal, 0x hex) or a decimal number"


_ErrorFactory = Callable[[str], ConfigError]


def _convert(use: _Use, name: str, token: str, error: _ErrorFactory) -> tuple[object, str | None]:
    """Convert one token for one field, as the official lookup would; refuse what it misreads."""
    note: str | None = None
    value: object
    if use.kind in (_Kind.UINT, _Kind.BOOL, _Kind.MODE):
        number, note = _c_unsigned(name, token, error)
        if note is not None:
            note = f"{note} (sets {use.field})"
        if use.kind is _Kind.BOOL:
            if number not in (0, 1):
                raise error(f"{name} is a flag: write 0 or 1")
            value = bool(number)
        elif use.kind is _Kind.MODE:
            if number not in MODE_FROM_CONFIG_INT:
                raise error(f"mode must be {_Kind.MODE.value}")
            value = MODE_FROM_CONFIG_INT[number]
        else:
            product = number * use.int_scale
            if product > UINT64_MAX:
                raise error(
                    f"{name} is too large (the official LoadGen would wrap it modulo 2**64)"
                )
            value = product
    else:
        number_f = _parse_c_double(token)
        if not math.isfinite(number_f):
            raise error(f"{name} must be a finite number")
        if use.kind is _Kind.PERCENT:
            if name == "target_latency_percentile" and 0.0 < number_f <= 1.0:
                raise error(
                    f"wrong unit: {name} is in percent (99 for p99, 99.9 for p99.9), "
                    f"so {token} means p{token}"
                )
            # Same double product as the official lookup: 99.9 * 0.01 == 0.9990000000000001.
            value = number_f * 0.01
        elif use.float_scale != 1.0:
            scaled = number_f * use.float_scale
            # The official field is a double; ours holds whole nanoseconds.
            value = round(scaled)
        else:
            value = number_f
    try:
        check_field(use.field, value)
    except SettingsError as exc:
        unit = _KEYS[name].unit
        raise error(f"out of range for {name}{f' ({unit})' if unit else ''}: {exc}") from None
    return value, note


def _c_unsigned(name: str, token: str, error: _ErrorFactory) -> tuple[int, str | None]:
    """The integer the official ``strtoull`` lookup reads, if that is what the user meant."""
    official = _strtoull_prefix(token)
    if _C_INT.fullmatch(token):
        unsigned = token.lstrip("+-")
        exact = (
            int(unsigned, 16)
            if unsigned[:2] in ("0x", "0X")
            else int(unsigned, 8 if unsigned.startswith("0") else 10)
        )
        if token.startswith("-") and exact != 0:
            raise error(
                f"{name} cannot be negative (the official LoadGen would wrap it to {official})"
            )
        if exact > UINT64_MAX:
            raise error(f"{name} is larger than 2**64 - 1")
        octal = len(unsigned) > 1 and unsigned[0] == "0" and unsigned[1] not in "xX"
        if octal and int(unsigned, 10) != exact:
            return exact, (
                f"{token!r} has a leading 0, so it is octal and reads as {exact} (as in the "
                "official LoadGen); drop the 0 if you meant decimal"
            )
        return exact, None
    number = _parse_c_double(token)
    if math.isfinite(number) and number >= 0 and math.trunc(number) == official:
        if number != official:
            return official, f"{name} takes whole numbers: {token} is truncated to {official}"
        return official, None
    raise error(
        f"{name} takes a whole number; the official LoadGen would read {official} from "
        f"{token!r} (no exponents or fractions), so write the integer you mean"
    )


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
    if isinstance(scenario, str) and scenario in _SCENARIOS:
        return scenario
    raise SettingsError(
        f"scenario must be one of {', '.join(_SCENARIOS)} (case-sensitive), got {scenario!r}",
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

    for name, spec in _KEYS.items():
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
            and entry.key not in _VERIFIER_KEYS
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
        raise ConfigError(f"{_FILE_NAMES[conf_type]} not found", path=name) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {_FILE_NAMES[conf_type]}: {exc.strerror}", path=name
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
