"""Run the official submission checker from an mlcommons/inference checkout (never vendored)
and reduce its log to a verdict and its error lines."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mlpace.errors import MlpaceError

__all__ = ["OFFICIAL_MESSAGES", "OfficialVerdict", "official_command", "run_official"]

# The official checker's error messages and the mlpace rule id each one corresponds to.
OFFICIAL_MESSAGES: tuple[tuple[str, str], ...] = (
    ("performance_sample_count, found", "performance-sample-count"),
    ("Test duration less than 600s", "min-duration"),
    ("accurcy run does not cover all dataset", "accuracy-sample-count"),
    ("Early stopping condition was not met", "early-stopping"),
    ("Latency constraint", "latency-bound"),
    ("rng_seed is wrong", "seeds"),
    ("Required minimum Query Count", "min-queries"),
    ("Required minimum samples per query", "offline-samples-per-query"),
    ("has loadgen errors", "loadgen-errors"),
    ("is not truncated", "accuracy-not-truncated"),
    ("not hash value", "accuracy-hash"),
    ("measurements json file not found", "measurements-missing"),
    ("src directory does not exist", "src-missing"),
    ("requires a meaningful response", "system-field-empty"),
    ("has invalid status", "system-status"),
    ("is having empty", "file-empty"),
    ("does not have all required scenarios", "scenarios-missing"),
    ("Missing ", "compliance-missing"),
)


@dataclass(frozen=True)
class OfficialVerdict:
    returncode: int
    errors: tuple[str, ...]  # its ERROR lines, without the timestamp prefix
    crashed: bool  # a traceback instead of a verdict
    output: str

    @property
    def rules(self) -> set[str]:
        """The mlpace rule ids of its error lines (lines with no counterpart are left out)."""
        return {rule for e in self.errors for text, rule in OFFICIAL_MESSAGES if text in e}

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.crashed

    def summary(self) -> str:
        head = "official checker: " + (
            "CRASHED" if self.crashed else ("OK" if self.passed else "FAILED")
        )
        return "\n".join([head, *(f"    {e}" for e in self.errors[:50])])


def _tool_dir(checkout: str | Path) -> Path:
    base = Path(checkout)
    for candidate in (base / "tools" / "submission", base):
        if (candidate / "submission_checker" / "main.py").is_file():
            return candidate
    raise MlpaceError(
        f"--official {checkout}: no tools/submission/submission_checker/main.py there "
        "(give a checkout of mlcommons/inference)"
    )


def official_command(checkout: str | Path, tree: str | Path, version: str) -> list[str]:
    """The command, run from the checkout's tools/submission folder."""
    _tool_dir(checkout)
    return [
        sys.executable, "-m", "submission_checker.main",
        "--input", str(Path(tree).resolve()), "--version", version,
    ]  # fmt: skip


def run_official(
    checkout: str | Path, tree: str | Path, version: str = "v6.1", timeout_s: float = 600.0
) -> OfficialVerdict:
    tool = _tool_dir(checkout)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        official_command(checkout, tree, version),
        cwd=tool,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        check=False,
    )
    output = proc.stdout + proc.stderr
    errors = []
    for line in output.splitlines():
        if " ERROR] " in line:
            errors.append(line.split(" ERROR] ", 1)[1])
    crashed = "Traceback (most recent call last)" in output
    return OfficialVerdict(proc.returncode, tuple(errors), crashed, output)
