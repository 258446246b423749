"""Rule-based models: each converting journey's conversions and revenue split by touch weights."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from app.attribution.models.journeys import Attribution, Journey, empty_credit

# Weights for one journey's touches, summing to 1; a channel touched twice gets both shares.
TouchWeights = Callable[[Journey], Sequence[float]]

DEFAULT_HALF_LIFE = timedelta(days=7)


def _by_weights(model: str, journeys: Sequence[Journey], weights: TouchWeights) -> Attribution:
    conversions = empty_credit(journeys)
    revenue = dict(conversions)
    for journey in journeys:
        if journey.conversions == 0 and journey.revenue == 0:
            continue
        value = float(journey.revenue)
        for channel, w in zip(journey.path, weights(journey), strict=True):
            conversions[channel] += journey.conversions * w
            revenue[channel] += value * w
    return Attribution(model, conversions, revenue)


def _last(journey: Journey) -> list[float]:
    weights = [0.0] * len(journey.path)
    weights[-1] = 1.0
    return weights


def _first(journey: Journey) -> list[float]:
    weights = [0.0] * len(journey.path)
    weights[0] = 1.0
    return weights


def _linear(journey: Journey) -> list[float]:
    n = len(journey.path)
    return [1.0 / n] * n


def _position(journey: Journey) -> list[float]:
    n = len(journey.path)
    if n == 1:
        return [1.0]
    if n == 2:
        return [0.5, 0.5]
    # 40/20/40: the ends keep 40% each even when the middle is long.
    return [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]


def last_click(journeys: Sequence[Journey]) -> Attribution:
    """All credit to the last touch."""
    return _by_weights("last_click", journeys, _last)


def first_click(journeys: Sequence[Journey]) -> Attribution:
    """All credit to the first touch."""
    return _by_weights("first_click", journeys, _first)


def linear(journeys: Sequence[Journey]) -> Attribution:
    """Equal credit 1/n to each of the n touches."""
    return _by_weights("linear", journeys, _linear)


def position_based(journeys: Sequence[Journey]) -> Attribution:
    """40% first, 40% last, 20% spread over the middle; one touch 100%, two touches 50/50."""
    return _by_weights("position_based", journeys, _position)


def time_decay(
    journeys: Sequence[Journey], half_life: timedelta = DEFAULT_HALF_LIFE
) -> Attribution:
    """Touch i weighs 2^(-age_i / half_life), normalised over the journey's touches.

    Converting journeys must carry `touch_ages`; non-converting ones are ignored.
    """
    half_life_s = half_life.total_seconds()
    if half_life_s <= 0:
        raise ValueError("half_life must be positive")

    def weights(journey: Journey) -> list[float]:
        if journey.touch_ages is None:
            raise ValueError(f"time decay needs touch_ages for path {journey.path!r}")
        # Shifting every age by the youngest one leaves the normalised weights unchanged and
        # keeps the youngest at 1, so very old journeys cannot underflow to 0/0.
        youngest = min(max(age, 0.0) for age in journey.touch_ages)
        raw = [2.0 ** (-(max(age, 0.0) - youngest) / half_life_s) for age in journey.touch_ages]
        total = sum(raw)
        return [r / total for r in raw]

    return _by_weights("time_decay", journeys, weights)
