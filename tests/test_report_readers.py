"""The report's readers on real log sets: the official LoadGen's and mlpace's own."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import mlpace.loadgen as mlg
from mlpace.clock import VirtualClock
from mlpace.loadgen import LogOutputSettings, LogSettings, NullQSL
from mlpace.report.html import build_html, write_report
from mlpace.report.logs import LogReadError, read_accuracy, read_detail, read_summary
from mlpace.report.record import RunRecorder
from mlpace.report.run import find_runs, read_run, read_runs
from mlpace.report.samples import SAMPLES_FILE, read_samples_npz, read_trace

PLOT_IDS = ("cdf", "latency", "qps", "lag")


def _official_run(out: Path, scenario: str, *, trace: bool = True) -> Path:
    """A real log set from the installed official LoadGen binding (a null SUT)."""
    lg = pytest.importorskip("mlperf_loadgen", reason="the official LoadGen binding is absent")

    def issue(samples: list[object]) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(256, 256, lambda _x: None, lambda _x: None)
    ts = lg.TestSettings()
    ts.scenario = getattr(lg.TestScenario, scenario)
    ts.mode = lg.TestMode.PerformanceOnly
    ts.min_duration_ms = 200
    ts.min_query_count = 100
    ts.server_target_qps = 1000
    ts.single_stream_expected_latency_ns = 200_000
    ts.offline_expected_qps = 2000
    ls = lg.LogSettings()
    ls.log_output.outdir = str(out)
    ls.enable_trace = trace
    out.mkdir(parents=True, exist_ok=True)
    try:
        lg.StartTestWithLogSettings(sut, qsl, ts, ls)
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    return out


def _mlpace_run(out: Path, scenario: mlg.TestScenario, service_ns: int = 20_000) -> object:
    """An mlpace run on virtual time (exact, no sleeping) with a simulated SUT."""
    from mlpace.loadgen import SimulatedSUT, run_test

    clock = VirtualClock()
    sut = SimulatedSUT(clock, ("exponential", service_ns), seed=3)
    settings = mlg.TestSettings(
        scenario=scenario,
        mode=mlg.TestMode.PerformanceOnly,
        min_duration_ms=300,
        min_query_count=200,
        server_target_qps=2000,
        single_stream_expected_latency_ns=service_ns,
        offline_expected_qps=20_000,
    )
    log = LogSettings(LogOutputSettings(outdir=str(out)))
    out.mkdir(parents=True, exist_ok=True)
    return run_test(sut, NullQSL(256), settings, log, clock=clock)


@pytest.mark.official
@pytest.mark.parametrize("scenario", ["Server", "SingleStream", "Offline"])
def test_official_log_set_reads_back_consistently(tmp_path: Path, scenario: str) -> None:
    folder = _official_run(tmp_path / scenario, scenario)
    run = read_run(folder)
    assert run.is_official_loadgen and run.generator.startswith("6.")
    assert run.scenario == scenario and run.mode == "PerformanceOnly"
    assert run.samples is not None and run.samples.complete
    detail = read_detail(folder / "mlperf_log_detail.txt")
    # the trace's samples are exactly the run's samples, and their latencies give the logged
    # percentiles (the official definition, sorted[floor(n p)])
    samples_logged = int(detail.get("result_query_count"))
    if scenario == "Offline":
        samples_logged = int(detail.get("effective_samples_per_query"))
    assert run.samples.count == samples_logged
    lat = np.sort(run.samples.latency_ns)
    for label, p in (("50.00", 0.5), ("90.00", 0.9), ("99.00", 0.99)):
        logged = int(detail.get(f"result_{label}_percentile_latency_ns"))
        assert int(lat[int(lat.size * p)]) == logged
    names = [c.name for c in run.checks]
    assert names[-3:] == ["min_duration", "min_queries", "early_stopping"]
    assert ("perf_constraints" in names) == (scenario == "Server")
    for c in run.checks:
        assert c.passed is not None and c.observed and c.required
        assert bool(c.advice) == (not c.passed)
    assert run.validity == detail.get("result_validity")


@pytest.mark.official
def test_report_of_official_runs_has_every_plot(tmp_path: Path) -> None:
    for sc in ("Server", "SingleStream"):
        _official_run(tmp_path / "official" / sc, sc)
    runs = read_runs([tmp_path / "official"])
    assert sorted(r.scenario for r in runs) == ["Server", "SingleStream"]
    page = build_html(runs)
    for sc in ("Server", "SingleStream"):
        for plot in PLOT_IDS:
            m = re.search(rf'<svg class="plot" id="{plot}-{sc}".*?</svg>', page, re.S)
            assert m is not None, (plot, sc)
            assert re.search(r'<path class="series" d="M[\d.]+ [\d.]+ L', m.group(0)), (plot, sc)
    # nothing is fetched at view time: no external script, style, image or font
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)
    assert "<link" not in page and "@import" not in page


@pytest.mark.official
def test_official_run_without_trace_degrades_with_a_note(tmp_path: Path) -> None:
    folder = _official_run(tmp_path / "notrace", "Server", trace=False)
    run = read_run(folder)
    assert run.samples is None
    assert "no per-query timing" in run.samples_note
    page = build_html([run])
    assert "no per-query timing" in page
    assert 'class="plot"' not in page
    # the percentiles still come from the detail log
    assert "Latency percentiles" in page


def test_mlpace_samples_file_agrees_with_the_trace_and_the_result(tmp_path: Path) -> None:
    outcome = _mlpace_run(tmp_path, mlg.TestScenario.Server)
    perf = outcome.performance
    recorder = RunRecorder(history=None)
    recorder.pass_done(outcome, tmp_path)
    npz = read_samples_npz(tmp_path / SAMPLES_FILE)
    trace = read_trace(tmp_path / "mlperf_log_trace.json")
    assert npz.count == trace.count == perf.raw.issued_sample_count
    assert np.array_equal(npz.latency_ns, trace.latency_ns)
    assert np.array_equal(npz.issue_lag_ns, trace.issue_lag_ns)
    lat = np.sort(npz.latency_ns)
    assert int(lat[int(lat.size * 0.99)]) == perf.result.latency.at(0.99)
    run = read_run(tmp_path)
    assert run.samples_note.startswith("every sample, from mlpace_samples.npz")
    assert run.primary_metric()[1] == pytest.approx(perf.result.primary_metric_value, rel=1e-5)


def test_capped_trace_is_marked_incomplete(tmp_path: Path) -> None:
    outcome = _mlpace_run(tmp_path, mlg.TestScenario.SingleStream)
    total = outcome.performance.raw.issued_sample_count  # type: ignore[attr-defined]
    lines = (tmp_path / "mlperf_log_trace.json").read_text().splitlines()
    kept = [ln for ln in lines if '"ph":"b"' in ln][:50]
    # what mlpace's writer says when it stops at its cap
    capped = (
        '{"traceEvents":[\n' + "\n".join(kept) + '\n{"name":"LastTrace"}\n],\n'
        '"displayTimeUnit":"ns",\n"otherData":{\n"ts":0.000,\n"version":"MLPerf LoadGen v1.0",\n'
        f'"generator":"mlpace",\n"sample_events_written":50,\n"sample_count":{total}\n}}\n}}\n'
    )
    path = tmp_path / "capped_trace.json"
    path.write_text(capped)
    s = read_trace(path)
    assert s.count == 50 and not s.complete and s.total_samples == total
    full = read_trace(tmp_path / "mlperf_log_trace.json")
    assert full.complete and full.count == total


def test_detail_log_quirks_of_the_official_writer(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_detail.txt"
    meta = '"metadata": {"is_error": false, "is_warning": false, "file": "x", "line_no": 1}}'
    lines = [
        f':::MLLOG {{"key": "effective_scenario", "value": "Server", "time_ms": 0.1, {meta}',
        # bare non-finite doubles are not JSON
        f':::MLLOG {{"key": "result_token_throughput", "value": inf, "time_ms": 0.2, {meta}',
        # an unescaped quote inside a string value
        f':::MLLOG {{"key": "generic_message", "value": "a "quoted" word", "time_ms": 0.3, {meta}',
        ':::MLLOG {"key": "result_validity", "value": "VAL',  # cut short by a crash
    ]
    path.write_text("\n".join(lines))
    d = read_detail(path)
    assert d.get("effective_scenario") == "Server"
    assert d.get("result_token_throughput") == "inf"
    assert d.get("generic_message") == 'a "quoted" word'
    assert d.get("result_validity") is None
    assert d.notes == (
        "mlperf_log_detail.txt:4: line skipped, cut short (the run ended abruptly?)",
    )


def test_accuracy_log_without_footer_and_summary_recommendations(tmp_path: Path) -> None:
    acc = tmp_path / "mlperf_log_accuracy.json"
    acc.write_text(
        '[\n{ "seq_id" : 0, "qsl_idx" : 5, "data" : "0A0B" },\n'
        '{ "seq_id" : 1, "qsl_idx" : 5, "data" : "0C", "token_count" : 7 }'
    )
    a = read_accuracy(acc)
    assert (a.entries, a.distinct_samples, a.closed, a.token_count, a.bytes_logged) == (
        2, 1, False, 7, 3,
    )  # fmt: skip
    summary = tmp_path / "s.txt"
    summary.write_text(
        "Result is : INVALID\nRecommendations:\n * The test exited early, before enough "
        "queries were issued.\n   See the detailed log for why this may have occurred.\n"
        "Early Stopping Result:\n"
    )
    s = read_summary(summary)
    assert s.get("Result is") == "INVALID"
    assert s.recommendations == (
        "The test exited early, before enough queries were issued. See the detailed log for "
        "why this may have occurred.",
    )


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(LogReadError, match="no such file or folder"):
        read_runs([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(LogReadError, match="no LoadGen detail log"):
        read_runs([tmp_path / "empty"])
    bogus = tmp_path / "bogus" / "mlperf_log_detail.txt"
    bogus.parent.mkdir()
    bogus.write_text("hello\n")
    assert find_runs(bogus.parent) == []
    with pytest.raises(LogReadError, match="no ':::MLLOG' records"):
        read_detail(bogus)
    npz = tmp_path / "run" / SAMPLES_FILE
    _mlpace_run(tmp_path / "run", mlg.TestScenario.SingleStream)
    npz.write_bytes(b"not a zip")
    run = read_run(tmp_path / "run")  # falls back to the trace, with a note
    assert run.samples is not None and run.samples.source == "mlperf_log_trace.json"
    assert any("not a readable per-sample file" in n for n in run.notes)


def test_report_overlays_runs_and_tells_them_apart(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _mlpace_run(tmp_path / name / "Server", mlg.TestScenario.Server)
    _mlpace_run(tmp_path / "a" / "Offline", mlg.TestScenario.Offline)
    runs = read_runs([tmp_path / "a", tmp_path / "b"])
    out = write_report(runs, tmp_path / "r.html")
    page = out.read_text()
    server = page[page.index('id="scenario-Server"') : page.index('id="scenario-Offline"')]
    cdf = re.search(r'<svg class="plot" id="cdf-Server".*?</svg>', server, re.S)
    assert cdf is not None and cdf.group(0).count('class="series"') == 2
    labels = re.findall(r'data-name="([^"]+)"', cdf.group(0))
    assert len(set(labels)) == 2  # the two runs' labels stay distinct
