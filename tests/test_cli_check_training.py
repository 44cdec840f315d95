"""``mlpace check-training``: a verdict that agrees with the findings and the exit code, and
says so when the rules tolerate a failed run (olympic scoring drops it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import run_cli


def _package(root: Path, failing: int) -> Path:
    from mlpace.training import constants as C
    from mlpace.training.checker.synth import reference_events, write_events

    folder = root / "results" / "sys1" / C.LLAMA2_70B_LORA
    folder.mkdir(parents=True)
    for i in range(10):
        write_events(folder / f"result_{i}.txt", reference_events(seed=i + 1))
    for i in range(failing):  # truncated mid-line, as a killed run leaves it
        path = folder / f"result_{i}.txt"
        text = path.read_text()
        path.write_text(text[: len(text) // 2])
    return root / "results"


@pytest.mark.parametrize(
    ("failing", "code", "phrases"),
    [
        (0, 0, ("PASSED: all 10 runs comply", "SUCCESS")),
        (
            1,
            0,
            (
                "FAILED (tolerated: dropped by olympic scoring)",
                "PASSED: 1 of 10 runs fails compliance, which the rules tolerate",
                "(1 tolerated failed run)",
                "SUCCESS",
            ),
        ),
        (2, 1, ("FAILED: 1 error above (2 of 10 runs fail compliance)", "ERROR - FAILED")),
    ],
)
def test_check_training_verdict_matches_findings_and_exit_code(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    failing: int,
    code: int,
    phrases: tuple[str, ...],
) -> None:
    root = _package(tmp_path, failing)
    for extra in ([], ["--quiet"]):  # --quiet hides warnings, never the verdict
        got, text = run_cli(["check-training", str(root), *extra], capsys)
        assert got == code, text
        for phrase in phrases:
            assert phrase in text, phrase
        last = text.rstrip().splitlines()[-1]
        assert last == ("SUCCESS" if code == 0 else "ERROR - FAILED")
