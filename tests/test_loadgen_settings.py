"""TestSettings validation, effective settings (§5) and the requested/effective log items."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpace.errors import SettingsError
from mlpace.loadgen.effective import (
    EffectiveSettings,
    effective_log_items,
    effective_settings,
    requested_log_items,
)
from mlpace.loadgen.enums import TestMode as Mode
from mlpace.loadgen.enums import TestScenario as Scenario
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.validation import FIELD_RULES

try:
    import mlperf_loadgen as lg
except ImportError:  # the official package is optional
    lg = None

needs_official = pytest.mark.skipif(lg is None, reason="mlperf_loadgen is not installed")

# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def test_defaults_are_valid_and_every_field_has_a_rule() -> None:
    TestSettings()
    assert set(FIELD_RULES) == set(TestSettings.field_names())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scenario", "Server"),
        ("mode", 2),
        ("server_target_qps", 0.0),
        ("server_target_qps", -1.0),
        ("server_target_qps", math.nan),
        ("server_target_qps", math.inf),
        ("offline_expected_qps", 0),
        ("offline_expected_qps", "5"),
        ("server_find_peak_qps_boundary_step_size", 0.0),
        ("server_find_peak_qps_decimals_of_precision", -1),
        ("single_stream_expected_latency_ns", 0),
        ("single_stream_expected_latency_ns", -5),
        ("single_stream_expected_latency_ns", 1.5e6),
        ("multi_stream_expected_latency_ns", 0),
        ("ttft_latency", 0),
        ("tpot_latency", -1),
        ("server_target_latency_ns", -1),
        ("single_stream_target_latency_percentile", 0.0),
        ("multi_stream_target_latency_percentile", 1.0),
        ("server_target_latency_percentile", 99.0),
        ("server_target_latency_percentile", math.nan),
        ("multi_stream_samples_per_query", 0),
        ("min_query_count", -1),
        ("min_duration_ms", -1),
        ("max_duration_ms", -1),
        ("qsl_rng_seed", -1),
        ("schedule_rng_seed", 2**64),
        ("test05_qsl_rng_seed", 2**64),
        ("accuracy_log_probability", 1.5),
        ("accuracy_log_probability", -0.1),
        ("print_timestamps", 1),
        ("server_coalesce_queries", "yes"),
        ("use_token_latencies", np.bool_(True)),
        ("min_query_count", True),
        ("min_query_count", 2.0),
        ("token_latency_scaling_factor", 0),
        ("sample_timeout_ms", -1),
        ("performance_sample_count_override", -3),
    ],
)
def test_bad_values_raise_settings_error(field: str, value: object) -> None:
    with pytest.raises(SettingsError) as info:
        TestSettings(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert "must be" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_duration_ms": 1000, "max_duration_ms": 999}, "max_duration_ms"),
        ({"min_query_count": 10, "max_query_count": 9}, "max_query_count"),
        ({"performance_issue_unique": True, "performance_issue_same": True}, None),
    ],
)
def test_cross_field_rules(kwargs: dict[str, Any], field: str | None) -> None:
    with pytest.raises(SettingsError) as info:
        TestSettings(**kwargs)
    if field:
        assert info.value.field == field
    # 0 means unlimited
    if field:
        TestSettings(**{**kwargs, field: 0})


def test_valid_edge_values_and_normalisation() -> None:
    s = TestSettings(
        server_target_qps=5,
        server_target_latency_ns=0,
        min_duration_ms=0,
        qsl_rng_seed=2**64 - 1,
        accuracy_log_probability=1,
        min_query_count=np.int64(7),  # type: ignore[arg-type]
        offline_expected_qps=np.float32(2.5),  # type: ignore[arg-type]
    )
    assert type(s.server_target_qps) is float and s.server_target_qps == 5.0
    assert type(s.min_query_count) is int and s.min_query_count == 7
    assert type(s.offline_expected_qps) is float and type(s.accuracy_log_probability) is float
    with pytest.raises(SettingsError):
        dataclasses.replace(s, min_query_count=-1)


# --------------------------------------------------------------------------------------------
# Effective settings
# --------------------------------------------------------------------------------------------


def eff(total: int = 50, psc: int = 7, **kw: Any) -> EffectiveSettings:
    return effective_settings(
        TestSettings(**kw), total_sample_count=total, performance_sample_count=psc
    )


def test_single_stream() -> None:
    e = eff(scenario=Scenario.SingleStream, single_stream_expected_latency_ns=2_000_000)
    assert (e.samples_per_query, e.max_async_queries, e.target_latency_ns) == (1, 1, 0)
    assert e.target_qps == 500.0 and e.target_latency_percentile == 0.9
    assert (e.target_duration_ms, e.min_query_count, e.min_sample_count) == (10_000, 100, 100)
    assert e.messages == ()


def test_single_stream_equal_issue_rounding() -> None:
    # max(10, floor(2 * 0.05 s * 1000 qps) = 100) -> next multiple of 7 above: 105
    e = eff(
        min_duration_ms=50,
        min_query_count=10,
        sample_concatenate_permutation=True,
        performance_sample_count_override=1000,  # ignored: the QSL's own count is used
    )
    assert e.min_query_count == 105 and e.min_sample_count == 105
    # an exact multiple still gets one more step
    e = eff(min_duration_ms=0, min_query_count=14, sample_concatenate_permutation=True)
    assert e.min_query_count == 21
    # only SingleStream
    e = eff(scenario=Scenario.Server, min_query_count=14, sample_concatenate_permutation=True)
    assert e.min_query_count == 14 and e.sample_concatenate_permutation


def test_multi_stream() -> None:
    e = eff(
        scenario=Scenario.MultiStream,
        multi_stream_expected_latency_ns=80_000_000,
        multi_stream_samples_per_query=8,
        min_query_count=662,
    )
    assert e.samples_per_query == 8 and e.target_qps == 12.5 and e.max_async_queries == 1
    assert e.min_sample_count == 662 * 8 and e.target_latency_percentile == 0.99


def test_server() -> None:
    e = eff(
        scenario=Scenario.Server,
        server_target_qps=123.5,
        server_target_latency_ns=15_000_000,
        server_target_latency_percentile=0.97,
        server_max_async_queries=4,
    )
    assert (e.target_qps, e.target_latency_ns, e.target_latency_percentile) == (
        123.5,
        15_000_000,
        0.97,
    )
    assert e.max_async_queries == 4 and e.samples_per_query == 1


def test_offline_samples_per_query_formula() -> None:
    # floor(1.1 * 600 s * 1000 qps) = 660000 > min_query_count
    e = eff(scenario=Scenario.Offline, min_duration_ms=600_000, offline_expected_qps=1000.0)
    assert e.samples_per_query == 660_000
    assert (e.min_query_count, e.target_duration_ms, e.min_duration_ms) == (1, 0, 600_000)
    assert e.min_sample_count == 660_000 and e.target_latency_percentile == 0.99
    # min_query_count wins when larger
    e = eff(
        scenario=Scenario.Offline,
        min_duration_ms=50,
        offline_expected_qps=100.0,
        min_query_count=24576,
    )
    assert e.samples_per_query == 24576
    # the double product truncates like the official uint64 conversion: 1.1*0.05*100 = 5.5
    e = eff(
        scenario=Scenario.Offline, min_duration_ms=50, offline_expected_qps=100.0, min_query_count=0
    )
    assert e.samples_per_query == 5
    # performance_issue_unique: one query of the performance sample count (override first)
    e = eff(scenario=Scenario.Offline, performance_issue_unique=True)
    assert e.samples_per_query == 7
    e = eff(
        scenario=Scenario.Offline,
        performance_issue_unique=True,
        performance_sample_count_override=30,
    )
    assert e.samples_per_query == 30


def test_sample_counts_capped_but_logged_uncapped() -> None:
    e = eff(total=50, psc=7, performance_sample_count_override=1024)
    assert e.performance_sample_count == 50 and e.official_performance_sample_count == 1024
    assert e.accuracy_sample_count == 50
    e = eff(total=50, psc=7, accuracy_sample_count_override=20)
    assert (e.performance_sample_count, e.accuracy_sample_count) == (7, 20)
    e = eff(total=50, psc=7, accuracy_sample_count_override=70)
    assert e.accuracy_sample_count == 50 and e.official_accuracy_sample_count == 70
    items = dict(effective_log_items(eff(total=50, psc=7, performance_sample_count_override=1024)))
    assert items["effective_performance_sample_count"] == 1024


def test_test05_replaces_seeds_and_mode() -> None:
    e = eff(
        mode=Mode.SubmissionRun,
        qsl_rng_seed=1,
        test05=True,
        test05_qsl_rng_seed=11,
        test05_sample_index_rng_seed=12,
        test05_schedule_rng_seed=13,
    )
    assert e.mode is Mode.PerformanceOnly
    assert (e.qsl_rng_seed, e.sample_index_rng_seed, e.schedule_rng_seed) == (11, 12, 13)
    assert e.requested.mode is Mode.SubmissionRun
    assert [m.key for m in e.messages] == ["warning_generic_message"]
    items = dict(requested_log_items(e.requested))
    assert (
        items["requested_test_mode"] == "PerformanceOnly" and items["requested_qsl_rng_seed"] == 11
    )


def test_same_index_message() -> None:
    e = eff(performance_issue_same=True, performance_issue_same_index=7)
    assert len(e.messages) == 1
    assert e.messages[0].key == "error_invalid_test_settings" and e.messages[0].is_error
    assert "performance_issue_same_index: 7 performance_sample_count: 7" in e.messages[0].message
    assert eff(performance_issue_same=True, performance_issue_same_index=6).messages == ()
    assert eff(performance_issue_same_index=70).messages == ()


def test_token_fields_and_extension() -> None:
    e = eff(use_token_latencies=True, ttft_latency=5, tpot_latency=6, sample_timeout_ms=0)
    assert (e.use_token_latencies, e.ttft_latency_ns, e.tpot_latency_ns) == (True, 5, 6)
    assert e.sample_timeout_ms == 0
    assert (e.qsl_total_sample_count, e.qsl_performance_sample_count) == (50, 7)


def test_bad_qsl_counts() -> None:
    with pytest.raises(SettingsError):
        effective_settings(TestSettings(), total_sample_count=0, performance_sample_count=1)
    with pytest.raises(SettingsError):
        effective_settings(TestSettings(), total_sample_count=5, performance_sample_count=0)


def test_effective_fields_match_architecture_doc() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text()
    table = doc.split("→ `EffectiveSettings`", 1)[1].split("`requested_log_items", 1)[0]
    documented: list[str] = []
    for row in table.splitlines():
        row = row.strip()
        if row.startswith("| `"):
            documented += re.findall(r"`([a-z_][a-z0-9_]*)", row.split("|")[1])
    names = [f.name for f in dataclasses.fields(EffectiveSettings)]
    assert sorted(names) == sorted(documented)


@settings(max_examples=200, deadline=None)
@given(
    scenario=st.sampled_from(list(Scenario)),
    min_duration_ms=st.integers(0, 10**7),
    min_query_count=st.integers(0, 10**6),
    qps=st.floats(0.001, 1e6),
    psc=st.integers(1, 5000),
    concat=st.booleans(),
)
def test_effective_invariants(
    scenario: Scenario,
    min_duration_ms: int,
    min_query_count: int,
    qps: float,
    psc: int,
    concat: bool,
) -> None:
    e = eff(
        total=psc + 10,
        psc=psc,
        scenario=scenario,
        min_duration_ms=min_duration_ms,
        min_query_count=min_query_count,
        server_target_qps=qps,
        offline_expected_qps=qps,
        sample_concatenate_permutation=concat,
    )
    assert e.min_sample_count == e.min_query_count * e.samples_per_query
    if scenario is Scenario.Offline:
        assert e.min_query_count == 1 and e.target_duration_ms == 0
        assert e.samples_per_query >= min_query_count
    else:
        assert e.target_duration_ms == min_duration_ms
    if scenario is Scenario.SingleStream and concat:
        assert e.min_query_count % psc == 0 and e.min_query_count > min_query_count
    keys = [k for k, _ in effective_log_items(e)]
    assert len(keys) == len(set(keys)) == 26


# --------------------------------------------------------------------------------------------
# Log items against the official LoadGen
# --------------------------------------------------------------------------------------------

CASES: list[tuple[dict[str, Any], int, int]] = [
    (
        dict(
            scenario="SingleStream",
            min_duration_ms=50,
            min_query_count=10,
            single_stream_expected_latency_ns=1_000_000,
            sample_concatenate_permutation=True,
        ),
        50,
        7,
    ),
    (
        dict(
            scenario="Offline",
            min_duration_ms=50,
            min_query_count=10,
            offline_expected_qps=100.0,
            performance_sample_count_override=1000,
        ),
        50,
        7,
    ),
    (
        dict(
            scenario="MultiStream",
            min_duration_ms=20,
            min_query_count=5,
            multi_stream_samples_per_query=3,
            multi_stream_expected_latency_ns=8_000_000,
            multi_stream_target_latency_percentile=0.9990000000000001,
            use_token_latencies=True,
            ttft_latency=2_000_000_000,
            tpot_latency=200_000_000,
        ),
        50,
        7,
    ),
    (
        dict(
            scenario="Server",
            mode="SubmissionRun",
            min_duration_ms=50,
            min_query_count=10,
            server_target_qps=200.0,
            server_target_latency_ns=15_000_000,
            performance_issue_same=True,
            performance_issue_same_index=60,
            test05=True,
            test05_qsl_rng_seed=11,
            test05_sample_index_rng_seed=12,
            test05_schedule_rng_seed=13,
            qsl_rng_seed=2085463073848966840,
            accuracy_log_rng_seed=5,
            accuracy_log_sampling_target=3,
        ),
        50,
        7,
    ),
]

HARNESS = textwrap.dedent(
    """
    import json, os, sys
    import mlperf_loadgen as lg
    out_root, cases = sys.argv[1], json.loads(sys.argv[2])
    results = []
    for i, (fields, total, psc) in enumerate(cases):
        ts = lg.TestSettings()
        ts.token_latency_scaling_factor = 1
        for k, v in fields.items():
            if k == "scenario":
                v = getattr(lg.TestScenario, v)
            elif k == "mode":
                v = getattr(lg.TestMode, v)
            setattr(ts, k, v)
        def issue(samples):
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])
        sut = lg.ConstructSUT(issue, lambda: None)
        qsl = lg.ConstructQSL(total, psc, lambda x: None, lambda x: None)
        out = os.path.join(out_root, str(i))
        os.makedirs(out)
        lo = lg.LogOutputSettings(); lo.outdir = out
        ls = lg.LogSettings(); ls.log_output = lo; ls.enable_trace = False
        lg.StartTestWithLogSettings(sut, qsl, ts, ls)
        lg.DestroyQSL(qsl); lg.DestroySUT(sut)
        items = []
        for line in open(os.path.join(out, "mlperf_log_detail.txt")):
            if not line.startswith(":::MLLOG "):
                continue
            rec = json.loads(line[len(":::MLLOG "):])
            key = rec["key"]
            if key.startswith(("requested_", "effective_")) or key == "error_invalid_test_settings":
                items.append([key, rec["value"]])
        results.append(items)
    print(json.dumps(results))
    """
)


def to_core(fields: dict[str, Any]) -> TestSettings:
    kw = dict(fields)
    kw["scenario"] = Scenario(kw["scenario"])
    if "mode" in kw:
        kw["mode"] = Mode(kw["mode"])
    return TestSettings(**kw)


def same_value(ours: object, official: object) -> bool:
    if isinstance(ours, bool) or isinstance(official, bool):
        return ours is official
    if isinstance(ours, float):
        # the official log prints doubles with 6 significant digits
        return isinstance(official, (int, float)) and math.isclose(ours, official, rel_tol=1e-5)
    return ours == official


@pytest.mark.official
@needs_official
def test_log_items_match_the_official_detail_log(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", HARNESS, str(tmp_path), json.dumps(CASES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    official_runs = json.loads(proc.stdout.strip().splitlines()[-1])
    for (fields, total, psc), official in zip(CASES, official_runs):
        requested = to_core(fields)
        e = effective_settings(requested, total_sample_count=total, performance_sample_count=psc)
        ours = requested_log_items(requested) + effective_log_items(e)
        ours_errors = [m.message for m in e.messages if m.key == "error_invalid_test_settings"]
        official_items = [(k, v) for k, v in official if k != "error_invalid_test_settings"]
        official_errors = [v for k, v in official if k == "error_invalid_test_settings"]
        assert [k for k, _ in ours] == [k for k, _ in official_items], fields["scenario"]
        for (key, value), (_, official_value) in zip(ours, official_items):
            assert same_value(value, official_value), (
                fields["scenario"],
                key,
                value,
                official_value,
            )
            # doubles stay doubles, integers stay integers (the log writer formats by type)
            if isinstance(official_value, float) and not isinstance(value, bool):
                assert isinstance(value, float), key
        assert ours_errors == official_errors
