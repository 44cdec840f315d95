"""Golden logs of the load generator: 35 deterministic virtual-clock runs whose four log files
(wall-clock dates, pids and the version masked) and RunResult must not change under a refactor.

    python tests/loadgen_golden.py /tmp/before          # on the old code
    python tests/loadgen_golden.py /tmp/after           # on the new code
    diff -r /tmp/before /tmp/after                      # empty: byte-identical

Cases: every scenario, FindPeakPerformance, early stopping failing, min duration / min queries
failing, equal issue, unique / same-index issue, accuracy-log sampling, max_async / max_duration
endings, token and inferred-token metrics, accuracy and submission modes, incomplete samples.
Give case names after the folder to run only those.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mlpace.clock import VirtualClock
from mlpace.errors import MlpaceError
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.enums import TestMode as M
from mlpace.loadgen.enums import TestScenario as S
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.simulated import SimulatedSUT

OUT = Path(sys.argv[1])
MS = 1_000_000


class DropSUT(SimulatedSUT):
    """Never completes sample ids divisible by 7 (incomplete samples / timeout path)."""

    def _done(self, batch):  # type: ignore[no-untyped-def]
        self._busy -= 1
        keep = [i for i, _ in batch if i % 7]
        if keep:
            self._sink.complete_ids(keep)
        self._dispatch()


def case(
    name,
    scen,
    mode=M.PerformanceOnly,
    service=("exponential", 1 * MS),
    servers=1,
    batch=1,
    n_tokens=0,
    total=256,
    perf=None,
    sut_cls=SimulatedSUT,
    response=None,
    **kw,
):
    return (
        name,
        dict(
            scen=scen,
            mode=mode,
            service=service,
            servers=servers,
            batch=batch,
            n_tokens=n_tokens,
            total=total,
            perf=perf,
            sut_cls=sut_cls,
            response=response,
            kw=kw,
        ),
    )


base = dict(min_duration_ms=1000, min_query_count=50)
CASES = [
    case("ss", S.SingleStream, single_stream_expected_latency_ns=1 * MS, **base),
    case(
        "ss_det", S.SingleStream, service=2 * MS, single_stream_expected_latency_ns=2 * MS, **base
    ),
    case(
        "ss_es_fail",
        S.SingleStream,
        min_duration_ms=50,
        min_query_count=10,
        single_stream_expected_latency_ns=1 * MS,
    ),
    case(
        "ss_minq_fail",
        S.SingleStream,
        min_duration_ms=500,
        min_query_count=5000,
        max_duration_ms=500,
        single_stream_expected_latency_ns=1 * MS,
    ),
    case(
        "ss_equal_issue",
        S.SingleStream,
        sample_concatenate_permutation=True,
        single_stream_expected_latency_ns=1 * MS,
        total=64,
        **base,
    ),
    case(
        "ss_unique",
        S.SingleStream,
        performance_issue_unique=True,
        single_stream_expected_latency_ns=1 * MS,
        total=64,
        **base,
    ),
    case(
        "ss_same",
        S.SingleStream,
        performance_issue_same=True,
        performance_issue_same_index=3,
        single_stream_expected_latency_ns=1 * MS,
        **base,
    ),
    case(
        "ss_logtarget",
        S.SingleStream,
        accuracy_log_sampling_target=20,
        response=lambda i: bytes([i % 256]),
        single_stream_expected_latency_ns=1 * MS,
        **base,
    ),
    case(
        "ms",
        S.MultiStream,
        multi_stream_samples_per_query=8,
        multi_stream_expected_latency_ns=3 * MS,
        servers=4,
        **base,
    ),
    case(
        "ms_mindur_fail",
        S.MultiStream,
        multi_stream_samples_per_query=4,
        multi_stream_expected_latency_ns=1 * MS,
        service=30 * MS,
        servers=4,
        min_duration_ms=200,
        min_query_count=5,
    ),
    case(
        "server",
        S.Server,
        server_target_qps=500,
        server_target_latency_ns=20 * MS,
        servers=2,
        **base,
    ),
    case(
        "server_overload",
        S.Server,
        server_target_qps=3000,
        server_target_latency_ns=5 * MS,
        servers=2,
        **base,
    ),
    case(
        "server_coalesce",
        S.Server,
        server_target_qps=2000,
        server_target_latency_ns=20 * MS,
        servers=4,
        batch=8,
        server_coalesce_queries=True,
        **base,
    ),
    case(
        "server_maxasync",
        S.Server,
        server_target_qps=3000,
        server_target_latency_ns=5 * MS,
        server_max_async_queries=20,
        **base,
    ),
    case(
        "server_maxdur",
        S.Server,
        server_target_qps=500,
        server_target_latency_ns=20 * MS,
        servers=2,
        min_duration_ms=1000,
        max_duration_ms=1000,
        min_query_count=1000,
    ),
    case(
        "server_peak",
        S.Server,
        M.FindPeakPerformance,
        server_target_qps=200,
        server_target_latency_ns=10 * MS,
        servers=2,
        min_duration_ms=300,
        min_query_count=20,
    ),
    case(
        "offline",
        S.Offline,
        service=("exponential", 0.5 * MS),
        servers=4,
        batch=16,
        offline_expected_qps=2000,
        **base,
    ),
    case(
        "offline_equal",
        S.Offline,
        offline_expected_qps=500,
        servers=2,
        batch=8,
        sample_concatenate_permutation=True,
        total=100,
        **base,
    ),
    case(
        "offline_unique",
        S.Offline,
        offline_expected_qps=500,
        servers=2,
        performance_issue_unique=True,
        total=100,
        **base,
    ),
    case(
        "peak_not_server",
        S.Offline,
        M.FindPeakPerformance,
        offline_expected_qps=500,
        servers=2,
        **base,
    ),
    # token metrics
    case(
        "tok_ss",
        S.SingleStream,
        n_tokens=32,
        use_token_latencies=True,
        single_stream_expected_latency_ns=1 * MS,
        ttft_latency=2 * MS,
        tpot_latency=1 * MS,
        **base,
    ),
    case(
        "tok_ms",
        S.MultiStream,
        n_tokens=16,
        use_token_latencies=True,
        servers=4,
        multi_stream_samples_per_query=4,
        multi_stream_expected_latency_ns=2 * MS,
        ttft_latency=2 * MS,
        tpot_latency=MS // 4,
        **base,
    ),
    case(
        "tok_server",
        S.Server,
        n_tokens=64,
        use_token_latencies=True,
        servers=2,
        server_target_qps=500,
        ttft_latency=MS,
        tpot_latency=MS // 10,
        **base,
    ),
    case(
        "tok_server_fail",
        S.Server,
        n_tokens=64,
        use_token_latencies=True,
        servers=2,
        server_target_qps=1500,
        ttft_latency=MS // 4,
        tpot_latency=MS // 100,
        **base,
    ),
    case(
        "tok_offline",
        S.Offline,
        n_tokens=64,
        use_token_latencies=True,
        servers=4,
        batch=8,
        offline_expected_qps=2000,
        **base,
    ),
    case(
        "infer_offline",
        S.Offline,
        servers=4,
        batch=8,
        offline_expected_qps=2000,
        infer_token_latencies=True,
        token_latency_scaling_factor=50,
        **base,
    ),
    case(
        "infer_server",
        S.Server,
        servers=2,
        server_target_qps=500,
        server_target_latency_ns=20 * MS,
        infer_token_latencies=True,
        token_latency_scaling_factor=50,
        **base,
    ),
    # accuracy / submission
    case(
        "acc_ss",
        S.SingleStream,
        M.AccuracyOnly,
        response=lambda i: bytes([i % 256, 1]),
        single_stream_expected_latency_ns=1 * MS,
        total=300,
        perf=128,
        **base,
    ),
    case(
        "acc_ms",
        S.MultiStream,
        M.AccuracyOnly,
        response=lambda i: bytes([i % 256]),
        multi_stream_samples_per_query=8,
        multi_stream_expected_latency_ns=3 * MS,
        servers=4,
        total=100,
        perf=40,
        **base,
    ),
    case(
        "acc_server",
        S.Server,
        M.AccuracyOnly,
        response=lambda i: b"x",
        server_target_qps=500,
        server_target_latency_ns=20 * MS,
        servers=2,
        total=200,
        **base,
    ),
    case(
        "acc_offline",
        S.Offline,
        M.AccuracyOnly,
        response=lambda i: b"y",
        servers=4,
        batch=8,
        offline_expected_qps=2000,
        total=200,
        perf=64,
        **base,
    ),
    case(
        "sub_server",
        S.Server,
        M.SubmissionRun,
        response=lambda i: b"z",
        server_target_qps=500,
        server_target_latency_ns=20 * MS,
        servers=2,
        total=100,
        **base,
    ),
    case(
        "sub_ms",
        S.MultiStream,
        M.SubmissionRun,
        response=lambda i: b"z",
        servers=4,
        multi_stream_samples_per_query=8,
        multi_stream_expected_latency_ns=3 * MS,
        total=100,
        **base,
    ),
    # incomplete samples (times out on the virtual clock)
    case(
        "drop_server",
        S.Server,
        sut_cls=DropSUT,
        server_target_qps=500,
        server_target_latency_ns=20 * MS,
        servers=2,
        **base,
    ),
    case(
        "drop_offline",
        S.Offline,
        sut_cls=DropSUT,
        offline_expected_qps=500,
        servers=2,
        batch=8,
        **base,
    ),
]

MASK = [
    (re.compile(r'"pid": \d+'), '"pid": 0'),
    (re.compile(r'"tid": \d+'), '"tid": 0'),
    (re.compile(r'"test_datetime", "value": "[^"]*"'), '"test_datetime", "value": "X"'),
    (re.compile(r'"loadgen_version", "value": "[^"]*"'), '"loadgen_version", "value": "X"'),
    (re.compile(r'"(power_begin|power_end)", "value": "[^"]*"'), r'"\1", "value": "X"'),
    (re.compile(r'"pid":\s*\d+'), '"pid": 0'),
    (re.compile(r'"ts":\d{13,}\.\d+'), '"ts":X'),
    (re.compile(r'"tid":\s*\d+'), '"tid": 0'),
]


def main() -> None:
    only = set(sys.argv[2:])
    for name, c in CASES:
        if only and name not in only:
            continue
        d = OUT / name
        d.mkdir(parents=True, exist_ok=True)
        clock = VirtualClock()
        sut = c["sut_cls"](
            clock,
            c["service"],
            servers=c["servers"],
            batch_size=c["batch"],
            seed=11,
            n_tokens=c["n_tokens"],
            response=c["response"],
        )
        qsl = NullQSL(c["total"], c["perf"])
        settings = TestSettings(scenario=c["scen"], mode=c["mode"], **c["kw"])
        logs = LogSettings(LogOutputSettings(outdir=str(d)), enable_trace=True)
        extra = []
        try:
            out = run_test(sut, qsl, settings, logs, clock=clock)
            extra.append(f"valid={out.valid} peak={out.peak_qps!r} probes={out.probes!r}")
            for p in (out.accuracy, out.performance):
                extra.append(repr(p.result) if p is not None else "None")
        except MlpaceError as exc:
            extra.append(f"raised {type(exc).__name__}: {exc}")
        (d / "outcome.txt").write_text("\n".join(extra) + "\n")
        for f in sorted(d.glob("mlperf_log_*")):
            text = f.read_text()
            for pat, rep in MASK:
                text = pat.sub(rep, text)
            f.write_text(text)
        print(name, "ok", flush=True)


main()
