"""The funnel's vocabulary, shared by the two paths that answer a funnel (the events,
`funnel.py`, and the daily rollup, `funnel_rollup.py`): its steps, its defaults, the
dimensions an entry is keyed by and the sums both paths add up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.attribution.filters import LIST_COLUMNS, Filter, FilterError
from app.ingest.record import EVENT_TYPES

MAX_STEPS = 16
DEFAULT_WINDOW_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Step:
    """One funnel step: an event type, narrowed to one event name when given."""

    event_type: str
    event_name: str = ""

    @classmethod
    def parse(cls, text: str) -> Step:
        """`click`, `order`, `event:signup`."""
        event_type, _, event_name = text.partition(":")
        return cls(event_type, event_name)

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            raise FilterError(f"unknown event type {self.event_type!r}", "steps")

    @property
    def label(self) -> str:
        return f"{self.event_type}:{self.event_name}" if self.event_name else self.event_type


DEFAULT_STEPS = (Step("impression"), Step("click"), Step("visit"), Step("order"))


def unit_dimensions(flt: Filter, by: str | None) -> tuple[str, ...]:
    """The dimensions an entry is keyed by besides person and day: the split (unless `day`,
    which the entry has anyway) and every filtered dimension, sorted, `by` first."""
    filtered = {name for name in LIST_COLUMNS if getattr(flt, name)}
    if flt.channel_type:
        filtered.add("channel")
    rest = sorted(filtered - {by})
    return (by, *rest) if by and by != "day" else tuple(rest)


@dataclass
class Sums:
    """Entries per step and the gap histogram of one row, as added up over days or units."""

    entries: list[int]
    gaps: dict[int, int]  # histogram key -> count

    def add(self, entries: Sequence[int], histogram: tuple[Sequence[int], Sequence[int]]) -> None:
        for i, count in enumerate(entries):
            self.entries[i] += int(count)
        for key, count in zip(*histogram, strict=True):
            self.gaps[int(key)] = self.gaps.get(int(key), 0) + int(count)
