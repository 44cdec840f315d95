"""``mlpace run --sut null`` (the loadgen engine fills this in)."""

from __future__ import annotations

import argparse

from mlpace.errors import MlpaceError


def run_null(args: argparse.Namespace) -> int:
    raise MlpaceError("the null SUT run is not implemented yet")
