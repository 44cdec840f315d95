"""BackendSUT: Offline batching, Server dynamic batching, payloads, the pure batching rule."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from mlpace.errors import SutError
from mlpace.loadgen.sut import QuerySample, QuerySampleResponse
from mlpace.workloads.sut import BackendSUT, BatchingPolicy, argmax_int32, batch_decision


class FakeBackend:
    name = "fake"

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.lock = threading.Lock()

    def load(self, model: object) -> None:
        pass

    def predict(self, batch: object) -> np.ndarray:
        x = np.asarray(batch)
        with self.lock:
            self.batches.append(len(x))
        # "class" = the sample index modulo 10, one-hot
        return np.eye(10, dtype=np.float32)[x.astype(np.int64) % 10]

    def describe(self) -> dict[str, object]:
        return {"backend": "fake", "intra_op_threads": 1}


class FakeSink:
    """Records responses; ``log_all`` decides whether payloads are wanted."""

    def __init__(self, expected: int, log_all: bool) -> None:
        self.log_all = log_all
        self.responses: dict[int, bytes] = {}
        self.ids_only: list[int] = []
        self.expected = expected
        self.done = threading.Event()
        self.lock = threading.Lock()

    def logs_payload(self, sample_id: int) -> bool:
        return self.log_all

    def complete(self, responses: Sequence[QuerySampleResponse]) -> None:
        with self.lock:
            for r in responses:
                self.responses[r.id] = r.data
            self._check()

    def complete_ids(self, ids: Sequence[int]) -> None:
        with self.lock:
            self.ids_only.extend(ids)
            self._check()

    def first_token(self, responses: Sequence[QuerySampleResponse]) -> None:
        raise AssertionError("not a token model")

    def _check(self) -> None:
        if len(self.responses) + len(self.ids_only) >= self.expected:
            self.done.set()


def _get(indices: Sequence[int]) -> np.ndarray:
    return np.asarray(indices, dtype=np.float32)


def test_batch_decision_rule() -> None:
    p = BatchingPolicy(max_batch_size=4, max_wait_ns=1_000)
    assert batch_decision(0, 0, 0, p, draining=False) == (0, 0)
    assert batch_decision(9, 0, 0, p, draining=False) == (4, 0)  # full batch: go now
    assert batch_decision(2, 100, 400, p, draining=False) == (0, 700)  # wait the rest
    assert batch_decision(2, 100, 1_100, p, draining=False) == (2, 0)  # waited long enough
    assert batch_decision(2, 100, 400, p, draining=True) == (2, 0)  # flushed: no more coming
    offline = BatchingPolicy(max_batch_size=4, max_wait_ns=0)
    assert batch_decision(3, 0, 0, offline, draining=False) == (3, 0)
    with pytest.raises(SutError):
        BatchingPolicy(max_batch_size=0)


def test_offline_query_is_cut_into_full_batches_with_int32_payloads() -> None:
    backend = FakeBackend()
    sink = FakeSink(100, log_all=True)
    sut = BackendSUT(backend, _get, argmax_int32, workers=1, policy=BatchingPolicy(32, 0))
    # Issue before binding the sink's worker start, so the queue holds the whole query at once.
    with sut._cond:
        sut.bind(sink)
        sut._queue.extend((i, i, 0) for i in range(100))
        sut._cond.notify_all()
    assert sink.done.wait(10)
    sut.close()
    assert backend.batches == [32, 32, 32, 4]
    assert sorted(sink.responses) == list(range(100))
    assert all(np.frombuffer(sink.responses[i], "<i4")[0] == i % 10 for i in range(100))
    assert sut.describe()["mean_batch_size"] == 25.0


def test_server_dynamic_batching_waits_for_a_full_batch() -> None:
    backend = FakeBackend()
    sink = FakeSink(12, log_all=False)
    # A long wait: batches form only because they fill up (no sleeping in the test).
    sut = BackendSUT(
        backend, _get, argmax_int32, workers=2, policy=BatchingPolicy(4, 60_000_000_000)
    )
    sut.bind(sink)
    for i in range(12):
        sut.issue_queries([QuerySample(i, i)])
    assert sink.done.wait(10)
    sut.close()
    assert sorted(backend.batches) == [4, 4, 4]
    assert sorted(sink.ids_only) == list(range(12))  # nothing logged: the fast path


def test_flush_releases_a_partial_batch() -> None:
    backend = FakeBackend()
    sink = FakeSink(3, log_all=False)
    sut = BackendSUT(
        backend, _get, argmax_int32, workers=1, policy=BatchingPolicy(8, 60_000_000_000)
    )
    sut.bind(sink)
    sut.issue_query_ids([0, 1, 2], [5, 6, 7])
    sut.flush_queries()
    assert sink.done.wait(10)
    sut.close()
    assert backend.batches == [3]


def test_backend_failure_is_reported_on_next_issue() -> None:
    class Broken(FakeBackend):
        def predict(self, batch: object) -> np.ndarray:
            raise RuntimeError("boom")

    sut = BackendSUT(Broken(), _get, argmax_int32, workers=1)
    sut.bind(FakeSink(1, log_all=False))
    sut.issue_query_ids([0], [0])
    sut.close()  # drains the queue: the failing batch has run
    with pytest.raises(SutError, match="boom"):
        sut.issue_query_ids([1], [1])
    with pytest.raises(SutError, match="boom"):
        sut.flush_queries()
