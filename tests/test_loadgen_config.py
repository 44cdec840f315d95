"""Config files: format quirks, units, precedence, file types, errors, built-in mlperf.conf."""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlpace.errors import ConfigError, SettingsError
from mlpace.loadgen.config import (
    ConfType,
    apply_config,
    builtin_mlperf_conf_text,
    load_settings,
    parse_config,
)
from mlpace.loadgen.enums import TestMode as Mode
from mlpace.loadgen.enums import TestScenario as Scenario
from mlpace.loadgen.settings import TestSettings

U = ConfType.USER


def apply_text(
    text: str,
    model: str = "m",
    scenario: str = "Server",
    conf_type: ConfType = U,
    base: TestSettings | None = None,
) -> tuple[TestSettings, list[str]]:
    config = parse_config(text, path="t.conf", conf_type=conf_type)
    return apply_config(base or TestSettings(), config, model=model, scenario=scenario)


def get(text: str, field: str, **kw: Any) -> Any:
    return getattr(apply_text(text, **kw)[0], field)


def config_error(text: str, conf_type: ConfType = U) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="t.conf", conf_type=conf_type)
    return info.value


# --------------------------------------------------------------------------------------------
# Format
# --------------------------------------------------------------------------------------------


def test_basic_line_and_whitespace() -> None:
    assert get("*.*.min_query_count = 5", "min_query_count") == 5
    assert get("\t*.*.min_query_count\t=\t5\r", "min_query_count") == 5
    assert get("*.*.min_query_count = 5\n\n   \n", "min_query_count") == 5


def test_comments() -> None:
    text = "# a comment\n   # indented\n#lone\n*.*.min_query_count # = 4\n"
    # the key followed by a standalone '#' is an error (official: silently ignored)
    err = config_error(text)
    assert err.line == 4 and err.key == "*.*.min_query_count"
    assert get("# c\n#word\n*.*.min_query_count = 5 \n", "min_query_count") == 5


def test_glued_comment_with_more_words_is_an_error() -> None:
    err = config_error("*.*.min_query_count = 5\n#this is text\n")
    assert err.line == 2 and "own token" in str(err)


@pytest.mark.parametrize(
    ("text", "fragment", "key", "value"),
    [
        ("*.*.min_query_count=5", "spaces around '='", "*.*.min_query_count", "5"),
        ("*.*.min_query_count =5", "own token", "*.*.min_query_count", "5"),
        ("*.*.min_query_count = 5 # c", "comment after the value", "*.*.min_query_count", "5"),
        ("*.*.min_query_count = 5 6", "one value per line", "*.*.min_query_count", "5 6"),
        ("*.*.min_query_count =", "missing value", "*.*.min_query_count", None),
        ("*.*.min_query_count", "key alone", "*.*.min_query_count", None),
        ("*.*.min_query_count : 5", "expected", "*.*.min_query_count", ":"),
        ("*.*.min_query_count = abc", "integer", "*.*.min_query_count", "abc"),
        ("*.*.min_query_count = #", "comment", "*.*.min_query_count", "#"),
        ("*.*.min_duration = 600s", "wrong unit", "*.*.min_duration", "600s"),
        ("*.Server.target_latency = 15ms", "wrong unit", "*.Server.target_latency", "15ms"),
        ("*.*.target_latency_percentile = 99%", "wrong unit", None, "99%"),
        ("*.*.target_latency_percentile = 0.99", "percent", None, "0.99"),
        ("min_query_count = 5", "three dot-separated", "min_query_count", "5"),
        ("Server.min_query_count = 5", "three dot-separated", None, "5"),
        ("..min_query_count = 5", "three dot-separated", None, "5"),
        ("*.server.min_query_count = 5", "case-sensitive", None, "5"),
        ("*.Interactive.min_query_count = 5", "not a LoadGen scenario", None, "5"),
        ("*.Foo.min_query_count = 5", "unknown scenario", None, "5"),
        ("*.*.min_querycount = 5", "did you mean 'min_query_count'", None, "5"),
        ("*.*.qsl_rng_seed = 5", "only be set in mlperf.conf", None, "5"),
        ("*.*.test05 = 1", "only be set in mlperf.conf", None, "1"),
        ("*.*.accuracy_log_probability = 5", "only be set in mlperf.conf", None, "5"),
        ("*.*.test09_min_output_tokens = 5", "audit.config", None, "5"),
        ("*.*.min_query_count = -1", "negative", None, "-1"),
        ("*.*.min_query_count = 1e3", "would read 1", None, "1e3"),
        ("*.*.min_query_count = 08", "would read 0", None, "08"),
        ("*.*.min_query_count = 010.5", "would read 8", None, "010.5"),
        ("*.*.min_query_count = inf", "whole number", None, "inf"),
        ("*.*.min_query_count = 18446744073709551616", "larger than", None, None),
        ("*.Server.target_latency = 20000000000000", "too large", None, None),
        ("*.*.mode = 4", "mode must be", None, "4"),
        ("*.*.print_timestamps = 2", "0 or 1", None, "2"),
        ("*.Server.target_qps = 0", "out of range", None, "0"),
        ("*.Server.target_qps = -5", "out of range", None, "-5"),
        ("*.Server.target_qps = nan", "finite", None, "nan"),
        ("*.Offline.target_qps = inf", "finite", None, "inf"),
        ("*.*.target_latency_percentile = 100", "out of range", None, "100"),
        ("*.*.target_latency_percentile = -5", "out of range", None, "-5"),
        ("*.MultiStream.samples_per_query = 0", "out of range", None, "0"),
        ("*.SingleStream.target_latency = 0", "out of range", None, "0"),
        ("*.Server.ttft_latency = 0", "out of range", None, "0"),
        ("*.*.token_latency_scaling_factor = 0", "out of range", None, "0"),
    ],
)
def test_every_malformed_line_is_a_located_error(
    text: str, fragment: str, key: str | None, value: str | None
) -> None:
    err = config_error("# header\n" + text + "\n")
    assert err.path == "t.conf"
    assert err.line == 2
    assert fragment in str(err), str(err)
    if key is not None:
        assert err.key == key
    else:
        assert err.key is not None
    if value is not None:
        assert err.value == value


def test_unknown_model_names_are_fine_and_dotted_models_work() -> None:
    text = "some-new-model.*.min_query_count = 7\nwan-2.2-t2v-a14b.Offline.min_query_count = 9\n"
    assert get(text, "min_query_count", model="some-new-model") == 7
    assert get(text, "min_query_count", model="wan-2.2-t2v-a14b", scenario="Offline") == 9
    assert get(text, "min_query_count", model="other") == 100


def test_case_sensitive_model() -> None:
    assert get("ResNet50.*.min_query_count = 7", "min_query_count", model="resnet50") == 100


def test_duplicate_key_last_wins_with_warning() -> None:
    s, warnings = apply_text("*.*.min_query_count = 5\n*.*.min_query_count = 7\n")
    assert s.min_query_count == 7
    assert any("line 1" in w and "t.conf:2" in w for w in warnings)


# --------------------------------------------------------------------------------------------
# Numbers and units
# --------------------------------------------------------------------------------------------


def test_integer_parsing_like_strtoul_base_0() -> None:
    assert get("*.*.min_query_count = 0x10", "min_query_count") == 16
    assert get("*.*.min_query_count = +5", "min_query_count") == 5
    s, warnings = apply_text("*.*.min_query_count = 010")
    assert s.min_query_count == 8 and any("octal" in w for w in warnings)
    s, warnings = apply_text("*.*.min_query_count = 2.5")
    assert s.min_query_count == 2 and any("truncated" in w for w in warnings)
    s, warnings = apply_text("*.*.min_query_count = 600.0")
    assert s.min_query_count == 600 and warnings == []
    assert get(
        "*.*.qsl_rng_seed = 18446744073709551615", "qsl_rng_seed", conf_type=ConfType.MLPERF
    ) == (2**64 - 1)


def test_units() -> None:
    assert get("*.*.min_duration = 1500", "min_duration_ms") == 1500
    assert get("*.*.max_duration = 25000", "max_duration_ms") == 25000
    assert get("*.Server.target_latency = 15", "server_target_latency_ns") == 15_000_000
    # Server reads an integer: fractional ms are truncated
    assert get("*.Server.target_latency = 2.7", "server_target_latency_ns") == 2_000_000
    # SingleStream/MultiStream read a double
    assert get("*.*.target_latency = 2.7", "single_stream_expected_latency_ns") == 2_700_000
    assert get("*.*.target_latency = 0.5", "multi_stream_expected_latency_ns") == 500_000
    assert get("*.SingleStream.target_latency = 0x10", "single_stream_expected_latency_ns") == (
        16_000_000
    )
    # doubles: strtod reads 010 as decimal and hex floats
    assert get("*.Server.target_qps = 010", "server_target_qps") == 10.0
    assert get("*.Server.target_qps = 0x1p3", "server_target_qps") == 8.0
    assert get("*.Offline.target_qps = 1.5e3", "offline_expected_qps") == 1500.0


def test_percent_uses_the_official_double_product() -> None:
    assert get("*.*.target_latency_percentile = 99.9", "server_target_latency_percentile") == (
        0.9990000000000001
    )
    s = apply_text("*.*.target_latency_percentile = 97", scenario="Offline")[0]
    assert s.single_stream_target_latency_percentile == 97 * 0.01
    assert s.multi_stream_target_latency_percentile == 97 * 0.01
    assert s.server_target_latency_percentile == 97 * 0.01
    p = get(
        "*.*.accuracy_log_probability = 50", "accuracy_log_probability", conf_type=ConfType.MLPERF
    )
    assert p == 0.5


# --------------------------------------------------------------------------------------------
# Lookup precedence and fixed lookup scenarios
# --------------------------------------------------------------------------------------------

PRECEDENCE = """
*.*.min_query_count = 1
m.*.min_query_count = 2
*.Server.min_query_count = 3
m.Server.min_query_count = 4
"""


def test_lookup_precedence() -> None:
    lines = PRECEDENCE.strip().split("\n")
    assert get(PRECEDENCE, "min_query_count") == 4
    assert get("\n".join(lines[:3]), "min_query_count") == 3
    assert get("\n".join(lines[:2]), "min_query_count") == 2
    assert get(lines[0], "min_query_count") == 1
    # *.scenario beats model.* (the official order)
    assert get("m.*.min_query_count = 2\n*.Server.min_query_count = 3", "min_query_count") == 3
    # other scenario / model lines do not apply
    assert get("m.Offline.min_query_count = 9\nx.*.min_query_count = 8", "min_query_count") == 100


def test_scenario_specific_keys_use_their_own_scenario() -> None:
    text = (
        "*.MultiStream.samples_per_query = 4\n*.Server.target_qps = 50\n"
        "*.Offline.target_qps = 70\n*.Server.coalesce_queries = 1\n"
        "*.Server.max_async_queries = 3\n*.SingleStream.target_latency = 3\n"
        "*.MultiStream.target_latency = 40\n*.Server.target_latency = 20\n"
    )
    s = apply_text(text, scenario="Offline")[0]
    assert s.multi_stream_samples_per_query == 4
    assert s.server_target_qps == 50.0 and s.offline_expected_qps == 70.0
    assert s.server_coalesce_queries is True and s.server_max_async_queries == 3
    assert s.single_stream_expected_latency_ns == 3_000_000
    assert s.multi_stream_expected_latency_ns == 40_000_000
    assert s.server_target_latency_ns == 20_000_000
    # *.* sets the Server-only key in any scenario too
    assert get("*.*.max_async_queries = 3", "server_max_async_queries", scenario="Offline") == 3


def test_dead_scenario_lines_warn() -> None:
    for text in (
        "*.Offline.target_latency_percentile = 90",
        "*.Offline.samples_per_query = 4",
        "*.SingleStream.target_qps = 4",
        "*.Offline.ttft_latency = 4",
        "*.Server.target_duration = 0",
    ):
        s, warnings = apply_text(text, scenario="Offline")
        assert s == TestSettings(), text
        assert len(warnings) == 1 and "no effect" in warnings[0], (text, warnings)
    # a dead line for another model stays quiet
    assert apply_text("x.Offline.samples_per_query = 4", scenario="Offline")[1] == []


def test_token_latencies_only_when_enabled() -> None:
    text = "*.Server.ttft_latency = 5\n*.Server.tpot_latency = 6\n"
    s, warnings = apply_text(text)
    assert s.ttft_latency == 100_000_000 and len(warnings) == 2
    assert all("use_token_latencies is 0" in w for w in warnings)
    s, warnings = apply_text("*.*.use_token_latencies = 1\n" + text, scenario="Offline")
    assert (s.ttft_latency, s.tpot_latency, warnings) == (5_000_000, 6_000_000, [])
    # already enabled by an earlier file
    base = TestSettings(use_token_latencies=True)
    assert get(text, "ttft_latency", base=base) == 5_000_000
    # scaling factor only with infer_token_latencies
    s, warnings = apply_text("*.*.token_latency_scaling_factor = 69")
    assert s.token_latency_scaling_factor == 1 and warnings
    s = apply_text("*.*.infer_token_latencies = 1\n*.*.token_latency_scaling_factor = 69")[0]
    assert s.token_latency_scaling_factor == 69


def test_flags_and_mode() -> None:
    text = (
        "*.*.mode = 1\n*.*.performance_issue_same = 1\n*.*.performance_issue_same_index = 3\n"
        "*.*.sample_concatenate_permutation = 1\n*.*.print_timestamps = 1\n"
        "*.*.accuracy_log_rng_seed = 720381539243781796\n*.*.accuracy_log_sampling_target = 64\n"
        "*.*.performance_sample_count_override = 10\n*.*.accuracy_sample_count_override = 20\n"
    )
    s = apply_text(text)[0]
    assert s.mode is Mode.AccuracyOnly
    assert s.performance_issue_same and s.performance_issue_same_index == 3
    assert s.sample_concatenate_permutation and s.print_timestamps
    assert s.accuracy_log_rng_seed == 720381539243781796
    assert s.accuracy_log_sampling_target == 64
    assert (s.performance_sample_count_override, s.accuracy_sample_count_override) == (10, 20)
    assert s.scenario is Scenario.SingleStream  # apply_config leaves the scenario alone


def test_inconsistent_result_names_the_line() -> None:
    config = parse_config("\n*.*.max_query_count = 5\n", path="u.conf", conf_type=U)
    with pytest.raises(ConfigError) as info:
        apply_config(TestSettings(), config, model="m", scenario="Server")
    assert (info.value.path, info.value.line, info.value.value) == ("u.conf", 2, "5")
    config = parse_config(
        "*.*.performance_issue_unique = 1\n*.*.performance_issue_same = 1\n",
        path="u.conf",
        conf_type=U,
    )
    with pytest.raises(ConfigError) as info:
        apply_config(TestSettings(), config, model="m", scenario="Server")
    assert info.value.line == 2


def test_bad_scenario_argument() -> None:
    config = parse_config("", conf_type=U)
    with pytest.raises(SettingsError):
        apply_config(TestSettings(), config, model="m", scenario="server")
    assert apply_config(TestSettings(), config, model="m", scenario=Scenario.Offline)[1] == []


# --------------------------------------------------------------------------------------------
# Audit config
# --------------------------------------------------------------------------------------------

TEST04_LIKE = """
*.Offline.mode = 2
*.Offline.performance_issue_same = 1
*.Offline.performance_issue_same_index = 3
stable-diffusion-xl.Offline.min_query_count = 500
*.*.test07_accuracy_threshold = 60.698
"""


def test_audit_applies_with_model_star_and_warns_about_model_lines() -> None:
    base = TestSettings(mode=Mode.SubmissionRun)
    s, warnings = apply_text(
        TEST04_LIKE,
        model="stable-diffusion-xl",
        scenario="Offline",
        conf_type=ConfType.AUDIT,
        base=base,
    )
    assert s.mode is Mode.PerformanceOnly
    assert s.performance_issue_same and s.performance_issue_same_index == 3
    assert s.min_query_count == 100  # the model-specific line is dead, as official
    assert len(warnings) == 1 and "t.conf:5" in warnings[0] and "model '*'" in warnings[0]
    config = parse_config(TEST04_LIKE, conf_type=ConfType.AUDIT)
    assert config.entries[-1].number == 60.698


def test_audit_does_not_warn_about_other_scenarios() -> None:
    s, warnings = apply_text(TEST04_LIKE, scenario="Server", conf_type=ConfType.AUDIT)
    assert s == TestSettings() and warnings == []


# --------------------------------------------------------------------------------------------
# Built-in mlperf.conf and load_settings
# --------------------------------------------------------------------------------------------


def test_builtin_mlperf_conf_values() -> None:
    config = parse_config(builtin_mlperf_conf_text(), conf_type=ConfType.MLPERF)
    assert len(config.entries) > 100
    s, warnings = load_settings("resnet50", "Server")
    assert warnings == []
    assert s.scenario is Scenario.Server
    assert s.server_target_latency_ns == 15_000_000
    assert s.server_target_latency_percentile == 0.99
    assert (s.qsl_rng_seed, s.sample_index_rng_seed, s.schedule_rng_seed) == (
        2085463073848966840,
        2747215439041700203,
        16159082839903944936,
    )
    assert (s.test05_qsl_rng_seed, s.test05_sample_index_rng_seed, s.test05_schedule_rng_seed) == (
        7975553102935885558,
        11403566307062068064,
        15816800565822761601,
    )
    assert s.performance_sample_count_override == 1024
    assert s.min_duration_ms == 600_000
    llama, _ = load_settings("llama2-70b", "Server")
    assert llama.use_token_latencies and llama.sample_concatenate_permutation
    assert (llama.ttft_latency, llama.tpot_latency) == (2_000_000_000, 200_000_000)
    assert llama.server_target_latency_ns == 0
    inter, _ = load_settings("llama2-70b-interactive", "Server")
    assert (inter.ttft_latency, inter.tpot_latency) == (450_000_000, 40_000_000)
    gptj, _ = load_settings("gptj", "Offline")
    assert gptj.infer_token_latencies and gptj.token_latency_scaling_factor == 69
    assert gptj.min_query_count == 13368
    gpt_oss, _ = load_settings("gpt-oss-120b", "Offline")
    assert (gpt_oss.performance_sample_count_override, gpt_oss.accuracy_sample_count_override) == (
        6396,
        4395,
    )
    assert gpt_oss.min_query_count == 100
    ms, _ = load_settings("retinanet", Scenario.MultiStream)
    assert ms.multi_stream_expected_latency_ns == 528_000_000 and ms.min_query_count == 662
    pp, _ = load_settings("pointpainting", "SingleStream")
    assert pp.single_stream_target_latency_percentile == 0.9990000000000001
    unet, _ = load_settings("3d-unet", "SingleStream")
    assert unet.performance_sample_count_override == 0 and unet.sample_concatenate_permutation


def test_load_settings_order_and_files(tmp_path: Path) -> None:
    user = tmp_path / "user.conf"
    user.write_text("resnet50.Server.target_qps = 1234.5\n*.*.min_duration = 1000\n")
    audit = tmp_path / "audit.config"
    audit.write_text("*.*.min_duration = 0\nresnet50.*.min_query_count = 3\n")
    base = TestSettings(print_timestamps=True, scenario=Scenario.Offline)
    s, warnings = load_settings("resnet50", "Server", base=base, user_conf=user)
    assert s.scenario is Scenario.Server and s.print_timestamps
    assert (s.server_target_qps, s.min_duration_ms, s.qsl_rng_seed) == (
        1234.5,
        1000,
        2085463073848966840,
    )
    s, warnings = load_settings("resnet50", "Server", user_conf=user, audit_conf=audit)
    assert s.min_duration_ms == 0 and s.min_query_count == 100
    assert len(warnings) == 1 and str(audit) in warnings[0]
    own = tmp_path / "mlperf.conf"
    own.write_text("*.*.qsl_rng_seed = 1\n")
    s, _ = load_settings("resnet50", "Offline", mlperf_conf=own)
    assert s.qsl_rng_seed == 1 and s.performance_sample_count_override == 0


def test_missing_and_bad_files(tmp_path: Path) -> None:
    for kw in ("user_conf", "audit_conf", "mlperf_conf"):
        missing = tmp_path / f"{kw}.nope"
        with pytest.raises(ConfigError) as info:
            load_settings("resnet50", "Server", **{kw: missing})  # type: ignore[arg-type]
        assert info.value.path == str(missing) and "not found" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_settings("resnet50", "Server", user_conf=tmp_path)
    assert info.value.path == str(tmp_path)
    seeds = tmp_path / "seeds.conf"
    seeds.write_text("# x\n*.*.schedule_rng_seed = 5\n")
    with pytest.raises(ConfigError) as info:
        load_settings("resnet50", "Server", user_conf=seeds)
    assert (info.value.path, info.value.line) == (str(seeds), 2)
    latin = tmp_path / "latin.conf"
    latin.write_bytes(b"# caf\xe9\n*.*.min_query_count = 5\n*.*.m\xe9 = 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings("resnet50", "Server", user_conf=latin)
    assert info.value.line == 3


# --------------------------------------------------------------------------------------------
# Property-based
# --------------------------------------------------------------------------------------------

KEYS = [
    "mode", "min_query_count", "max_query_count", "min_duration", "max_duration", "target_qps",
    "target_latency", "target_latency_percentile", "samples_per_query", "use_token_latencies",
    "ttft_latency", "tpot_latency", "qsl_rng_seed", "print_timestamps", "coalesce_queries",
    "max_async_queries", "performance_issue_same", "performance_issue_unique",
    "performance_issue_same_index", "sample_concatenate_permutation", "infer_token_latencies",
    "token_latency_scaling_factor", "performance_sample_count_override", "target_duration",
    "accuracy_log_sampling_target", "bogus",
]  # fmt: skip
MODELS = ["*", "m", "resnet50", "wan-2.2", "M"]
SCENARIOS = ["*", "SingleStream", "MultiStream", "Server", "Offline", "server"]
VALUES = st.one_of(
    st.sampled_from(
        [
            "0",
            "1",
            "2",
            "3",
            "4",
            "-1",
            "010",
            "08",
            "0x1F",
            "2.5",
            "99.9",
            "0.5",
            "1e3",
            "inf",
            "nan",
            "abc",
            "5ms",
            "#",
            "+7",
            "1.",
            ".5",
            "0x1p3",
            "18446744073709551616",
            "100",
        ]
    ),  # fmt: skip
    st.integers(min_value=-5, max_value=2**64 + 5).map(str),
    st.floats(allow_nan=True).map(repr),
    st.text(alphabet="0123456789.+-exXabcdf#", min_size=1, max_size=6),
)
LINE = st.one_of(
    st.builds(
        lambda m, s, k, v, eq: f"{m}.{s}.{k}{eq}{v}",
        st.sampled_from(MODELS),
        st.sampled_from(SCENARIOS),
        st.sampled_from(KEYS),
        VALUES,
        st.sampled_from([" = ", " = ", "\t=\t", "=", " =", " = # "]),
    ),
    st.sampled_from(["", "# c", "#c", "#c d", "a.b", "  "]),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(LINE, max_size=6),
    conf_type=st.sampled_from(list(ConfType)),
    scenario=st.sampled_from(["SingleStream", "MultiStream", "Server", "Offline"]),
)
def test_any_text_gives_settings_or_a_located_config_error(
    lines: list[str], conf_type: ConfType, scenario: str
) -> None:
    text = "\n".join(lines)
    try:
        config = parse_config(text, path="p.conf", conf_type=conf_type)
    except ConfigError as err:
        assert err.path == "p.conf" and isinstance(err.line, int)
        assert 1 <= err.line <= max(1, text.count("\n") + 1)
        return
    try:
        apply_config(TestSettings(), config, model="m", scenario=scenario)
    except ConfigError as err:
        assert err.path == "p.conf"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_config_error(data: bytes) -> None:
    text = data.decode("utf-8", errors="surrogateescape")
    try:
        parse_config(text, path="b.conf", conf_type=ConfType.USER)
    except ConfigError as err:
        assert err.path == "b.conf" and isinstance(err.line, int)


# --------------------------------------------------------------------------------------------
# Against the official LoadGen
# --------------------------------------------------------------------------------------------

try:
    import mlperf_loadgen as lg
except ImportError:  # the official package is optional
    lg = None

needs_official = pytest.mark.skipif(lg is None, reason="mlperf_loadgen is not installed")


def official_fields(settings_obj: Any) -> dict[str, Any]:
    return {
        name: getattr(settings_obj, name)
        for name in TestSettings.field_names()
        if name != "sample_timeout_ms"
    }


def ours_as_official(s: TestSettings) -> dict[str, Any]:
    out = {}
    for name in TestSettings.field_names():
        if name == "sample_timeout_ms":
            continue
        value = getattr(s, name)
        if name in ("scenario", "mode"):
            value = value.value
        out[name] = value
    return out


def normalise_official(d: dict[str, Any]) -> dict[str, Any]:
    out = dict(d)
    out["scenario"] = str(d["scenario"]).split(".")[-1]
    out["mode"] = str(d["mode"]).split(".")[-1]
    for name in ("single_stream_expected_latency_ns", "multi_stream_expected_latency_ns"):
        out[name] = round(d[name])
    return out


def builtin_models() -> list[str]:
    models = set()
    for line in builtin_mlperf_conf_text().splitlines():
        match = re.match(r"(\S+)\.(?:\*|SingleStream|MultiStream|Server|Offline)\.\S+ = ", line)
        if match and match.group(1) != "*":
            models.add(match.group(1))
    return sorted(models) + ["unknown-model"]


@pytest.mark.official
@needs_official
def test_builtin_matches_the_official_compiled_in_conf() -> None:
    assert lg is not None
    for model in builtin_models():
        for scenario in ("SingleStream", "MultiStream", "Server", "Offline"):
            official = lg.TestSettings()
            official.token_latency_scaling_factor = 1  # uninitialised in C++
            # conf_type 0 reads the compiled-in mlperf.conf (the path is ignored)
            assert official.FromConfig("", model, scenario, 0) == 0
            base = TestSettings()
            ours = apply_config(
                base,
                parse_config(builtin_mlperf_conf_text(), conf_type=ConfType.MLPERF),
                model=model,
                scenario=scenario,
            )[0]
            expected = normalise_official(official_fields(official))
            got = ours_as_official(ours)
            assert got == expected, (model, scenario)


DIFF_VALUES = st.sampled_from(
    ["0", "1", "2", "3", "7", "010", "0x10", "2.5", "99.9", "97", "50", "0.5", "1e3", "-1",
     "600000", "15", "1.0", "+4", "abc", "5ms", "#", "inf", "08", "1", "1"]
)  # fmt: skip
DIFF_LINE = st.one_of(
    st.builds(
        lambda m, s, k, v, eq: f"{m}.{s}.{k}{eq}{v}",
        st.sampled_from(["*", "m", "x"]),
        st.sampled_from(["*", "SingleStream", "MultiStream", "Server", "Offline"]),
        st.sampled_from([k for k in KEYS if k not in ("qsl_rng_seed", "bogus")]),
        DIFF_VALUES,
        st.sampled_from([" = ", " = ", " = ", "=", " =", " = 1 # "]),
    ),
    st.sampled_from(["", "# c", "#c"]),
)


@pytest.mark.official
@needs_official
@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(DIFF_LINE, max_size=5),
    scenario=st.sampled_from(["SingleStream", "MultiStream", "Server", "Offline"]),
)
def test_never_accept_what_the_official_rejects_nor_read_it_differently(
    lines: list[str], scenario: str
) -> None:
    assert lg is not None
    text = "\n".join(lines) + "\n"
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as handle:
        handle.write(text)
    try:
        official = lg.TestSettings()
        official.token_latency_scaling_factor = 1
        rc = official.FromConfig(handle.name, "m", scenario, 2)
    finally:
        os.unlink(handle.name)
    try:
        config = parse_config(text, conf_type=ConfType.USER)
        ours, _ = apply_config(TestSettings(), config, model="m", scenario=scenario)
    except ConfigError:
        return  # we may be stricter
    assert rc == 0, text
    expected = normalise_official(official_fields(official))
    assert ours_as_official(ours) == expected, text


@needs_official
def test_official_field_names_match() -> None:
    assert lg is not None
    official = lg.TestSettings()
    names = {
        n for n in dir(official) if not n.startswith("_") and not callable(getattr(official, n))
    }
    ours = set(TestSettings.field_names()) - {"sample_timeout_ms"}
    # the binding spells the C++ server_ttft_latency/server_tpot_latency as ttft/tpot_latency
    assert {"ttft_latency", "tpot_latency"} <= names
    assert ours == names


def test_math_sanity_of_percent() -> None:
    assert math.isclose(
        get("*.*.target_latency_percentile = 90", "server_target_latency_percentile"), 0.9
    )
