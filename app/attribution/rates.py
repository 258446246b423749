"""Ranking channels (partners, sites, placements, creatives) honestly with small numbers.

Every rate carries a Wilson score interval and rows rank by its lower bound. A lower bound
alone still lets a tiny sample through (1 order from 2 clicks: 9.5% at 95%), so rows with
fewer than `min_trials` trials rank after every row that has enough, whatever their rate:
a channel with 2 clicks and 1 order never tops one with 2,000 clicks and 200 orders. Each
row is tagged against the pooled rate of all rows (`verdict`):

- `not_enough_data`: fewer than `min_trials` trials (at least one), whatever the interval;
- `winner`: enough trials and even the lower bound beats the pooled rate;
- `loser`: enough trials and even the upper bound falls short of it;
- `inconclusive`: enough trials, but the interval holds the pooled rate: the sample is big
  enough to read and it does not differ from the average — not "keep testing".

That is the "test with a slice of the budget, then shift" playbook of media buyers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist

WINNER, LOSER, INCONCLUSIVE, NOT_ENOUGH_DATA = "winner", "loser", "inconclusive", "not_enough_data"
VERDICTS = (WINNER, LOSER, INCONCLUSIVE, NOT_ENOUGH_DATA)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of successes/trials; (0, 1) when there are no trials."""
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be within 0..trials, got {successes}/{trials}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class RateRow:
    """One row of a ranking: a dimension value and the counts of one rate."""

    key: str
    successes: int  # e.g. orders, clicks
    trials: int  # e.g. clicks, impressions


@dataclass(frozen=True)
class Ranked:
    key: str
    successes: int
    trials: int
    rate: float | None  # None without trials
    low: float
    high: float
    rank: int  # 1 = best lower bound
    verdict: str  # winner | loser | inconclusive | not_enough_data


MIN_TRIALS = 30


def enough_trials(trials: int, min_trials: int = MIN_TRIALS) -> bool:
    """Whether a row has the sample a verdict needs: `min_trials` trials, and at least one."""
    return trials >= max(min_trials, 1)


def verdict(low: float, high: float, pooled: float, enough: bool) -> str:
    """The verdict of a row's interval (low, high) against the pooled rate of all rows."""
    if not enough:
        return NOT_ENOUGH_DATA
    if low > pooled:
        return WINNER
    if high < pooled:
        return LOSER
    return INCONCLUSIVE


def rank_rates(
    rows: Sequence[RateRow], confidence: float = 0.95, min_trials: int = MIN_TRIALS
) -> list[Ranked]:
    """Rows with enough trials first, each group best first by the lower bound of the rate
    (ties: more trials first, then key), each row tagged against the pooled rate."""
    total_s = sum(r.successes for r in rows)
    total_t = sum(r.trials for r in rows)
    pooled = total_s / total_t if total_t else 0.0
    scored = []
    for row in rows:
        low, high = wilson_interval(row.successes, row.trials, confidence)
        tag = verdict(low, high, pooled, enough_trials(row.trials, min_trials))
        rate = row.successes / row.trials if row.trials else None
        scored.append((row, rate, low, high, tag))
    scored.sort(
        key=lambda item: (item[0].trials < min_trials, -item[2], -item[0].trials, item[0].key)
    )
    return [
        Ranked(row.key, row.successes, row.trials, rate, low, high, n, tag)
        for n, (row, rate, low, high, tag) in enumerate(scored, start=1)
    ]


# -- the scoreboard's rules: rates that may overflow, ratios, orderings, period changes ------


@dataclass(frozen=True)
class Rate:
    """A rate with its Wilson interval. Counted events need not nest (an order whose click
    fell before the range, a second order from one click, a click without an impression
    pixel), so successes may exceed trials: then the interval is that of successes = trials
    and `capped` says so, while `rate` stays the plain quotient."""

    successes: int
    trials: int
    rate: float | None  # None without trials
    low: float
    high: float
    capped: bool


def rate_of(successes: int, trials: int, confidence: float = 0.95) -> Rate:
    capped = successes > trials
    low, high = wilson_interval(min(successes, trials), trials, confidence)
    rate = successes / trials if trials else None
    return Rate(successes, trials, rate, low, high, capped)


def capped_row(key: str, successes: int, trials: int) -> RateRow:
    """The RateRow `rank_rates` can take for counts that may overflow (see `Rate`)."""
    return RateRow(key, min(successes, trials), trials)


def ratio(numerator: Decimal | int, denominator: Decimal | int | None) -> float | None:
    """numerator / denominator as a float; None when the denominator is unknown or zero."""
    if denominator is None or not denominator:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


def order_by_value(
    items: Sequence[tuple[str, float | None, bool]], *, descending: bool
) -> list[str]:
    """Keys of (key, metric, enough data) items: enough data first, then known metrics best
    first (largest, or smallest for costs), unknown metrics last, ties by key."""

    def sort_key(item: tuple[str, float | None, bool]) -> tuple[bool, bool, float, str]:
        key, value, enough = item
        known = value is not None
        score = 0.0 if value is None else (-value if descending else value)
        return (not enough, not known, score, key)

    return [item[0] for item in sorted(items, key=sort_key)]


def change(current: float | None, previous: float | None) -> dict[str, float | None]:
    """The absolute change, and the relative one (None from zero or an unknown)."""
    if current is None or previous is None:
        return {"abs": None, "rel": None}
    diff = current - previous
    return {"abs": diff, "rel": diff / previous if previous else None}
