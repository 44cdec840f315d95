"""Rule checks before the run: unit tests over settings, and the --check-rules command."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mlpace.cli.main import main
from mlpace.loadgen.config import load_settings
from mlpace.loadgen.effective import effective_settings
from mlpace.submission.prerun import check_settings

EDGE = ("SingleStream", "MultiStream", "Offline")


def _eff(scenario: str, **changes: Any) -> Any:
    settings, _ = load_settings("resnet50", scenario)  # mlperf.conf: seeds, 600 s, bounds
    settings = dataclasses.replace(settings, **changes)
    return effective_settings(settings, total_sample_count=50000, performance_sample_count=1024)


def _rules(perf: dict[str, Any], division: str = "closed", asc: int = 50000) -> list[str]:
    found = check_settings(perf, accuracy_sample_count=asc, benchmark="resnet", division=division)
    return sorted(f"{v.rule}:{v.scenario}" for v in found)


def test_official_settings_of_a_full_size_run_pass() -> None:
    assert _rules({s: _eff(s) for s in EDGE}) == []


@pytest.mark.parametrize(
    ("scenario", "changes", "expected"),
    [
        ("Offline", {"min_duration_ms": 60_000}, "min-duration:Offline"),
        ("SingleStream", {"performance_sample_count_override": 500},
         "performance-sample-count:SingleStream"),
        ("MultiStream", {"qsl_rng_seed": 7}, "seeds:MultiStream"),
        ("Offline", {"schedule_rng_seed": 1}, "seeds:Offline"),
        ("MultiStream", {"min_duration_ms": 1000}, "min-duration:MultiStream"),
    ],
)  # fmt: skip
def test_one_bad_setting_is_one_violation(
    scenario: str, changes: dict[str, Any], expected: str
) -> None:
    perf = {s: _eff(s) for s in EDGE}
    perf[scenario] = _eff(scenario, **changes)
    assert _rules(perf) == [expected]


def test_server_latency_bound_and_required_scenarios() -> None:
    server = _eff("Server", server_target_latency_ns=20_000_000)  # resnet: 15 ms
    perf = {s: _eff(s) for s in EDGE} | {"Server": server}
    assert _rules(perf) == ["latency-bound:Server"]
    found = check_settings({"Offline": _eff("Offline")}, accuracy_sample_count=50000,
                           benchmark="resnet", division="closed")  # fmt: skip
    assert [v.rule for v in found] == ["scenarios-missing"]
    assert "--scenario SingleStream --scenario MultiStream" in found[0].advice
    assert _rules({"Offline": _eff("Offline")}, division="open") == []


def test_accuracy_pass_must_cover_the_data_set_and_benchmark_must_exist() -> None:
    perf = {s: _eff(s) for s in EDGE}
    assert _rules(perf, asc=360) == ["accuracy-sample-count:"]
    found = check_settings(perf, accuracy_sample_count=1, benchmark="digits", division="closed")
    assert [v.rule for v in found] == ["unknown-benchmark"]
    assert "--division open" in found[0].advice


def test_check_rules_command_on_digits(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "digits", "--check-rules", "--division", "open", "--profile", "official"])
    out = capsys.readouterr().out
    assert code == 1
    # Only the two proxy-size rules: the official profile has the durations and seeds right.
    assert "[accuracy-sample-count] accuracy pass over 360 samples" in out
    assert out.count("[performance-sample-count]") == 4
    assert "min-duration" not in out and "seeds" not in out
    assert main(["run", "digits", "--check-rules", "--division", "closed"]) == 1
    assert "[unknown-benchmark]" in capsys.readouterr().out
    assert main(["run", "--sut", "null", "--check-rules"]) == 2


def test_official_profile_checks_the_rules_before_loading_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mlpace.workloads.runner as runner

    class Stop(Exception):
        pass

    def no_run(*_a: Any, **_k: Any) -> Any:
        raise Stop

    monkeypatch.setattr(runner, "run_task", no_run)
    with pytest.raises(Stop):
        from mlpace.cli.main import build_parser
        from mlpace.cli.run_workload import run_workload

        run_workload(build_parser().parse_args(["run", "digits", "--profile", "official"]))
    assert "rule check (open division, resnet, v6.1): 5 setting(s)" in capsys.readouterr().err
