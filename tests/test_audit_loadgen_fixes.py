"""The small LoadGen / compat / workloads changes the audits needed, each with its own test:

* the sink's id-only fast path stays fast in a sampled run (TEST01): only the logged samples take
  the general path, and BackendSUT builds responses only for those;
* an audit.config may set ``test05`` and its seeds (the legacy TEST05 procedure), with a warning;
* ``mlpace.compat.loadgen.use_clock`` runs a drop-in harness on a virtual clock.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlpace.clock import VirtualClock
from mlpace.errors import ConfigError
from mlpace.loadgen import NullQSL, TestSettings, run_test
from mlpace.loadgen._recorder import ResponseRecorder
from mlpace.loadgen.config import ConfType, apply_config, parse_config
from mlpace.loadgen.enums import TestScenario as Scenario
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.workloads.sut import BackendSUT, BatchingPolicy, argmax_int32


def test_complete_ids_in_a_sampled_pass_logs_only_the_sampled_ids() -> None:
    logged: list[tuple[Any, ...]] = []
    rec = ResponseRecorder(time.perf_counter_ns, lambda key, text: None)
    mask = np.zeros(10, dtype=np.bool_)
    mask[[2, 7]] = True
    rec.begin_pass(
        first_id=100,
        sample_index=np.arange(10, dtype=np.int64),
        log_all=False,
        log_mask=mask.tobytes(),
        accuracy=lambda *entry: logged.append(entry),
        use_tokens=False,
        check_first_token=False,
    )
    rec.issued = 10
    rec.complete_ids(list(range(100, 105)))
    rec.complete_ids(np.arange(105, 110, dtype=np.int64))
    assert rec.completed == 10
    assert sorted(e[0] for e in logged) == [102, 107]
    rec.complete_ids([102])
    assert rec.duplicate_responses == 1


class _Linear:
    """A backend whose output row i is the one-hot of (input i mod 10)."""

    name = "linear"

    def predict(self, x: Any) -> Any:
        idx = np.asarray(x, dtype=np.int64) % 10
        return np.eye(10, dtype=np.float32)[idx]

    def describe(self) -> dict[str, object]:
        return {}


def test_backend_sut_builds_responses_only_for_logged_samples(tmp_path: Path) -> None:
    class QSL(NullQSL):
        def get_samples(self, indices: Any) -> Any:
            return np.asarray(indices)

    qsl = QSL(100)
    sut = BackendSUT(
        _Linear(), qsl.get_samples, argmax_int32, workers=1, policy=BatchingPolicy(16, 0)
    )
    settings = TestSettings(
        scenario=Scenario.Offline,
        offline_expected_qps=2000.0,
        min_duration_ms=100,
        min_query_count=1,
        accuracy_log_sampling_target=40,
        accuracy_log_rng_seed=7,
    )
    log = LogSettings(LogOutputSettings(outdir=str(tmp_path)), enable_trace=False)
    try:
        outcome = run_test(sut, qsl, settings, log)
    finally:
        sut.close()
    entries = json.loads(outcome.log_paths["accuracy"].read_text())
    perf = outcome.performance
    assert perf is not None and perf.raw.completed_mask.all()
    assert 10 < len(entries) < perf.raw.issued_sample_count
    for e in entries:
        assert int.from_bytes(bytes.fromhex(e["data"]), "little") == e["qsl_idx"] % 10


def test_an_audit_config_may_set_the_test05_seeds() -> None:
    text = "*.*.test05 = 1\n*.*.test05_qsl_rng_seed = 11\n*.*.test05_schedule_rng_seed = 13\n"
    audit = parse_config(text, path="audit.config", conf_type=ConfType.AUDIT)
    settings, warnings = apply_config(TestSettings(), audit, model="x", scenario="Offline")
    assert settings.test05 and settings.test05_qsl_rng_seed == 11
    assert settings.test05_schedule_rng_seed == 13
    assert any("official LoadGen reads it only from mlperf.conf" in w for w in warnings)
    with pytest.raises(ConfigError, match="mlperf.conf or audit.config"):
        parse_config("*.*.test05 = 1\n", path="user.conf", conf_type=ConfType.USER)


def test_compat_use_clock_runs_a_drop_in_harness_on_virtual_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlpace.compat.loadgen as lg

    monkeypatch.chdir(tmp_path)
    clock = VirtualClock()

    def issue(samples: list[Any]) -> None:
        for s in samples:
            clock.call_later(
                2_000_000, lambda i=s.id: lg.QuerySamplesComplete([lg.QuerySampleResponse(i, 0, 0)])
            )

    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.SingleStream
    settings.min_duration_ms = 10_000  # ten virtual seconds
    settings.min_query_count = 10
    settings.single_stream_expected_latency_ns = 2_000_000
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(16, 16, lambda _i: None, lambda _i: None)
    lg.use_clock(clock)
    try:
        lg.StartTest(sut, qsl, settings)
    finally:
        lg.use_clock(None)
        lg.DestroySUT(sut)
        lg.DestroyQSL(qsl)
    assert clock.now_ns() >= 10_000_000_000  # the run's time was the virtual clock's
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert "90.0th percentile latency (ns) : 2000000" in summary
