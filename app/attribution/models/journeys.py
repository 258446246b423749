"""The plain-data input (aggregated journeys) and output (per-channel credit) of every model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Journey:
    """One distinct touch path and what the visitors who followed it did.

    `path` holds the touch values in time order; a value may be any dimension (channel,
    partner, campaign, placement). `conversions` and `revenue` are totals over the visitors
    on this path; `nulls` counts those who did not convert. `touch_ages` (seconds from each
    touch to the conversion, same length as `path`) is needed only by time decay, so rows
    that carry it are aggregated per (path, ages) rather than per path.
    """

    path: tuple[str, ...]
    conversions: int = 0
    revenue: float | Decimal = 0.0
    nulls: int = 0
    touch_ages: tuple[float, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        # Models divide by path length and walk paths from a start state; a path without
        # touches has nothing to credit, so the caller must map it (e.g. to "direct").
        if not self.path:
            raise ValueError("a journey needs at least one touch")
        if self.conversions < 0 or self.nulls < 0:
            raise ValueError("conversions and nulls must be >= 0")
        if self.touch_ages is not None and len(self.touch_ages) != len(self.path):
            raise ValueError("touch_ages must have one entry per touch")


@dataclass(frozen=True, slots=True)
class Attribution:
    """Credit per channel from one model; every channel seen in the input has an entry."""

    model: str
    conversions: dict[str, float]
    revenue: dict[str, float]

    @property
    def total_conversions(self) -> float:
        return sum(self.conversions.values())

    @property
    def total_revenue(self) -> float:
        return sum(self.revenue.values())


def channels_of(journeys: Iterable[Journey]) -> list[str]:
    """Every channel touched in any journey, converting or not, sorted for stable output."""
    seen: set[str] = set()
    for journey in journeys:
        seen.update(journey.path)
    return sorted(seen)


def aggregate(journeys: Iterable[Journey]) -> list[Journey]:
    """Merge journeys with the same path (and touch ages), summing their counts."""
    merged: dict[tuple[tuple[str, ...], tuple[float, ...] | None], list[float]] = {}
    for j in journeys:
        key = (j.path, j.touch_ages)
        acc = merged.setdefault(key, [0, 0.0, 0])
        acc[0] += j.conversions
        acc[1] += float(j.revenue)
        acc[2] += j.nulls
    return [
        Journey(path, int(c), revenue, int(n), ages)
        for (path, ages), (c, revenue, n) in merged.items()
    ]


def empty_credit(journeys: Iterable[Journey]) -> dict[str, float]:
    """A zero entry for every channel, so channels that earned nothing still show up."""
    return dict.fromkeys(channels_of(journeys), 0.0)
