"""The official pass rules, quirks included, and the strict checks, on small hand-made logs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "audit"))

from audit_helpers import accuracy_json, entry, perf_detail, ss_summary, summary  # noqa: E402

from mlpace.audit import official, strict  # noqa: E402
from mlpace.audit.catalog import applicable_tests, get_test  # noqa: E402
from mlpace.audit.logs import RawSamples, read_accuracy, read_detail, read_summary  # noqa: E402
from mlpace.audit.stats import percentile_estimate, ratio, throughput_estimate  # noqa: E402


def _acc(tmp: Path, name: str, entries: list[dict[str, object]]) -> object:
    return read_accuracy(accuracy_json(tmp / name, entries))


# ------------------------------------------------------------------------------ TEST01
def test_test01_accuracy_compares_only_the_first_element(tmp_path: Path) -> None:
    ref = _acc(tmp_path, "r.json", [entry(1, b"\x05\x06\x07\x08"), entry(2, b"\x01\x02")])
    test = _acc(tmp_path, "t.json", [entry(1, b"\x05\xff\xff\xff"), entry(2, b"\x01\x02")])
    check = official.test01_accuracy(ref, test)  # type: ignore[arg-type]
    assert check.passed
    assert "num_perf_log_data_mismatch = 0" in check.output
    assert check.output[-2:] == ("TEST PASS", "")
    bytes_findings = strict.every_byte(ref, test)  # type: ignore[arg-type]
    assert bytes_findings[0].failed
    assert "qsl_idx 1" in bytes_findings[0].details[0]
    assert "first difference at byte 1" in bytes_findings[0].details[0]
    assert "1 of these 1 responses agree there" in bytes_findings[0].official_missed


def test_test01_second_perf_entry_is_compared_with_the_first_perf_entry(tmp_path: Path) -> None:
    # The official script records each performance entry: a sample logged twice is compared
    # the second time with its own earlier (performance) answer, not the accuracy run's.
    ref = _acc(tmp_path, "r.json", [entry(1, b"\x05")])
    test = _acc(tmp_path, "t.json", [entry(1, b"\x09"), entry(1, b"\x09"), entry(7, b"\x01")])
    check = official.test01_accuracy(ref, test)  # type: ignore[arg-type]
    assert "num_perf_log_qsl_idx_match = 2" in check.output
    assert "num_perf_log_data_mismatch = 1" in check.output
    assert "num_missing_qsl_idxs = 1" in check.output
    assert not check.passed


def test_test01_needs_at_least_one_match_and_a_whole_dtype(tmp_path: Path) -> None:
    ref = _acc(tmp_path, "r.json", [entry(1, b"\x05\x00\x00\x00")])
    none = _acc(tmp_path, "t.json", [])
    assert not official.test01_accuracy(ref, none).passed  # type: ignore[arg-type]
    odd = _acc(tmp_path, "o.json", [entry(1, b"\x05\x00\x00")])
    stopped = official.test01_accuracy(ref, odd, "int32")  # type: ignore[arg-type]
    assert not stopped.passed
    assert "ValueError" in stopped.output[-1]
    assert "int32" in stopped.note


def test_test01_performance_window_and_its_stops(tmp_path: Path) -> None:
    rule = get_test("TEST01").performance
    assert rule is not None
    ref = read_detail(perf_detail(tmp_path / "r.txt", "Offline", 1000.0))
    ok = read_detail(perf_detail(tmp_path / "a.txt", "Offline", 1099.0))
    fast = read_detail(perf_detail(tmp_path / "b.txt", "Offline", 1101.0))
    assert official.test01_performance(ref, ok, rule).passed
    out = official.test01_performance(ref, fast, rule)
    assert not out.passed and out.output[-1] == "TEST FAIL: Test score invalid"
    invalid = read_detail(perf_detail(tmp_path / "c.txt", "Offline", 1000.0, valid=False))
    out = official.test01_performance(ref, invalid, rule)
    assert out.output[-1].startswith("TEST FAIL: Invalid results in")
    errors = read_detail(perf_detail(tmp_path / "d.txt", "Offline", 1000.0, errors=["boom"]))
    out = official.test01_performance(ref, errors, rule)
    assert not out.passed and "NameError" in out.output[-1] and "1 LoadGen error" in out.note
    ss_ref = read_detail(perf_detail(tmp_path / "e.txt", "SingleStream", 150_000.0))
    ss_test = read_detail(perf_detail(tmp_path / "f.txt", "SingleStream", 175_000.0))
    relaxed = official.test01_performance(ss_ref, ss_test, rule)
    assert relaxed.passed and relaxed.threshold == pytest.approx(0.20)
    other = read_detail(perf_detail(tmp_path / "g.txt", "SingleStream", 1000.0))
    mismatch = official.test01_performance(ref, other, rule)
    assert mismatch.output[-1] == "TEST FAIL: Test and reference scenarios do not match!"


# ------------------------------------------------------------------------------ TEST04 / TEST05
def test_test04_allows_at_most_the_threshold_faster(tmp_path: Path) -> None:
    rule = get_test("TEST04").performance
    assert rule is not None
    ref = read_summary(ss_summary(tmp_path / "r.txt", 1_000_000))
    slower = read_summary(ss_summary(tmp_path / "a.txt", 3_000_000))
    faster = read_summary(ss_summary(tmp_path / "b.txt", 800_000))
    assert official.test04_performance(ref, slower, rule).passed  # one-sided
    out = official.test04_performance(ref, faster, rule)
    assert not out.passed  # 25 % faster > 20 % (SingleStream is relaxed: 1e9/1 ms <= 200000)
    assert "reference score = 1000.0" in out.output


def test_test04_server_compares_throughput_and_never_the_latency_bound(tmp_path: Path) -> None:
    rule = get_test("TEST04").performance
    assert rule is not None
    ref = read_summary(
        summary(
            tmp_path / "r.txt",
            "Server",
            "Completed samples per second    : 100.00\ntarget_latency (ns): 10000000",
        )
    )
    test = read_summary(
        summary(
            tmp_path / "t.txt",
            "Server",
            "Completed samples per second    : 101.00\ntarget_latency (ns): 99999999",
        )
    )
    out = official.test04_performance(ref, test, rule)
    assert out.passed  # the latency bound differs, but the official pattern cannot see it
    assert "schedule fixes" in out.note


def test_test04_invalid_reference_and_scenario_mismatch(tmp_path: Path) -> None:
    rule = get_test("TEST04").performance
    assert rule is not None
    bad = read_summary(ss_summary(tmp_path / "r.txt", 1_000_000, valid=False))
    good = read_summary(ss_summary(tmp_path / "t.txt", 1_000_000))
    assert official.test04_performance(bad, good, rule).output[-1] == (
        "TEST FAIL: Reference results are invalid"
    )
    offline = read_summary(summary(tmp_path / "o.txt", "Offline", "Samples per second: 10"))
    out = official.test04_performance(good, offline, rule)
    assert out.output[-1] == "Test and reference scenarios do not match!" and not out.passed


def test_test05_legacy_wording_and_rule(tmp_path: Path) -> None:
    rule = get_test("TEST05").performance
    assert rule is not None
    ref = read_summary(ss_summary(tmp_path / "r.txt", 1_000_000))
    test = read_summary(ss_summary(tmp_path / "t.txt", 1_010_000))
    assert official.test05_performance(ref, test, rule).passed
    # The legacy script looked for "90th": it cannot read today's "90.0th" summaries.
    assert not official.test05_performance(ref, test, rule, literal=True).passed
    old_ref = read_summary(ss_summary(tmp_path / "or.txt", 1_000_000, wording="90th"))
    old_test = read_summary(ss_summary(tmp_path / "ot.txt", 1_300_000, wording="90th"))
    assert not official.test05_performance(old_ref, old_test, rule, literal=True).passed
    off_ref = read_summary(summary(tmp_path / "a.txt", "Offline", "Samples per second: 100"))
    off_ok = read_summary(summary(tmp_path / "b.txt", "Offline", "Samples per second: 96"))
    off_bad = read_summary(summary(tmp_path / "c.txt", "Offline", "Samples per second: 94"))
    assert official.test05_performance(off_ref, off_ok, rule).passed  # within 5 %
    assert not official.test05_performance(off_ref, off_bad, rule).passed


# ------------------------------------------------------------------------------ TEST06
def _tok(values: list[int]) -> bytes:
    return np.array(values, dtype=np.int32).tobytes()


def test_test06_official_checks_and_their_blind_spots(tmp_path: Path) -> None:
    good = entry(1, _tok([5, 6, 2]), token_data=_tok([5]).hex().upper(), token_count=3)
    # Empty first token: the official zip() compares nothing and passes.
    placeholder = entry(2, _tok([5, 6, 2]), token_data="", token_count=3)
    # Two EOS where only the first token is followed by EOS: the official loop stops at index 1.
    eos_first = entry(3, _tok([2, 2]), token_data=_tok([2]).hex().upper(), token_count=2)
    log = _acc(tmp_path, "a.json", [good, placeholder, eos_first])
    check = official.test06_accuracy(log, "Server")  # type: ignore[arg-type]
    assert check.passed
    assert check.output == (
        "First token check pass: True",
        "EOS check pass: True",
        "Sample length check pass: True",
        "TEST06 verification complete",
    )
    finding = strict.token_consistency(log, "Server", "int32", 2, check.passed)  # type: ignore[arg-type]
    assert finding.failed and "passed these responses" in finding.official_missed
    joined = "\n".join(finding.details)
    assert "qsl_idx 2" in joined and "empty token_data" in joined
    assert "qsl_idx 3" in joined and "2 EOS tokens at the end" in joined
    assert "qsl_idx 1 " not in joined


def test_test06_failures_and_offline_skip(tmp_path: Path) -> None:
    eos = entry(1, _tok([5, 2, 2]), token_data=_tok([5]).hex().upper(), token_count=3)
    count = entry(2, _tok([5, 2]), token_data=_tok([5]).hex().upper(), token_count=3)
    log = _acc(tmp_path, "a.json", [eos, count])
    check = official.test06_accuracy(log, "Offline")  # type: ignore[arg-type]
    assert check.output[0] == "First token check pass: Skipped"
    assert "EOS check pass: False" in check.output
    assert "Sample length check pass: False" in check.output
    assert check.output[-1] == "TEST06 verification failed"
    no_first = _acc(tmp_path, "b.json", [entry(1, _tok([5, 2]), token_count=2)])
    out = official.test06_accuracy(no_first, "Server")  # type: ignore[arg-type]
    assert out.output[0] == "First token check pass: False"
    assert "first token check" in out.note
    no_count = _acc(tmp_path, "c.json", [entry(1, _tok([5, 2]))])
    stopped = official.test06_accuracy(no_count, "Offline")  # type: ignore[arg-type]
    assert not stopped.passed and "token_count" in stopped.note
    # The length check stops at the first mismatch, before a later entry could make it crash.
    ordered = _acc(tmp_path, "e.json", [count, entry(3, _tok([5, 2]))])
    assert "Sample length check pass: False" in official.test06_accuracy(ordered, "Offline").output  # type: ignore[arg-type]
    empty = _acc(tmp_path, "d.json", [])
    vacuous = official.test06_accuracy(empty, "Server")  # type: ignore[arg-type]
    assert vacuous.passed and "vacuously" in vacuous.note
    assert strict.token_consistency(empty, "Server", "int32", 2, True).failed  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ statistics
def test_percentile_interval_contains_the_point_and_narrows_with_n() -> None:
    rng = np.random.default_rng(1)
    small = percentile_estimate(rng.integers(1, 1000, 100), 0.9, label="p90", source="t")
    large = percentile_estimate(rng.integers(1, 1000, 10_000), 0.9, label="p90", source="t")
    assert small is not None and large is not None
    assert small.low is not None and small.high is not None
    assert large.low is not None and large.high is not None
    assert small.low <= small.value <= small.high
    assert (large.high - large.low) < (small.high - small.low)


def test_ratio_of_identical_runs_is_one_and_detects_a_slower_run() -> None:
    done = np.arange(1, 2001, dtype=np.int64) * 1_000_000  # 1000 samples/s
    slow = np.arange(1, 2001, dtype=np.int64) * 1_500_000
    a = throughput_estimate(done, source="t")
    b = throughput_estimate(slow, source="t")
    assert a is not None and b is not None
    assert ratio(a, a).value == pytest.approx(1.0)
    r = ratio(a, b)
    assert r.value == pytest.approx(2 / 3, rel=1e-6)
    assert r.high is not None and r.high < 1.0


def test_set_bias_needs_samples_on_both_sides(tmp_path: Path) -> None:
    detail = read_detail(perf_detail(tmp_path / "d.txt", "SingleStream", 1.0))
    idx = np.arange(64, dtype=np.int64)
    lat = np.where(idx < 32, 100_000, 1_000_000).astype(np.int64)
    samples = RawSamples(idx, idx, lat, "test")
    tuned = strict.sample_set_bias(
        "SingleStream", samples, detail, 32, threshold=0.2, confidence=0.95
    )
    assert tuned.failed and "outside the performance set" in tuned.official_missed
    inside_only = strict.sample_set_bias(
        "SingleStream", samples, detail, 64, threshold=0.2, confidence=0.95
    )
    assert inside_only.status == "n/a"


def test_catalog_lists_and_defaults() -> None:
    assert applicable_tests("resnet", token_output=False) == ("TEST01", "TEST04", "TEST05")
    assert applicable_tests("llama3.1-8b", token_output=True) == ("TEST06",)
    assert applicable_tests(None, token_output=False) == ("TEST01", "TEST04", "TEST05")
    assert get_test("TEST01").config_file("3d-unet-99").endswith("3d-unet.audit.conf")
    assert get_test("TEST05").legacy
