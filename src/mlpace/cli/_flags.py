"""Argument types that range-check a flag where it enters.

Each factory returns an ``argparse`` type function. A bad value ends parsing with argparse's
own message, which names the flag as the user typed it, plus the unit, the allowed range and
the value given, e.g. ``argument --min-duration: expected seconds in [0, 1e+06], got '-3'``,
and exit status 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

# Longest duration a flag accepts: about 11.6 days. MLPerf runs last minutes to hours; a longer
# value is almost always a unit mistake (milliseconds typed as seconds).
MAX_SECONDS = 1_000_000.0
MAX_MILLISECONDS = MAX_SECONDS * 1000.0
# Counts are stored as signed 64-bit integers in the LoadGen's arrays.
MAX_COUNT = 2**63 - 1


def _fmt(x: float) -> str:
    if isinstance(x, int) or (x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    return f"{x:g}"


def _range_text(low: float, high: float, low_open: bool) -> str:
    return f"{'(' if low_open else '['}{_fmt(low)}, {_fmt(high)}]"


def number(unit: str, low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""

    def parse(text: str) -> float:
        allowed = f"expected {unit} in {_range_text(low, high, low_open)}"
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r} (not a number)") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r} (not a finite number)")
        too_low = value <= low if low_open else value < low
        if too_low or value > high:
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}")
        return value

    parse.__name__ = unit  # argparse shows it in "invalid <name> value" messages
    return parse


def count(unit: str, low: int, high: int = MAX_COUNT) -> Callable[[str], int]:
    """A whole number in ``[low, high]``."""

    def parse(text: str) -> int:
        if high >= MAX_COUNT:
            allowed = f"expected a whole number of {unit}, at least {low}"
        else:
            allowed = f"expected a whole number of {unit} in [{low}, {_fmt(high)}]"
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}") from None
        if value < low or value > high:
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}")
        return value

    parse.__name__ = unit
    return parse


def seconds(low: float = 0.0, high: float = MAX_SECONDS) -> Callable[[str], float]:
    return number("seconds", low, high)


def milliseconds(*, allow_zero: bool, high: float = MAX_MILLISECONDS) -> Callable[[str], float]:
    return number("milliseconds", 0.0, high, low_open=not allow_zero)


def rate(high: float = 1e12) -> Callable[[str], float]:
    return number("queries per second", 0.0, high, low_open=True)
