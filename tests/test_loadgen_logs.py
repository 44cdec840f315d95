import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mlpace.loadgen import enums
from mlpace.loadgen.effective import effective_settings
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.logs import AccuracyLog, DetailLog, LogSession, format_summary
from mlpace.loadgen.logs.formatting import json_value
from mlpace.loadgen.raw import RawRun
from mlpace.loadgen.results import compute_result
from mlpace.loadgen.settings import TestSettings

KEY_ORDER = ["key", "value", "time_ms", "namespace", "event_type", "metadata"]
META_ORDER = ["is_error", "is_warning", "file", "line_no", "pid", "tid"]


def parse_detail(path: Path) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for line in path.read_text().splitlines():
        assert line.startswith(":::MLLOG ")
        obj = json.loads(line[len(":::MLLOG ") :])
        assert list(obj) == KEY_ORDER and list(obj["metadata"]) == META_ORDER
        out.append(obj)
    return out


def test_detail_line_format(tmp_path: Path) -> None:
    ticks = iter([1_000, 1_000, 2_500_123_456, 3_000_000])
    log = DetailLog(tmp_path / "d.txt", now_ns=lambda: next(ticks), pid=42)
    log.event("effective_target_qps", 83.5)
    log.event("effective_qsl_rng_seed", 2**64 - 1)
    log.event("error_runtime", "bad", is_error=True)
    text = (tmp_path / "d.txt").read_text()  # flushed per line, before close
    first = text.splitlines()[0]
    assert first.startswith(
        ':::MLLOG {"key": "effective_target_qps", "value": 83.5, "time_ms": 0.000000, '
        '"namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": '
        '{"is_error": false, "is_warning": false, "file": "mlpace", "line_no": 0, "pid": 42, "tid": '  # noqa: E501
    )
    assert '"value": 18446744073709551615, "time_ms": 2500.122456' in text.splitlines()[1]
    assert log.error_count == 1 and log.warning_count == 0
    log.close()
    log.close()
    parsed = parse_detail(tmp_path / "d.txt")
    assert parsed[2]["metadata"]["is_error"] is True


def test_json_values_stay_valid_json() -> None:
    assert json_value(float("inf")) == '"inf"' and json_value(float("nan")) == '"nan"'
    assert json_value(1e6) == "1e+06" and json_value(2961660.0) == "2.96166e+06"
    assert json_value([1, 2, 3]) == "[1,2,3]" and json_value({"a": "b"}) == '{"a":"b"}'
    assert json_value(True) == "true" and json_value('q"\n') == '"q\\"\\n"'


def test_accuracy_log_format_and_crash(tmp_path: Path) -> None:
    empty = AccuracyLog(tmp_path / "e.json")
    empty.close()
    empty.close()
    assert (tmp_path / "e.json").read_text() == "[\n]\n"
    log = AccuracyLog(tmp_path / "a.json")
    log.add(0, 27, b"\x01\x02\xab\xcd")
    log.add(1, 20, b"\xff", token_data=b"\x0a", token_count=18)
    log.flush()  # what a batch flush leaves behind if the process dies now
    crashed = (tmp_path / "a.json").read_text()
    assert json.loads(crashed + "\n]\n")[1]["token_count"] == 18
    log.close()
    assert (tmp_path / "a.json").read_text() == (
        '[\n{ "seq_id" : 0, "qsl_idx" : 27, "data" : "0102ABCD" },\n'
        '{ "seq_id" : 1, "qsl_idx" : 20, "data" : "FF", "token_data" : "0A", "token_count" : 18 }'
        "\n]\n"
    )


def ss_raw(n: int = 700) -> RawRun:
    issued = np.arange(n, dtype=np.int64) * 1_000_000
    return RawRun(
        scenario=enums.TestScenario.SingleStream,
        mode=enums.TestMode.PerformanceOnly,
        sample_index=np.zeros(n, np.int64),
        query_of_sample=np.arange(n, dtype=np.int64),
        scheduled_ns=issued,
        issued_ns=issued,
        completed_ns=issued + 5000 + np.arange(n),
        first_token_ns=np.full(n, -1, np.int64),
        n_tokens=np.zeros(n, np.int64),
        query_scheduled_ns=issued,
        query_issued_ns=issued,
        start_wall_ns=1_700_000_000_123_000_000,
        end_wall_ns=1_700_000_001_000_000_000,
    )


def test_session_writes_four_files_in_official_order(tmp_path: Path) -> None:
    settings = TestSettings(min_duration_ms=100, min_query_count=100)
    eff = effective_settings(settings, total_sample_count=50, performance_sample_count=20)
    ls = LogSettings(LogOutputSettings(outdir=str(tmp_path / "out")))
    session = LogSession(ls, now_ns=lambda: 0, wall_ns=lambda: 1_700_000_000_000_000_000)
    try:
        session.header("PySUT", "PyQSL", 50, 20)
        session.settings(settings, eff)
        session.message("Starting performance mode")
        raw = ss_raw()
        result = compute_result(raw, eff)
        text = session.finish(raw, result, eff, sut_name="PySUT")
    finally:
        session.close()
    session.close()
    keys = [o["key"] for o in parse_detail(session.paths["detail"])]
    assert keys[:3] == ["loadgen_version", "test_datetime", "sut_name"]
    assert keys.index("requested_scenario") < keys.index("effective_scenario")
    tail = keys[keys.index("power_end") + 1 :]
    assert tail[:9] == [
        "result_validity",
        "result_min_duration_met",
        "result_min_queries_met",
        "early_stopping_met",
        "early_stopping_result",
        "result_query_count",
        "result_qps_with_loadgen_overhead",
        "result_qps_without_loadgen_overhead",
        "early_stopping_latency_ss",
    ]
    assert tail.index("num_errors") < tail.index("mlpace_issue_lag_p99_ns")
    assert session.paths["summary"].read_text() == text
    assert session.paths["accuracy"].read_text() == "[\n]\n"
    trace = json.loads(session.paths["trace"].read_text())
    assert trace["traceEvents"][-1] == {"name": "LastTrace"}
    assert trace["otherData"]["sample_events_written"] == 700
    lines = text.splitlines()
    assert lines[:7] == [
        "================================================",
        "MLPerf Results Summary",
        "================================================",
        "SUT name : PySUT",
        "Scenario : SingleStream",
        "Mode     : PerformanceOnly",
        f"90.0th percentile latency (ns) : {result.latency.target_ns}",
    ]
    assert "Result is : VALID" in lines and "  Early stopping satisfied: Yes" in lines
    assert " * Early stopping 99.0th percentile estimate: 5699" in lines
    assert "No errors encountered during test." in lines
    assert lines.index("No errors encountered during test.") < lines.index("Issue lag p99 (ns) : 0")


def test_accuracy_summary_is_only_the_trailer() -> None:
    eff = effective_settings(TestSettings(), total_sample_count=50, performance_sample_count=20)
    import dataclasses

    raw = dataclasses.replace(ss_raw(10), mode=enums.TestMode.AccuracyOnly)
    text = format_summary(compute_result(raw, eff), eff, sut_name="x", warnings=2, errors=1)
    assert (
        text
        == "\n2 warnings encountered. See detailed log.\n\n1 ERROR encountered. See detailed log.\n"
    )


OFFICIAL = textwrap.dedent(
    """
    import array, sys, mlperf_loadgen as lg
    buf = array.array("B", b"\\x01"); addr, n = buf.buffer_info()
    def issue(qs): lg.QuerySamplesComplete([lg.QuerySampleResponse(q.id, addr, n) for q in qs])
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(50, 20, lambda s: None, lambda s: None)
    ts = lg.TestSettings(); ts.min_duration_ms = 50; ts.min_query_count = 700
    ts.single_stream_expected_latency_ns = 10000
    ls = lg.LogSettings(); ls.log_output.outdir = sys.argv[1]; ls.enable_trace = False
    lg.StartTestWithLogSettings(sut, qsl, ts, ls, "")
    """
)


@pytest.mark.official
def test_summary_layout_matches_official(tmp_path: Path) -> None:
    pytest.importorskip("mlperf_loadgen")
    subprocess.run(
        [sys.executable, "-c", OFFICIAL, str(tmp_path)], check=True, timeout=60, capture_output=True
    )
    official = (tmp_path / "mlperf_log_summary.txt").read_text().splitlines()
    eff = effective_settings(
        TestSettings(
            min_duration_ms=50, min_query_count=700, single_stream_expected_latency_ns=10000
        ),
        total_sample_count=50,
        performance_sample_count=20,
    )
    ours = format_summary(
        compute_result(ss_raw(), eff), eff, sut_name="PySUT", warnings=0, errors=0
    )
    ours_lines = ours.splitlines()[
        : ours.splitlines().index("No errors encountered during test.") + 1
    ]

    def layout(lines: list[str]) -> list[str]:
        # labels only: drop values after the last ':' and count lines, ignore the trailer counts
        return [
            ln.rsplit(":", 1)[0] if ":" in ln else ln for ln in lines if "encountered" not in ln
        ]

    def strip_es(lines: list[str]) -> list[str]:
        es_line = [ln.startswith(" ") and not ln.startswith("  ") for ln in lines]
        return [ln for ln, es in zip(lines, es_line) if not es and ln != "Recommendations"]

    assert strip_es(layout(ours_lines)) == strip_es(layout(official))
