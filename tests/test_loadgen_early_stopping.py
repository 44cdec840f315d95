import time

import pytest

from mlpace.loadgen.early_stopping import (
    largest_t,
    log_binomial_cdf,
    min_passing_queries,
    percentile_early_stopping,
    queries_needed,
    server_early_stopping_from_count,
)
from mlpace.loadgen.sample_size import (
    norms_inv,
    queries_for_percentile,
    required_queries,
    round_up_to_multiple,
)
from mlpace.loadgen.stats import sorted_ns

H_VALUES = [
    (0.9, 0, 44), (0.9, 1, 63), (0.9, 2, 79), (0.9, 10, 187), (0.9, 100, 1146),
    (0.99, 0, 459), (0.99, 1, 661), (0.99, 10, 2000), (0.99, 100, 12471), (0.99, 1000, 106569),
    (0.999, 1, 6635),
]  # fmt: skip


@pytest.mark.parametrize(("p", "t", "h"), H_VALUES)
def test_min_passing_queries_check_values(p: float, t: int, h: int) -> None:
    assert min_passing_queries(t, p) == h


def test_h_matches_scipy_betainc_on_a_grid() -> None:
    betainc = pytest.importorskip("scipy.special").betainc
    for p in (0.5, 0.9, 0.95, 0.97, 0.99, 0.999):
        for t in (0, 1, 2, 3, 7, 30, 250, 4000):
            h = min_passing_queries(t, p)
            assert betainc(h, t + 1, p) < 1 - 0.99
            if h > 1:
                assert betainc(h - 1, t + 1, p) >= 1 - 0.99


def test_log_binomial_cdf_matches_scipy() -> None:
    binom = pytest.importorskip("scipy.stats").binom
    for n, t, p in [(100, 5, 0.9), (10_000, 950, 0.9), (200_000, 2_100, 0.99), (50, 0, 0.99)]:
        ours = log_binomial_cdf(t, n, p)
        assert ours == pytest.approx(binom.logcdf(t, n, 1 - p), rel=1e-8, abs=1e-9)


@pytest.mark.parametrize(
    ("n", "p", "t"),
    [(100, 0.9, 3), (659, 0.9, 48), (1000, 0.9, 78), (10000, 0.9, 930), (1000, 0.99, 2),
     (10000, 0.99, 77), (4001, 0.9, 356), (4001, 0.99, 25), (63, 0.9, 0), (64, 0.9, 1)],
)  # fmt: skip
def test_single_stream_t(n: int, p: float, t: int) -> None:
    # (4001, .9) and (4001, .99) are from real mlperf_loadgen 6.0.17 runs ("discard 355 / 24")
    assert largest_t(n, p) == t


def test_minimum_queries() -> None:
    assert queries_needed(1, 0.9) == 64
    assert queries_needed(1, 0.99) == 662
    assert queries_needed(1, 0.999) == 6636
    assert [queries_needed(t, 0.99) for t in (0, 1, 5, 50, 100)] == [459, 662, 1307, 6898, 12571]


def test_large_runs_are_fast() -> None:
    start = time.perf_counter()
    assert largest_t(3_000_000, 0.9) > 290_000
    assert queries_needed(100_000, 0.99) > 10_000_000
    assert time.perf_counter() - start < 5.0


def test_single_stream_texts() -> None:
    lat = sorted_ns(range(1, 660))
    r = percentile_early_stopping(lat, 659, 0.9, single_stream=True)
    assert r.passed and r.overlatency_count == 48 and r.estimate_ns == int(lat[659 - 48])
    assert r.text == (
        " * Processed at least 64 queries (659).\n"
        " * Would discard 47 highest latency queries.\n"
        f" * Early stopping 90.0th percentile estimate: {r.estimate_ns}\n"
        " * Not enough queries processed for 99.0th percentile\n"
        " early stopping estimate (would need to process at\n"
        " least 662 total queries)."
    )
    short = percentile_early_stopping(lat[:50], 50, 0.9, single_stream=True)
    assert not short.passed
    assert short.text == (
        " * Only processed 50 queries.\n * Need to process at least 64 queries for early stopping."
    )
    assert short.detail_text == short.text.replace("\n", " ")


def test_server_texts() -> None:
    ok = server_early_stopping_from_count(0, 459, 0.99)
    assert ok.passed and ok.text == " * Run successful."
    bad = server_early_stopping_from_count(1, 392, 0.99)
    assert not bad.passed and bad.queries_required == 662
    assert bad.text == (
        " * Run unsuccessful.\n * Processed 392 queries.\n"
        " * Would need to run at least 270 more queries,\n"
        " with the run being successful if every additional\n query were under latency."
    )


def test_fig_4_7_query_counts() -> None:
    assert norms_inv(0.005) == pytest.approx(-2.5758293035489, abs=1e-12)
    assert [queries_for_percentile(p) for p in (0.90, 0.95, 0.99)] == [23_886, 50_425, 262_742]
    assert [required_queries(p) for p in (0.90, 0.95, 0.99)] == [24_576, 57_344, 270_336]
    assert required_queries(0.97) == 90_112  # "90K" for machine translation (Fig. 4.8)
    assert round_up_to_multiple(8192) == 8192


def test_norms_inv_against_scipy() -> None:
    norm = pytest.importorskip("scipy.stats").norm
    for q in (1e-10, 0.001, 0.02, 0.3, 0.5, 0.9, 0.99, 0.999999):
        assert norms_inv(q) == pytest.approx(norm.ppf(q), rel=1e-12, abs=1e-12)
