"""Attribution models over aggregated journeys: rule-based, Markov removal effect, Shapley."""

from app.attribution.models.journeys import Attribution, Journey, aggregate, channels_of
from app.attribution.models.markov import MarkovResult, markov
from app.attribution.models.rules import (
    first_click,
    last_click,
    linear,
    position_based,
    time_decay,
)
from app.attribution.models.shapley import OTHER, ShapleyValue, shapley

__all__ = [
    "OTHER",
    "Attribution",
    "Journey",
    "MarkovResult",
    "ShapleyValue",
    "aggregate",
    "channels_of",
    "first_click",
    "last_click",
    "linear",
    "markov",
    "position_based",
    "shapley",
    "time_decay",
]
