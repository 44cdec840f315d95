"""Config values read the way the official LoadGen's C parsing reads them, or refused.

``strtoul``/``strtoull`` base-0 integers, ``strtod`` doubles (hex floats, inf, nan), ms and
percent scaling; anything the official tool would silently misread is a :class:`ConfigError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from mlpace.errors import ConfigError, SettingsError
from mlpace.loadgen._config_keys import KEYS, Kind, Use
from mlpace.loadgen.enums import MODE_FROM_CONFIG_INT
from mlpace.loadgen.validation import UINT64_MAX, check_field

__all__ = [
    "C_SPACE",
    "ErrorFactory",
    "bad_number_advice",
    "convert_value",
    "is_c_number",
    "parse_c_double",
]

# --------------------------------------------------------------------------------------------

C_SPACE = re.compile(r"[ \t\n\v\f\r]+")
# A token strtoul(base 0) consumes completely.
C_INT = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
# A token strtod consumes completely (decimal, hexadecimal, inf and nan spellings).
C_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
C_HEX_FLOAT = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
)
C_SPECIAL = re.compile(r"[+-]?(?:inf|infinity|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)
NUMBER_WITH_UNIT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[A-Za-z%]+")


def is_c_number(token: str) -> bool:
    return any(p.fullmatch(token) for p in (C_INT, C_DEC_FLOAT, C_HEX_FLOAT, C_SPECIAL))


def parse_c_double(token: str) -> float:
    """What strtod reads from a token accepted by :func:`is_c_number`."""
    if C_HEX_FLOAT.fullmatch(token):
        try:
            return float.fromhex(token)
        except OverflowError:
            return -math.inf if token.startswith("-") else math.inf
    if C_SPECIAL.fullmatch(token):
        if token.lstrip("+-").lower().startswith("nan"):
            return math.nan
        return -math.inf if token.startswith("-") else math.inf
    return float(token)


def strtoull_prefix(token: str) -> int:
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


def bad_number_advice(name: str, value: str, unit: str) -> str:
    if value.startswith("#"):
        return "missing value: a comment cannot stand in place of the value"
    if NUMBER_WITH_UNIT.fullmatch(value):
        unit_text = f" in {unit}" if unit else ""
        return (
            f"wrong unit: the unit of {name!r} is implied{unit_text}; write the bare number "
            "without a suffix"
        )
    return "the value must be an integer (decimal, 0x hex) or a decimal number"


ErrorFactory = Callable[[str], ConfigError]


def convert_value(
    use: Use, name: str, token: str, error: ErrorFactory
) -> tuple[object, str | None]:
    """Convert one token for one field, as the official lookup would; refuse what it misreads."""
    note: str | None = None
    value: object
    if use.kind in (Kind.UINT, Kind.BOOL, Kind.MODE):
        number, note = c_unsigned(name, token, error)
        if note is not None:
            note = f"{note} (sets {use.field})"
        if use.kind is Kind.BOOL:
            if number not in (0, 1):
                raise error(f"{name} is a flag: write 0 or 1")
            value = bool(number)
        elif use.kind is Kind.MODE:
            if number not in MODE_FROM_CONFIG_INT:
                raise error(f"mode must be {Kind.MODE.value}")
            value = MODE_FROM_CONFIG_INT[number]
        else:
            product = number * use.int_scale
            if product > UINT64_MAX:
                raise error(
                    f"{name} is too large (the official LoadGen would wrap it modulo 2**64)"
                )
            value = product
    else:
        number_f = parse_c_double(token)
        if not math.isfinite(number_f):
            raise error(f"{name} must be a finite number")
        if use.kind is Kind.PERCENT:
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
        unit = KEYS[name].unit
        raise error(f"out of range for {name}{f' ({unit})' if unit else ''}: {exc}") from None
    return value, note


def c_unsigned(name: str, token: str, error: ErrorFactory) -> tuple[int, str | None]:
    """The integer the official ``strtoull`` lookup reads, if that is what the user meant."""
    official = strtoull_prefix(token)
    if C_INT.fullmatch(token):
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
    number = parse_c_double(token)
    if math.isfinite(number) and number >= 0 and math.trunc(number) == official:
        if number != official:
            return official, f"{name} takes whole numbers: {token} is truncated to {official}"
        return official, None
    raise error(
        f"{name} takes a whole number; the official LoadGen would read {official} from "
        f"{token!r} (no exponents or fractions), so write the integer you mean"
    )
