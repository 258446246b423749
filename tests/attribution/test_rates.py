"""Honest ranking: Wilson intervals against known values, small samples never on top, and
winner/loser only when the interval clears the pooled rate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.attribution.rates import (
    INCONCLUSIVE,
    LOSER,
    NOT_ENOUGH_DATA,
    WINNER,
    RateRow,
    rank_rates,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Reference values (z = 1.959964): Newcombe (1998), and computed by hand from
        # (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
        (1, 2, 0.09453, 0.90547),
        (0, 10, 0.0, 0.27753),
        (10, 10, 0.72247, 1.0),
    ],
)
def test_wilson_interval_known_values(successes, trials, low, high):
    got = wilson_interval(successes, trials)
    assert got == pytest.approx((low, high), abs=1e-5)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_bounds_solve_the_score_equation(pair):
    """Wilson's bounds are the p where |p_hat - p| = z * sqrt(p(1-p)/n), found here by
    bisection: an independent check of the closed form."""
    successes, trials = pair
    z, p_hat = 1.959963984540054, successes / trials

    def gap(p: float) -> float:
        return abs(p_hat - p) - z * (p * (1 - p) / trials) ** 0.5

    def root(lo: float, hi: float) -> float:  # gap(lo) and gap(hi) differ in sign
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if (gap(mid) > 0) == (gap(lo) > 0) else (lo, mid)
        return (lo + hi) / 2

    low, high = wilson_interval(successes, trials)
    assert low == pytest.approx(0.0 if successes == 0 else root(0.0, p_hat), abs=1e-9)
    assert high == pytest.approx(1.0 if successes == trials else root(p_hat, 1.0), abs=1e-9)


def test_no_trials_is_the_whole_range():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_two_clicks_and_one_order_do_not_top_the_table():
    ranked = rank_rates(
        [RateRow("lucky", 1, 2), RateRow("portal", 200, 2000), RateRow("forum", 30, 2000)]
    )
    assert [r.key for r in ranked] == ["portal", "forum", "lucky"]  # too few clicks: last
    verdicts = {r.key: r.verdict for r in ranked}
    # pooled 231/4002 = 5.8%: portal's 10% (low 8.8%) wins, forum's 1.5% (high 2.1%) loses
    assert verdicts == {"portal": WINNER, "lucky": NOT_ENOUGH_DATA, "forum": LOSER}
    assert ranked[2].rate == 0.5 and ranked[2].rank == 3
    # Without the minimum, its lower bound (9.5%) would beat portal's (8.8%).
    assert [r.key for r in rank_rates([RateRow("lucky", 1, 2), RateRow("portal", 200, 2000)],
                                      min_trials=0)] == ["lucky", "portal"]  # fmt: skip


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=12))
def test_intervals_hold_the_rate_and_ranks_follow_lower_bounds(pairs):
    rows = [RateRow(f"k{i}", min(s, t), t) for i, (s, t) in enumerate(pairs)]
    ranked = rank_rates(rows)
    assert [r.rank for r in ranked] == list(range(1, len(rows) + 1))
    for a, b in zip(ranked, ranked[1:], strict=False):
        small_a, small_b = a.trials < 30, b.trials < 30
        assert small_a <= small_b  # enough data first
        if small_a == small_b:
            assert a.low >= b.low
    for r in ranked:
        assert 0.0 <= r.low <= r.high <= 1.0
        if r.rate is not None:
            assert r.low - 1e-12 <= r.rate <= r.high + 1e-12
        if r.trials < 30:
            assert r.verdict == NOT_ENOUGH_DATA


def test_the_four_verdicts_on_a_scripted_sample():
    """Pooled rate 75/2112 = 3.551%; intervals by hand from the closed form (z = 1.959964)."""
    ranked = rank_rates(
        [RateRow("search", 60, 1000), RateRow("download", 10, 1000), RateRow("portal", 3, 92),
         RateRow("campus", 2, 20)]
    )  # fmt: skip
    got = {r.key: ((round(r.low, 5), round(r.high, 5)), r.verdict) for r in ranked}
    assert got == {
        # 6.0%: even the low end 4.69% beats 3.55%.
        "search": ((0.0469, 0.07647), WINNER),
        # 1.0%: even the high end 1.83% falls short of 3.55%.
        "download": ((0.00544, 0.01831), LOSER),
        # 92 clicks (enough) at 3.3%: 1.12%–9.15% holds 3.55%, the demo partner's case.
        "portal": ((0.01115, 0.09153), INCONCLUSIVE),
        # 20 clicks: under the 30-click minimum, whatever the interval says.
        "campus": ((0.02787, 0.30103), NOT_ENOUGH_DATA),
    }


@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), min_size=1, max_size=10),
    st.integers(0, 100),
)
def test_not_enough_data_means_too_few_trials_and_nothing_else(pairs, min_trials):
    """The verdict never contradicts the sample: `not_enough_data` exactly under the minimum
    (and at zero trials); with enough, the interval against the pooled rate decides."""
    rows = [RateRow(f"k{i}", min(s, t), t) for i, (s, t) in enumerate(pairs)]
    pooled = sum(r.successes for r in rows) / max(1, sum(r.trials for r in rows))
    for r in rank_rates(rows, min_trials=min_trials):
        enough = r.trials >= max(min_trials, 1)
        assert (r.verdict == NOT_ENOUGH_DATA) == (not enough)
        if enough:
            assert (r.verdict == WINNER) == (r.low > pooled)
            assert (r.verdict == LOSER) == (r.high < pooled)
            assert (r.verdict == INCONCLUSIVE) == (r.low <= pooled <= r.high)


def test_rates_that_overflow_are_capped_for_the_interval_only():
    from app.attribution.rates import rate_of

    over = rate_of(5, 3)
    assert over.rate == pytest.approx(5 / 3) and over.capped
    assert (over.low, over.high) == wilson_interval(3, 3)
    none = rate_of(4, 0)
    assert none.rate is None and (none.low, none.high) == (0.0, 1.0)
    assert not rate_of(1, 2).capped


def test_value_orderings_ratios_and_changes():
    from decimal import Decimal

    from app.attribution.rates import change, order_by_value, ratio

    items = [("a", 2.0, True), ("b", None, True), ("c", 9.0, False), ("d", 5.0, True)]
    assert order_by_value(items, descending=True) == ["d", "a", "b", "c"]
    assert order_by_value(items, descending=False) == ["a", "d", "b", "c"]
    assert ratio(Decimal("10.00"), 4) == 2.5
    assert ratio(1, 0) is None and ratio(1, None) is None
    assert change(3.0, 2.0) == {"abs": 1.0, "rel": 0.5}
    assert change(3, 0) == {"abs": 3, "rel": None}
    assert change(None, 2.0) == {"abs": None, "rel": None}
