"""Sample sets and pre-generated schedules: pure functions of settings and seeds."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pytest

from mlpace.loadgen.effective import EffectiveSettings, effective_settings
from mlpace.loadgen.enums import TestScenario as Sc
from mlpace.loadgen.schedule import (
    accuracy_log_mask,
    accuracy_log_probability,
    loadable_sets,
    make_schedule,
)
from mlpace.loadgen.settings import TestSettings

SEEDS = dict(qsl_rng_seed=11, sample_index_rng_seed=22, schedule_rng_seed=33)


def eff(total: int = 500, perf: int = 100, **kw: object) -> EffectiveSettings:
    settings = dataclasses.replace(TestSettings(**SEEDS), **kw)  # type: ignore[arg-type]
    return effective_settings(settings, total_sample_count=total, performance_sample_count=perf)


def perf_schedule(e: EffectiveSettings):  # type: ignore[no-untyped-def]
    return make_schedule(e, loadable_sets(e, accuracy=False)[0], accuracy=False)


def test_performance_pool_is_the_first_psc_indices_shuffled() -> None:
    e = eff()
    (chunk,) = loadable_sets(e, accuracy=False)
    assert sorted(chunk.real.tolist()) == list(range(100))
    assert chunk.real.tolist() != list(range(100))
    other = loadable_sets(eff(qsl_rng_seed=12), accuracy=False)[0]
    assert other.real.tolist() != chunk.real.tolist()


def test_accuracy_walks_every_chunk_and_multistream_pads() -> None:
    e = eff(total=250, scenario=Sc.MultiStream, multi_stream_samples_per_query=8)
    chunks = loadable_sets(e, accuracy=True)
    assert [c.distribution_end for c in chunks] == [100, 100, 50]
    assert sorted(np.concatenate([c.real for c in chunks]).tolist()) == list(range(250))
    for c in chunks:
        assert c.indices.shape[0] == c.distribution_end + 7
        assert c.indices[c.distribution_end :].tolist() == c.indices[:7].tolist()


@pytest.mark.parametrize("scenario", list(Sc))
def test_same_seeds_same_schedule_and_other_seed_differs(scenario: Sc) -> None:
    kw: dict[str, Any] = dict(scenario=scenario, min_duration_ms=200, server_target_qps=2000.0)
    a, b = perf_schedule(eff(**kw)), perf_schedule(eff(**kw))
    assert np.array_equal(a.scheduled_offset_ns, b.scheduled_offset_ns)
    assert np.array_equal(a.sample_index, b.sample_index)
    c = perf_schedule(eff(**kw, sample_index_rng_seed=23, schedule_rng_seed=34))
    if scenario == Sc.Offline:  # no randomness in Offline
        assert np.array_equal(a.sample_index, c.sample_index)
    else:
        assert not np.array_equal(a.sample_index, c.sample_index)
    if scenario == Sc.Server:
        assert not np.array_equal(a.scheduled_offset_ns, c.scheduled_offset_ns)


def test_single_stream_generates_twice_the_target_duration() -> None:
    # 1 ms hint, 1 s target: queries every 1 ms until 2 s, so 2001 of them (0 .. 2000 ms).
    s = perf_schedule(eff(single_stream_expected_latency_ns=1_000_000, min_duration_ms=1000))
    assert s.generated_query_count == 2001
    assert s.generated_query_duration_ns == 2_000_000_000
    assert np.all(np.diff(s.scheduled_offset_ns) == 1_000_000)
    assert s.sample_index.min() >= 0 and s.sample_index.max() < 100
    # min_query_count wins when larger
    s = perf_schedule(eff(min_duration_ms=1, min_query_count=5000))
    assert s.generated_query_count == 5000


def test_server_poisson_arrivals_have_the_right_rate() -> None:
    qps = 50_000.0
    s = perf_schedule(eff(scenario=Sc.Server, server_target_qps=qps, min_duration_ms=2000))
    gaps = np.diff(s.scheduled_offset_ns)
    assert s.scheduled_offset_ns[0] == 0
    assert abs(gaps.mean() - 1e9 / qps) / (1e9 / qps) < 0.01
    # exponential: standard deviation equals the mean
    assert abs(gaps.std() - gaps.mean()) / gaps.mean() < 0.02
    # generation stops at the first arrival at or after 1x the target duration
    assert s.scheduled_offset_ns[-1] >= 2_000_000_000 > s.scheduled_offset_ns[-2]


def test_a_million_server_arrivals_take_well_under_a_second() -> None:
    e = eff(scenario=Sc.Server, server_target_qps=1e6, min_duration_ms=1000)
    start = time.perf_counter()
    s = perf_schedule(e)
    elapsed = time.perf_counter() - start
    assert s.generated_query_count > 990_000
    assert elapsed < 1.0


def test_multistream_queries_are_contiguous_runs_of_the_padded_set() -> None:
    e = eff(scenario=Sc.MultiStream, multi_stream_samples_per_query=8)
    chunk = loadable_sets(e, accuracy=False)[0]
    s = make_schedule(e, chunk, accuracy=False)
    assert s.generated_samples_per_query == 8
    pos = {int(v): i for i, v in enumerate(chunk.indices[:100])}
    for q in range(0, s.query_count, 97):
        idx = s.sample_index[s.query_start[q] : s.query_start[q] + 8]
        start = pos[int(idx[0])]
        assert idx.tolist() == chunk.indices[start : start + 8].tolist()


def test_offline_is_one_deterministic_query_of_copies() -> None:
    e = eff(scenario=Sc.Offline, offline_expected_qps=1000.0, min_duration_ms=1000)
    chunk = loadable_sets(e, accuracy=False)[0]
    s = make_schedule(e, chunk, accuracy=False)
    assert s.query_count == 1 and s.query_length[0] == 1100 == e.samples_per_query
    assert s.sample_index[:100].tolist() == chunk.real.tolist()
    assert s.sample_index[1000:1100].tolist() == chunk.real.tolist()


def test_equal_issue_covers_each_sample_once_per_pass() -> None:
    e = eff(sample_concatenate_permutation=True, min_duration_ms=100)
    s = perf_schedule(e)
    assert s.generated_query_count % 100 == 0
    for p in range(s.generated_query_count // 100):
        window = s.sample_index[p * 100 : (p + 1) * 100]
        assert sorted(window.tolist()) == list(range(100))
    # Offline equal issue: the query is padded to whole shuffled copies
    e = eff(
        scenario=Sc.Offline,
        sample_concatenate_permutation=True,
        offline_expected_qps=1000.0,
        min_duration_ms=1000,
    )
    s = perf_schedule(e)
    assert s.query_length[0] == 1100
    for p in range(11):
        assert sorted(s.sample_index[p * 100 : (p + 1) * 100].tolist()) == list(range(100))


def test_unique_and_same_index() -> None:
    s = perf_schedule(eff(performance_issue_unique=True))
    assert s.query_count == 100 and sorted(s.sample_index.tolist()) == list(range(100))
    e = eff(performance_issue_same=True, performance_issue_same_index=3)
    s = perf_schedule(e)
    chunk = loadable_sets(e, accuracy=False)[0]
    assert set(s.sample_index.tolist()) == {int(chunk.real[3])}


@pytest.mark.parametrize("scenario", list(Sc))
def test_accuracy_mode_issues_every_sample_once(scenario: Sc) -> None:
    e = eff(total=250, scenario=scenario, multi_stream_samples_per_query=8)
    seen: list[int] = []
    for chunk in loadable_sets(e, accuracy=True):
        s = make_schedule(e, chunk, accuracy=True)
        assert int(s.query_length.sum()) == s.sample_count == chunk.distribution_end
        seen.extend(s.sample_index.tolist())
    assert sorted(seen) == list(range(250))


def test_accuracy_log_sampling() -> None:
    e = eff(accuracy_log_probability=0.25)
    mask = accuracy_log_mask(e, 100_000)
    assert abs(mask.mean() - 0.25) < 0.01
    assert np.array_equal(mask, accuracy_log_mask(e, 100_000))
    other = accuracy_log_mask(eff(accuracy_log_probability=0.25, accuracy_log_rng_seed=5), 100_000)
    assert not np.array_equal(mask, other)
    assert not accuracy_log_mask(eff(), 1000).any()
    # a sampling target is divided by the expected sample count (1000 qps x 1 s here)
    e = eff(accuracy_log_sampling_target=100, min_duration_ms=1000)
    assert accuracy_log_probability(e) == pytest.approx(0.1)
    e = eff(accuracy_log_sampling_target=10_000, min_duration_ms=1000)
    assert accuracy_log_mask(e, 500).all()
