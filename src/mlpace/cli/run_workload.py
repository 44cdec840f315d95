"""``mlpace run [TASK]`` (the workloads package fills this in)."""

from __future__ import annotations

import argparse

from mlpace.errors import MlpaceError


def run_workload(args: argparse.Namespace) -> int:
    raise MlpaceError("workload runs are not implemented yet")
