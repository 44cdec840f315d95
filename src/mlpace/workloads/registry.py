"""Task registry (filled in by the workloads package)."""

from __future__ import annotations


def describe_tasks() -> str:
    return ""
