"""Sample sets and pre-generated query schedules (pure functions of settings and seeds).

Everything the engine issues is decided here, before the timer starts, as NumPy arrays:

* :func:`loadable_sets` cuts the sample pool into the chunks that are loaded one at a time
  (``qsl_rng_seed``). Performance runs use the first chunk only; accuracy runs walk them all.
* :func:`make_schedule` picks the sample indices (``sample_index_rng_seed``) and the query
  arrival offsets (``schedule_rng_seed``) for one loaded chunk.
* :func:`accuracy_log_mask` decides which samples of a performance run get their responses
  copied into the accuracy log (``accuracy_log_rng_seed``).

All three streams are MT19937 seeded with the 64-bit seed reduced mod 2**32, as the official
LoadGen does (``np.random.RandomState``). The *distributions* on top of the raw stream (shuffle,
uniform integers, exponential gaps) are NumPy's, so sequences are reproducible within mlpace but
are not bit-identical to a given official wheel; no official tool checks the sequences, only the
logged seeds and counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from mlpace.loadgen.effective import EffectiveSettings

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

SEED_MASK = 0xFFFFFFFF
# std::mt19937's default seed: the official per-sample accuracy-log stream is never seeded.
MT19937_DEFAULT_SEED = 5489
# Per-sample accuracy-log stream: mlpace draws it from a RandomState seeded with this constant so
# that which samples are logged depends only on accuracy_log_rng_seed (through the offset).
ACCURACY_SAMPLE_STREAM_SEED = MT19937_DEFAULT_SEED


def _rng(seed: int) -> np.random.RandomState:
    return np.random.RandomState(int(seed) & SEED_MASK)


@dataclass(frozen=True, eq=False)
class SampleSet:
    """One loadable chunk of QSL indices.

    ``indices`` holds the chunk in load order; for MultiStream it is followed by copies of its
    first ``spq - 1`` entries, so a query of ``spq`` contiguous entries never runs off the end.
    ``distribution_end`` is the length without that padding.
    """

    indices: I64
    distribution_end: int

    @property
    def real(self) -> I64:
        """The chunk without MultiStream padding: what gets loaded and unloaded."""
        return self.indices[: self.distribution_end]


@dataclass(frozen=True, eq=False)
class Schedule:
    """The queries of one pass over one loaded chunk, in issue order.

    Query ``q`` is due ``scheduled_offset_ns[q]`` after the start and carries the samples
    ``sample_index[query_start[q] : query_start[q] + query_length[q]]`` (QSL indices).
    """

    scheduled_offset_ns: I64
    query_start: I64
    query_length: I64
    sample_index: I64
    generated_query_count: int
    generated_samples_per_query: int
    generated_query_duration_ns: int

    @property
    def query_count(self) -> int:
        return int(self.scheduled_offset_ns.shape[0])

    @property
    def sample_count(self) -> int:
        return int(self.sample_index.shape[0])


def loadable_sets(effective: EffectiveSettings, *, accuracy: bool) -> tuple[SampleSet, ...]:
    """The chunks to load: the pool ``0..N-1`` shuffled by ``qsl_rng_seed``, cut every psc.

    N is the performance sample count in performance mode and the accuracy sample count in
    accuracy mode (both already capped at the QSL total). Performance mode uses only the first
    chunk.
    """
    psc = max(1, int(effective.performance_sample_count))
    pool = int(effective.accuracy_sample_count if accuracy else effective.performance_sample_count)
    pool = max(0, min(pool, int(effective.qsl_total_sample_count)))
    order = np.arange(pool, dtype=np.int64)
    _rng(effective.qsl_rng_seed).shuffle(order)
    chunks = [order[i : i + psc] for i in range(0, pool, psc)] if accuracy else [order[:psc]]
    pad = int(effective.samples_per_query) - 1
    multi = effective.policy.contiguous_queries
    out = []
    for chunk in chunks:
        if multi and pad > 0 and chunk.shape[0] > 0:
            padded = np.concatenate([chunk, np.resize(chunk, pad)])
        else:
            padded = chunk
        out.append(SampleSet(indices=np.ascontiguousarray(padded), distribution_end=len(chunk)))
    return tuple(out)


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple if multiple > 0 else value


def constant_arrivals(
    period_ns: float, gen_duration_ns: int, min_queries: int, multiple: int
) -> I64:
    """Query k due at k * period, until one is due at or past ``gen_duration_ns`` and there are
    at least ``min_queries`` (then up to a multiple of ``multiple``, if > 0)."""
    needed = math.ceil(gen_duration_ns / period_ns) + 1 if gen_duration_ns > 0 else 1
    while needed > 1 and (needed - 2) * period_ns >= gen_duration_ns:
        needed -= 1  # float ceil can overshoot by one
    n = max(needed, min_queries, 1)
    if multiple > 0:
        n = round_up(n, multiple)
    return np.floor(np.arange(n, dtype=np.float64) * period_ns).astype(np.int64)


def shuffled_passes(rng: np.random.RandomState, real: I64, total: int) -> I64:
    """Back-to-back shuffled permutations of ``real``, cut to ``total`` entries."""
    size = int(real.shape[0])
    passes = -(-total // size)
    perms = np.argsort(rng.random_sample((passes, size)), axis=1, kind="stable")
    return real[perms.ravel()[:total]]


def make_schedule(
    effective: EffectiveSettings, sample_set: SampleSet, *, accuracy: bool
) -> Schedule:
    """Pre-generate every query of one pass over ``sample_set``.

    Stop rule: queries are generated until the last one is due at or after the generation
    duration *and* there are at least ``min_queries``. The generation duration is twice the
    target duration for SingleStream, MultiStream and Offline (so a SUT up to twice as fast as
    its hint still has queries), once for Server (which issues the whole list). In accuracy mode
    and with ``performance_issue_unique`` it is zero and every set entry is used exactly once.
    """
    policy = effective.policy
    spq = max(1, int(effective.samples_per_query))
    size = int(sample_set.distribution_end)
    real = sample_set.real
    sample_rng = _rng(effective.sample_index_rng_seed)
    schedule_rng = _rng(effective.schedule_rng_seed)
    period_ns = effective.arrival_period_ns

    if size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Schedule(empty, empty, empty, empty, 0, spq, 0)

    lengths: I64 | None
    if accuracy:
        # Every entry exactly once, in shuffled order.
        indices, lengths = policy.accuracy_queries(sample_set, sample_rng, spq)
        n_queries = len(lengths) if lengths is not None else size
        offsets = policy.arrivals(schedule_rng, period_ns, 0, n_queries, 0)[:n_queries]
        n = int(offsets.shape[0])
    else:
        equal_issue = bool(effective.sample_concatenate_permutation)
        min_q, multiple, gen_duration_ns = policy.performance_query_bounds(
            effective, size, spq, equal_issue
        )
        offsets = policy.arrivals(schedule_rng, period_ns, gen_duration_ns, min_q, multiple)
        n = int(offsets.shape[0])
        if effective.performance_issue_same:
            same = int(effective.performance_issue_same_index)
            value = real[same if 0 <= same < size else 0]
            indices, lengths = np.full(n * spq, value, dtype=np.int64), None
        else:
            indices, lengths = policy.performance_queries(
                effective, sample_set, sample_rng, n, spq, equal_issue
            )
    if lengths is None:
        lengths = np.full(n, spq, dtype=np.int64)
    starts_out = np.zeros(n, dtype=np.int64)
    if n > 1:
        np.cumsum(lengths[:-1], out=starts_out[1:])
    generated_spq = int(lengths.max()) if n else spq
    return Schedule(
        scheduled_offset_ns=offsets,
        query_start=starts_out,
        query_length=lengths.astype(np.int64),
        sample_index=np.ascontiguousarray(indices, dtype=np.int64),
        generated_query_count=n,
        generated_samples_per_query=generated_spq,
        generated_query_duration_ns=int(offsets[-1]) if n else 0,
    )


def accuracy_log_probability(effective: EffectiveSettings) -> float:
    """The chance that a performance-mode sample is logged (the §11 rule).

    ``accuracy_log_sampling_target / expected samples`` when a target is set, where the expected
    count is ``max(target_qps * min_duration_s * spq, min_query_count * spq)`` (Offline:
    ``max(target_qps * min_duration_s, min_sample_count)``); otherwise the configured probability.
    """
    target = int(effective.accuracy_log_sampling_target)
    if target <= 0:
        return float(effective.accuracy_log_probability)
    expected = effective.policy.expected_sample_count(effective)
    if expected <= 0:
        return 1.0
    return target / expected


def accuracy_log_mask(effective: EffectiveSettings, sample_count: int) -> Bools:
    """Which samples (by issue position) of a performance pass have their responses logged.

    Sample ``i`` is logged when ``frac(u_i + offset) <= p``: ``offset`` is one uniform draw from
    ``accuracy_log_rng_seed``; ``u_i`` is the i-th draw of a per-sample uniform stream that, as
    in the official LoadGen, does not depend on any configured seed (mlpace seeds it with
    MT19937's default seed 5489).
    """
    probability = accuracy_log_probability(effective)
    if probability <= 0.0 or sample_count <= 0:
        return np.zeros(max(sample_count, 0), dtype=np.bool_)
    if probability >= 1.0:
        return np.ones(sample_count, dtype=np.bool_)
    offset = float(_rng(effective.accuracy_log_rng_seed).random_sample())
    u = np.random.RandomState(ACCURACY_SAMPLE_STREAM_SEED).random_sample(sample_count)
    frac = np.modf(u + offset)[0]
    mask: Bools = frac <= probability
    return mask
