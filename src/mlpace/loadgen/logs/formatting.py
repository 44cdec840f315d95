"""Number and value formatting of the official logs.

* ``general`` is the C++ ostream default for doubles: 6 significant digits (``%g``).
* ``fixed`` is the official ``DoubleToString``: fixed notation, 2 decimals by default.
* ``json_value`` renders a detail-log value: ints bare (big uint64 seeds too), bools
  ``true``/``false``, doubles ``%g``, lists ``[1,2,3]``, dicts ``{"k":"v"}``. Unlike the
  official writer it always produces valid JSON: a non-finite double becomes the string
  ``"inf"``, ``"-inf"`` or ``"nan"`` (the official log writes them bare, which ``json.loads``
  rejects), and strings are escaped.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np


def general(value: float) -> str:
    """C++ ``ostream << double`` with the default precision (6 significant digits)."""
    return f"{float(value):g}"


def fixed(value: float | None, decimals: int = 2) -> str:
    """The official ``DoubleToString(value, decimals)``."""
    return f"{float(value if value is not None else 0.0):.{decimals}f}"


def json_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if math.isfinite(x):
            return general(x)
        return '"nan"' if math.isnan(x) else ('"inf"' if x > 0 else '"-inf"')
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return json.dumps(value.hex().upper())
    if isinstance(value, Mapping):
        return (
            "{" + ",".join(f"{json.dumps(str(k))}:{json_value(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, np.ndarray):
        return json_value(value.tolist())
    if isinstance(value, Sequence):
        return "[" + ",".join(json_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def summary_value(value: object) -> str:
    """A value as the summary prints it: bools 0/1, doubles ``%g``, the rest as text."""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (float, np.floating)):
        return general(float(value))
    return str(value)
