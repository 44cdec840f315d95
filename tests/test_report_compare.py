"""``mlpace compare``: the statistics (known shifts found, identical runs not flagged) and the
command end to end on virtual-time runs, plus the real-clock acceptance (slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mlpace.loadgen as mlg
from mlpace.cli.main import main
from mlpace.clock import VirtualClock
from mlpace.report.compare import (
    IMPROVEMENT,
    INCONCLUSIVE,
    REGRESSION,
    SAME,
    WITHIN,
    CompareError,
    compare_runs,
    verdict,
)
from mlpace.report.record import RunRecorder
from mlpace.report.run import read_runs
from mlpace.report.stats import (
    Interval,
    compare_latencies,
    compare_throughput,
    n_blocks,
    percentile_of,
    t_quantile,
)

PS = (0.5, 0.9, 0.99)


def _lognormal(seed: int, n: int = 5000, median_ns: float = 100_000, sigma: float = 0.4):
    rng = np.random.default_rng(seed)
    return rng.lognormal(np.log(median_ns), sigma, n).astype(np.int64)


def _times(n: int, gap_ns: int = 1_000_000):
    return np.arange(n, dtype=np.int64) * gap_ns


def test_verdict_rules() -> None:
    iv = lambda lo, hi: Interval((lo + hi) / 2, lo, hi, 0.99)  # noqa: E731
    assert verdict(iv(0.08, 0.12), 0.05, True) == REGRESSION
    assert verdict(iv(-0.12, -0.08), 0.05, True) == IMPROVEMENT
    assert verdict(iv(-0.12, -0.08), 0.05, False) == REGRESSION  # throughput fell
    assert verdict(iv(0.01, 0.04), 0.05, True) == WITHIN
    assert verdict(iv(0.02, 0.14), 0.05, True) == INCONCLUSIVE
    assert verdict(iv(-0.02, 0.02), 0.05, True) == SAME
    # the per-query floor: +10 % of 1 µs is 100 ns, below a 5 µs floor
    assert verdict(iv(0.08, 0.12), 0.05, True, a_value=1_000, min_change_ns=5_000) == WITHIN
    assert verdict(iv(0.08, 0.12), 0.05, True, a_value=100_000, min_change_ns=5_000) == REGRESSION
    # a rate of 1M queries/s falling 10 % is 0.1 µs more per query: below the floor
    assert verdict(iv(-0.12, -0.08), 0.05, False, a_value=1e6, min_change_ns=5_000) == WITHIN
    assert verdict(iv(-0.12, -0.08), 0.05, False, a_value=1e3, min_change_ns=5_000) == REGRESSION


def test_known_shift_is_detected_at_every_percentile() -> None:
    a = _lognormal(1)
    b = (_lognormal(2) * 1.20).astype(np.int64)  # 20 % slower
    res = compare_latencies(a, _times(a.size), b, _times(b.size), PS)
    for p, change in zip(PS, res.changes):
        assert change.low <= change.estimate <= change.high
        assert verdict(change, 0.05, True) == REGRESSION, (p, change)
        assert change.low < 0.20 < change.high or p == 0.99  # the truth lies inside
    assert verdict(res.mean_change, 0.05, True) == REGRESSION
    assert res.a_values[0] == percentile_of(a, 0.5)


def test_identical_distributions_are_not_flagged() -> None:
    flagged = 0
    for seed in range(10):
        a, b = _lognormal(100 + seed), _lognormal(200 + seed)
        res = compare_latencies(a, _times(a.size), b, _times(b.size), PS, seed=seed)
        for change in (*res.changes, res.mean_change):
            assert change.low < change.high
            flagged += verdict(change, 0.05, True) in (REGRESSION, IMPROVEMENT)
    assert flagged == 0


def test_blocks_widen_the_interval_when_latencies_come_in_bursts() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    base = rng.lognormal(np.log(50_000), 0.2, n)
    bursty = base.copy()
    bursty[np.repeat(rng.random(n // 100) < 0.2, 100)] *= 4  # 20 % of 100-sample stretches
    bursty_i = bursty.astype(np.int64)
    shuffled = rng.permutation(bursty_i)
    t = _times(n)
    wide = compare_latencies(bursty_i, t, bursty_i, t, (0.9,)).changes[0]
    narrow = compare_latencies(shuffled, t, shuffled, t, (0.9,)).changes[0]
    assert (wide.high - wide.low) > 1.5 * (narrow.high - narrow.low)
    assert n_blocks(n) == 20 and n_blocks(10) == 10


def test_throughput_test_finds_a_slowdown_and_not_noise() -> None:
    rng = np.random.default_rng(3)
    a = np.cumsum(rng.exponential(1e6, 3000)).astype(np.int64)  # ~1000/s
    same = np.cumsum(rng.exponential(1e6, 3000)).astype(np.int64)
    slow = np.cumsum(rng.exponential(1.25e6, 3000)).astype(np.int64)  # 20 % fewer per second
    assert verdict(compare_throughput(a, same).change, 0.05, False) in (SAME, WITHIN)
    res = compare_throughput(a, slow)
    assert verdict(res.change, 0.05, False) == REGRESSION
    assert res.change.low < -0.2 < res.change.high
    assert res.t_statistic < -5


def test_t_quantile_matches_tables() -> None:
    assert t_quantile(0.975, 10) == pytest.approx(2.228, abs=2e-3)
    assert t_quantile(0.995, 30) == pytest.approx(2.750, abs=2e-3)
    assert t_quantile(0.975, float("inf")) == pytest.approx(1.960, abs=1e-3)


# ------------------------------------------------------------------ end to end, virtual time
def _virtual_run(out: Path, service_ns: int, seed: int, scenario: str = "SingleStream") -> Path:
    clock = VirtualClock()
    sut = mlg.SimulatedSUT(clock, ("exponential", service_ns), seed=seed)
    settings = mlg.TestSettings(
        scenario=mlg.TestScenario(scenario),
        mode=mlg.TestMode.PerformanceOnly,
        min_duration_ms=2000,
        min_query_count=500,
        single_stream_expected_latency_ns=service_ns,
        server_target_qps=1000,
    )
    out.mkdir(parents=True, exist_ok=True)
    log = mlg.LogSettings(mlg.LogOutputSettings(outdir=str(out)), enable_trace=False)
    outcome = mlg.run_test(sut, mlg.NullQSL(256), settings, log, clock=clock)
    RunRecorder(history=None).pass_done(outcome, out)  # per-sample timing, no trace needed
    return out


def test_compare_command_flags_a_50us_slower_sut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _virtual_run(tmp_path / "a", 100_000, seed=1)
    b = _virtual_run(tmp_path / "b", 150_000, seed=2)  # +50 µs of service time
    code = main(["compare", str(a), str(b), "--html", str(tmp_path / "cmp.html")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "REGRESSION: SingleStream p50 latency" in out
    page = (tmp_path / "cmp.html").read_text()
    assert "REGRESSION" in page and page.count('id="cdf-SingleStream"') == 1


def test_compare_command_passes_two_runs_of_the_same_sut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _virtual_run(tmp_path / "a", 100_000, seed=1)
    b = _virtual_run(tmp_path / "b", 100_000, seed=2)  # same SUT, other random service times
    code = main(["compare", str(a), str(b)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "no regression beyond the threshold" in out


def test_compare_by_history_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], _private_history: Path
) -> None:
    recorder = RunRecorder(history=_private_history)
    for name, service in (("a", 100_000), ("b", 400_000)):
        folder = _virtual_run(tmp_path / name, service, seed=4)
        recorder.performance_dirs.append(folder)
    done = recorder.finish(tmp_path)
    assert done.run_ids == [1, 2] and done.report == tmp_path / "report.html"
    code = main(["compare", "1", "2", "--history", str(_private_history)])
    assert code == 1, capsys.readouterr().out
    assert main(["compare", "1", "99", "--history", str(_private_history)]) == 2
    assert "no run with id 99" in capsys.readouterr().err


def test_compare_refuses_what_it_cannot_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ss = _virtual_run(tmp_path / "ss", 100_000, seed=1)
    server = _virtual_run(tmp_path / "server", 100_000, seed=1, scenario="Server")
    assert main(["compare", str(ss), str(server)]) == 2
    assert "no scenario with a performance run in both" in capsys.readouterr().err
    (ss / "mlpace_samples.npz").unlink()  # and no trace: nothing per query
    with pytest.raises(CompareError, match="no per-query timing"):
        compare_runs(read_runs([ss]), read_runs([ss]))
    with pytest.raises(SystemExit) as stop:  # argparse: usage and message, exit status 2
        main(["compare", str(ss), str(ss), "--threshold", "abc"])
    assert stop.value.code == 2
    assert "expected a percentage, got 'abc'" in capsys.readouterr().err


# ------------------------------------------------------------------ the acceptance, real clock
@pytest.mark.slow
def test_acceptance_null_sut_delayed_by_50us(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real runs: identical settings exit 0; the SUT with 50 µs of added service time exits 1.

    The margins are asymmetric on purpose: the delay moves every latency by 50 µs, ten times
    the 5 µs per-query floor below which a shared machine's jitter never counts.
    """
    base = ["run", "--sut", "null", "--scenario", "SingleStream", "--min-duration", "1",
            "--quiet", "--no-history", "--no-report"]  # fmt: skip
    for name, extra in (("a", []), ("b", []), ("slow", ["--delay-us", "50"])):
        assert main([*base, "--output", str(tmp_path / name), *extra]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0, capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "slow")]) == 1
    assert "REGRESSION: SingleStream p50 latency" in capsys.readouterr().out


def test_multistream_and_offline_are_compared_per_query_and_on_throughput(
    tmp_path: Path,
) -> None:
    for name, service, seed in (("a", 100_000, 1), ("b", 125_000, 2)):
        for scenario in ("MultiStream", "Offline"):
            clock = VirtualClock()
            sut = mlg.SimulatedSUT(clock, ("exponential", service), servers=2, seed=seed)
            settings = mlg.TestSettings(
                scenario=mlg.TestScenario(scenario),
                mode=mlg.TestMode.PerformanceOnly,
                min_duration_ms=1000,
                min_query_count=700,
                multi_stream_expected_latency_ns=service * 8,
                offline_expected_qps=2e9 / service,
            )
            out = tmp_path / name / scenario
            out.mkdir(parents=True)
            log = mlg.LogSettings(mlg.LogOutputSettings(outdir=str(out)), enable_trace=False)
            RunRecorder(history=None).pass_done(
                mlg.run_test(sut, mlg.NullQSL(256), settings, log, clock=clock), out
            )
    cmp = compare_runs(read_runs([tmp_path / "a"]), read_runs([tmp_path / "b"]))
    ms, off = cmp.scenarios
    assert [m.name for m in ms.metrics][:3] == ["p50 query latency", "p90 query latency",
                                                "p99 query latency"]  # fmt: skip
    assert all(m.verdict == REGRESSION for m in ms.metrics)
    assert [m.name for m in off.metrics] == ["throughput (samples/s)"]
    assert off.metrics[0].regression and off.metrics[0].change.high < -0.05
