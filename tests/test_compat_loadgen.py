"""The drop-in ``mlperf_loadgen`` facade: a harness in the official style runs unchanged.

The same harness function runs under ``mlpace.compat.loadgen`` and, when it is installed, under
the official binding (``@pytest.mark.official``); the two are compared on query counts,
validity and the names of the summary fields.
"""

from __future__ import annotations

import array
import errno
import json
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import mlpace.compat.loadgen as mlg

SCENARIOS = ["SingleStream", "MultiStream", "Server", "Offline"]
MODES = ["PerformanceOnly", "AccuracyOnly"]
QSL_TOTAL = 64


def _official() -> ModuleType:
    return pytest.importorskip("mlperf_loadgen")


def _payload_for(index: int) -> bytes:
    return bytes([index & 0xFF, (index * 7) & 0xFF, 0xAB, 0xCD])


def run_harness(
    lg: Any,
    outdir: Path,
    scenario: str,
    mode: str,
    *,
    enable_trace: bool = False,
    reuse_buffer: bool = False,
    worker: bool = False,
) -> dict[str, Any]:
    """A null SUT written exactly as one writes it for the official binding."""
    issued: list[int] = []
    lock = threading.Lock()
    shared = array.array("B", bytes(4))  # one buffer reused for every response
    keep: list[array.array[int]] = []
    pending: list[Any] = []
    cond = threading.Condition()
    stop = False

    def respond(samples: list[Any]) -> None:
        if reuse_buffer:
            addr, n = shared.buffer_info()
            for s in samples:
                shared[:] = array.array("B", _payload_for(s.index))
                lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, addr, n)])
                # Overwrite at once: the logged bytes must still be the original ones.
                shared[:] = array.array("B", b"\xee" * n)
            return
        responses = []
        for s in samples:
            buf = array.array("B", _payload_for(s.index))
            keep.append(buf)  # alive until QuerySamplesComplete returns
            addr, n = buf.buffer_info()
            responses.append(lg.QuerySampleResponse(s.id, addr, n))
        lg.QuerySamplesComplete(responses)
        keep.clear()

    def issue(samples: list[Any]) -> None:
        with lock:
            issued.extend(s.index for s in samples)
        if worker:
            with cond:
                pending.extend(samples)
                cond.notify()
        else:
            respond(samples)

    def work() -> None:
        if delay_s:
            time.sleep(delay_s)
        while True:
            with cond:
                while not pending and not stop:
                    cond.wait()
                if not pending and stop:
                    return
                batch = pending[:]
                pending.clear()
            respond(batch)

    # Offline is VALID only if its query takes min_duration: a null SUT answers after a pause.
    # (The worker thread lives until the test is over: the official LoadGen segfaults when a
    # thread that completed many samples exits during the test.)
    delay_s = 0.12 if scenario == "Offline" and mode == "PerformanceOnly" else 0.0
    worker = worker or delay_s > 0
    thread = threading.Thread(target=work, daemon=True) if worker else None
    if thread is not None:
        thread.start()

    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, scenario)
    settings.mode = getattr(lg.TestMode, mode)
    settings.min_duration_ms = 100
    settings.min_query_count = 100
    settings.single_stream_expected_latency_ns = 2_000
    settings.multi_stream_expected_latency_ns = 8_000
    settings.server_target_qps = 8_000
    settings.server_target_latency_ns = 50_000_000
    settings.offline_expected_qps = 10_000
    settings.token_latency_scaling_factor = 1

    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    log_settings.enable_trace = enable_trace

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(QSL_TOTAL, QSL_TOTAL, lambda idx: None, lambda idx: None)
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
        if thread is not None:
            with cond:
                stop = True
                cond.notify()
            thread.join(5)
    return {"issued": issued}


def run_official(outdir: Path, scenario: str, mode: str, **kwargs: Any) -> dict[str, Any]:
    """``run_harness`` under the official binding, in a child process: it keeps global state
    and can take the whole process down (see the worker-thread note above)."""
    _official()
    code = (
        "import json, sys; from pathlib import Path; "
        f"sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "import mlperf_loadgen as lg; import test_compat_loadgen as t; "
        f"out = t.run_harness(lg, Path({str(outdir)!r}), {scenario!r}, {mode!r}, **{kwargs!r}); "
        "print('RESULT ' + json.dumps(out))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    pytest.fail(f"official harness failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")


def read_summary(outdir: Path) -> dict[str, str]:
    """``key : value`` fields of the official part of the summary (mlpace appends its own
    clearly marked section after it, which is left out here)."""
    fields: dict[str, str] = {}
    text = (outdir / "mlperf_log_summary.txt").read_text()
    text = text.split("mlpace Additional Stats")[0]
    for line in text.splitlines():
        if ":" in line and not line.startswith("="):
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    return fields


def read_detail(outdir: Path) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for line in (outdir / "mlperf_log_detail.txt").read_text().splitlines():
        if line.startswith(":::MLLOG "):
            try:
                obj = json.loads(line[len(":::MLLOG ") :])
            except json.JSONDecodeError:
                continue
            items.setdefault(obj["key"], obj["value"])
    return items


def read_accuracy(outdir: Path) -> list[dict[str, Any]]:
    entries = json.loads((outdir / "mlperf_log_accuracy.json").read_text())
    assert isinstance(entries, list)
    return entries


def _check_run(
    lg: Any, outdir: Path, scenario: str, mode: str, issued: list[int]
) -> dict[str, Any]:
    for kind in ("summary", "detail", "accuracy"):
        ext = "txt" if kind in ("summary", "detail") else "json"
        assert (outdir / f"mlperf_log_{kind}.{ext}").exists(), kind
    summary = read_summary(outdir)
    detail = read_detail(outdir)
    accuracy = read_accuracy(outdir)
    if mode == "PerformanceOnly":
        assert summary["Result is"] == "VALID", (outdir / "mlperf_log_summary.txt").read_text()
        assert summary["Scenario"] == scenario
        assert summary["SUT name"] == "PySUT"
        if scenario == "Offline":
            assert int(detail["result_query_count"]) == 1
            assert int(detail["effective_samples_per_query"]) >= 1000
        else:
            assert int(detail["result_query_count"]) >= 100
        assert accuracy == []
    else:
        # Accuracy mode: every sample of the QSL exactly once, with its payload.
        assert sorted(issued) == list(range(QSL_TOTAL))
        assert len(accuracy) == QSL_TOTAL
        for entry in accuracy:
            assert bytes.fromhex(entry["data"]) == _payload_for(int(entry["qsl_idx"]))
    return {"summary": summary, "detail": detail, "accuracy": accuracy}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_official_style_harness_runs_under_mlpace(tmp_path: Path, scenario: str, mode: str) -> None:
    out = run_harness(mlg, tmp_path, scenario, mode)
    _check_run(mlg, tmp_path, scenario, mode, out["issued"])


@pytest.mark.official
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_harness_matches_official(tmp_path: Path, scenario: str, mode: str) -> None:
    official = _official()
    results = {}
    for name, lg in (("official", official), ("mlpace", mlg)):
        outdir = tmp_path / name
        outdir.mkdir()
        if name == "official":
            out = run_official(outdir, scenario, mode)
        else:
            out = run_harness(lg, outdir, scenario, mode)
        results[name] = _check_run(lg, outdir, scenario, mode, out["issued"])
    ours, theirs = results["mlpace"], results["official"]
    assert set(ours["summary"]) == set(theirs["summary"])
    if mode == "PerformanceOnly":
        assert ours["summary"]["Result is"] == theirs["summary"]["Result is"]
        q_ours = int(ours["detail"]["result_query_count"])
        q_theirs = int(theirs["detail"]["result_query_count"])
        if scenario == "Offline":
            assert q_ours == q_theirs
        elif scenario == "Server":
            # Same rate and duration: the Poisson schedules give similar counts.
            assert abs(q_ours - q_theirs) <= 0.2 * q_theirs
        for key in ("effective_samples_per_query", "effective_min_query_count"):
            assert ours["detail"][key] == theirs["detail"][key], key
    else:
        assert len(ours["accuracy"]) == len(theirs["accuracy"])


@pytest.mark.parametrize("which", ["mlpace", pytest.param("official", marks=pytest.mark.official)])
def test_payload_is_copied_before_complete_returns(tmp_path: Path, which: str) -> None:
    if which == "mlpace":
        out = run_harness(mlg, tmp_path, "Offline", "AccuracyOnly", reuse_buffer=True)
    else:
        out = run_official(tmp_path, "Offline", "AccuracyOnly", reuse_buffer=True)
    entries = read_accuracy(tmp_path)
    assert len(entries) == QSL_TOTAL == len(out["issued"])
    for entry in entries:
        assert bytes.fromhex(entry["data"]) == _payload_for(int(entry["qsl_idx"]))


def test_worker_thread_completion_and_trace(tmp_path: Path) -> None:
    out = run_harness(mlg, tmp_path, "Server", "PerformanceOnly", worker=True, enable_trace=True)
    _check_run(mlg, tmp_path, "Server", "PerformanceOnly", out["issued"])
    assert (tmp_path / "mlperf_log_trace.json").exists()


def test_buffers_of_every_kind_are_accepted(tmp_path: Path) -> None:
    payloads = {
        "bytes": lambda b: b,
        "bytearray": bytearray,
        "memoryview": lambda b: memoryview(bytearray(b)),
        "numpy": lambda b: np.frombuffer(b, dtype=np.uint8).copy(),
    }
    kinds = list(payloads)

    def issue(samples: list[Any]) -> None:
        responses = []
        for s in samples:
            make: Callable[[bytes], Any] = payloads[kinds[s.index % len(kinds)]]
            responses.append(mlg.QuerySampleResponse(s.id, make(_payload_for(s.index))))
        mlg.QuerySamplesComplete(responses)

    settings = mlg.TestSettings()
    settings.scenario = mlg.TestScenario.Offline
    settings.mode = mlg.TestMode.AccuracyOnly
    log_settings = mlg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)
    log_settings.enable_trace = False
    sut = mlg.ConstructSUT(issue, lambda: None)
    qsl = mlg.ConstructQSL(QSL_TOTAL, QSL_TOTAL, lambda i: None, lambda i: None)
    mlg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    mlg.DestroySUT(sut)
    mlg.DestroyQSL(qsl)
    entries = read_accuracy(tmp_path)
    assert len(entries) == QSL_TOTAL
    for entry in entries:
        assert bytes.fromhex(entry["data"]) == _payload_for(int(entry["qsl_idx"]))


def test_response_cb_sees_logged_responses_before_the_copy(tmp_path: Path) -> None:
    seen: list[int] = []
    buffers: dict[int, array.array[int]] = {}

    def on_response(r: Any) -> None:
        # The harness may still fill the buffer here; the copy happens afterwards.
        seen.append(r.id)
        buffers[r.id][0] = 0x42

    def issue(samples: list[Any]) -> None:
        responses = []
        for s in samples:
            buf = array.array("B", _payload_for(s.index))
            buffers[s.id] = buf
            addr, n = buf.buffer_info()
            responses.append(mlg.QuerySampleResponse(s.id, addr, n))
        mlg.QuerySamplesComplete(responses, on_response)

    settings = mlg.TestSettings()
    settings.scenario = mlg.TestScenario.Offline
    settings.mode = mlg.TestMode.AccuracyOnly
    log_settings = mlg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)
    log_settings.enable_trace = False
    sut = mlg.ConstructSUT(issue, lambda: None)
    qsl = mlg.ConstructQSL(QSL_TOTAL, QSL_TOTAL, lambda i: None, lambda i: None)
    mlg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    assert len(seen) == QSL_TOTAL
    for entry in read_accuracy(tmp_path):
        assert bytes.fromhex(entry["data"])[0] == 0x42


def test_fast_sut_gets_parallel_id_and_index_lists(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []

    def fast_issue(ids: list[int], indices: list[int]) -> None:
        assert isinstance(ids, list) and isinstance(indices, list)
        assert len(ids) == len(indices)
        calls.append((len(ids), len(set(ids))))
        mlg.QuerySamplesComplete([mlg.QuerySampleResponse(i, 0, 0) for i in ids])

    settings = mlg.TestSettings()
    settings.scenario = mlg.TestScenario.Offline
    settings.min_duration_ms = 50
    settings.min_query_count = 1
    settings.offline_expected_qps = 2000
    log_settings = mlg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)
    log_settings.enable_trace = False
    sut = mlg.ConstructFastSUT(fast_issue, lambda: None)
    qsl = mlg.ConstructQSL(QSL_TOTAL, QSL_TOTAL, lambda i: None, lambda i: None)
    mlg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    mlg.DestroyFastSUT(sut)
    mlg.DestroyQSL(qsl)
    assert calls and calls[0][0] == calls[0][1] >= 100
    summary = read_summary(tmp_path)
    assert summary["SUT name"] == "PyFastSUT"


def test_qdl_name_comes_from_the_callback(tmp_path: Path) -> None:
    def issue(samples: list[Any]) -> None:
        mlg.QuerySamplesComplete([mlg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    settings = mlg.TestSettings()
    settings.scenario = mlg.TestScenario.Offline
    settings.min_duration_ms = 50
    settings.offline_expected_qps = 2000
    log_settings = mlg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)
    log_settings.enable_trace = False
    qdl = mlg.ConstructQDL(issue, lambda: None, lambda: "My Network SUT")
    qsl = mlg.ConstructQSL(QSL_TOTAL, QSL_TOTAL, lambda i: None, lambda i: None)
    mlg.StartTestWithLogSettings(qdl, qsl, settings, log_settings)
    mlg.DestroyQDL(qdl)
    mlg.DestroyQSL(qsl)
    assert read_summary(tmp_path)["SUT name"] == "My Network SUT"


# ----------------------------------------------------------------------------------------------
# Value types
# ----------------------------------------------------------------------------------------------


def test_query_sample_and_response_pickle_round_trip() -> None:
    q = pickle.loads(pickle.dumps(mlg.QuerySample(5, 7)))
    assert (q.id, q.index) == (5, 7)
    assert (mlg.QuerySample().id, mlg.QuerySample().index) == (0, 0)
    r = pickle.loads(pickle.dumps(mlg.QuerySampleResponse(3, 1234, 16, 9)))
    assert (r.id, r.data, r.size, r.n_tokens) == (3, 1234, 16, 9)
    r2 = pickle.loads(pickle.dumps(mlg.QuerySampleResponse(4, bytearray(b"abc"))))
    assert (r2.id, bytes(r2.data), r2.size, r2.n_tokens) == (4, b"abc", 3, 0)
    empty = mlg.QuerySampleResponse()
    assert (empty.id, empty.data, empty.size, empty.n_tokens) == (0, 0, 0, 0)


@pytest.mark.official
def test_official_response_still_cannot_be_unpickled() -> None:
    official = _official()
    with pytest.raises(RuntimeError):
        pickle.loads(pickle.dumps(official.QuerySampleResponse(1, 2, 3)))


@pytest.mark.official
def test_settings_defaults_match_the_official_binding() -> None:
    official = _official()
    ours, theirs = mlg.TestSettings(), official.TestSettings()
    names = [n for n in dir(theirs) if not n.startswith("_") and n != "FromConfig"]
    for name in names:
        if name == "token_latency_scaling_factor":
            continue  # uninitialised in the official struct; ours is 1
        a, b = getattr(ours, name), getattr(theirs, name)
        if name in ("scenario", "mode"):
            assert a.name == b.name and int(a) == int(b), name
        else:
            assert a == b and type(a) is type(b), (name, a, b)
    assert ours.token_latency_scaling_factor == 1
    for cls in ("LogSettings", "LogOutputSettings"):
        o, t = getattr(mlg, cls)(), getattr(official, cls)()
        for name in (n for n in dir(t) if not n.startswith("_")):
            if name == "log_output":
                continue
            assert str(getattr(o, name)) == str(getattr(t, name)), (cls, name)
    for enum_name in ("TestScenario", "TestMode", "LoggingMode"):
        ours_members = {k: int(v) for k, v in getattr(mlg, enum_name).__members__.items()}
        theirs_members = {k: int(v) for k, v in getattr(official, enum_name).__members__.items()}
        assert ours_members == theirs_members


def test_settings_are_mutable_and_checked_like_the_official() -> None:
    s = mlg.TestSettings()
    s.min_query_count = 5
    s.server_target_qps = 100  # an int is fine for a double field
    assert s.server_target_qps == 100.0 and isinstance(s.server_target_qps, float)
    with pytest.raises(AttributeError):
        s.no_such_field = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        s.min_query_count = 1.5
    with pytest.raises(TypeError):
        s.min_query_count = -1
    s.scenario = mlg.TestScenario.Server
    core = s.to_core()
    assert core.scenario.value == "Server" and core.min_query_count == 5


@pytest.mark.parametrize("which", ["mlpace", pytest.param("official", marks=pytest.mark.official)])
def test_from_config_return_codes(tmp_path: Path, which: str) -> None:
    lg = mlg if which == "mlpace" else _official()
    s = lg.TestSettings()
    assert s.FromConfig(str(tmp_path / "missing.conf"), "resnet50", "Offline") == -errno.ENOENT
    bad = tmp_path / "bad.conf"
    bad.write_text("*.Offline.min_query_count = 5 # trailing comment is an error\n")
    if lg is mlg:
        with pytest.warns(UserWarning, match="comment after the value"):
            assert s.FromConfig(str(bad), "resnet50", "Offline", 2) == -errno.EINVAL
    else:
        assert s.FromConfig(str(bad), "resnet50", "Offline", 2) == -errno.EINVAL
    assert s.min_query_count != 5  # nothing applied from a bad file
    good = tmp_path / "user.conf"
    good.write_text("*.Offline.target_qps = 123\nresnet50.Offline.min_query_count = 7\n")
    assert s.FromConfig(str(good), "resnet50", "Offline", 2) == 0
    assert s.offline_expected_qps == 123.0
    assert s.min_query_count == 7


def test_from_config_loads_builtin_mlperf_conf_once_per_object(tmp_path: Path) -> None:
    good = tmp_path / "user.conf"
    good.write_text("*.Offline.target_qps = 50\n")
    s = mlg.TestSettings()
    assert s.FromConfig(str(good), "resnet50", "Offline") == 0
    assert s.qsl_rng_seed != 0  # the built-in mlperf.conf seeds came with the first call
    assert s.offline_expected_qps == 50.0
    # A fresh object gets mlperf.conf again (the official binding silently would not).
    s2 = mlg.TestSettings()
    assert s2.FromConfig(str(good), "resnet50", "Offline") == 0
    assert s2.qsl_rng_seed == s.qsl_rng_seed
    # A second conf_type=1 call on the same object warns, as the official logs an error.
    with pytest.warns(UserWarning, match="Multiple conf files"):
        assert s.FromConfig(str(good), "resnet50", "Offline") == 0


def test_num_issue_query_threads_is_ignored_with_a_warning(tmp_path: Path) -> None:
    def issue(samples: list[Any]) -> None:
        mlg.QuerySamplesComplete([mlg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    settings = mlg.TestSettings()
    settings.scenario = mlg.TestScenario.Server
    settings.server_target_qps = 2000
    settings.min_duration_ms = 50
    settings.server_num_issue_query_threads = 2
    log_settings = mlg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)
    log_settings.enable_trace = False
    sut = mlg.ConstructSUT(issue, lambda: None)
    qsl = mlg.ConstructQSL(QSL_TOTAL, QSL_TOTAL, lambda i: None, lambda i: None)
    with pytest.warns(UserWarning, match="server_num_issue_query_threads"):
        mlg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    assert (tmp_path / "mlperf_log_summary.txt").exists()


def test_audit_config_in_cwd_is_applied_and_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audit.config").write_text("*.Offline.min_duration = 77\n")

    def issue(samples: list[Any]) -> None:
        mlg.QuerySamplesComplete([mlg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    settings = mlg.TestSettings()
    settings.scenario = mlg.TestScenario.Offline
    settings.min_duration_ms = 50
    settings.offline_expected_qps = 10
    log_settings = mlg.LogSettings()
    log_settings.enable_trace = False
    sut = mlg.ConstructSUT(issue, lambda: None)
    qsl = mlg.ConstructQSL(QSL_TOTAL, QSL_TOTAL, lambda i: None, lambda i: None)
    mlg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    assert "audit" in capsys.readouterr().err.lower()
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "audit" in detail.lower()
    assert read_detail(tmp_path)["effective_min_duration_ms"] == 77
