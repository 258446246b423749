"""Targeting specs compiled to matchers: sets and tuples built once per catalog refresh, so a
decision on the hit path is a handful of set lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Shanghai"

# How closely a matching rule fits the visitor; the most specific matching rule wins.
CITY, PROVINCE, COUNTRY, ANYONE = 3, 2, 1, 0


class Visitor(NamedTuple):
    """What targeting knows about the visitor behind one hit; "" where unknown."""

    country: str = ""
    province: str = ""  # GB/T 2260 province code, e.g. 150000
    city: str = ""  # prefecture code, e.g. 150100
    device: str = ""  # desktop | mobile | tablet | bot | other
    os: str = ""  # android | ios | harmonyos | windows | macos | linux | other
    carrier: str = ""  # china_mobile | china_unicom | china_telecom | …


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def local_time(ts_ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz)


@dataclass(frozen=True)
class Matcher:
    countries: frozenset[str] = frozenset()
    exclude_countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    exclude_regions: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    os: frozenset[str] = frozenset()
    carriers: frozenset[str] = frozenset()
    weekdays: frozenset[int] = frozenset()
    hours: tuple[tuple[int, int], ...] = ()
    tz: ZoneInfo = ZoneInfo(DEFAULT_TZ)

    @property
    def needs_visitor(self) -> bool:
        return bool(
            self.countries or self.exclude_countries or self.regions or self.exclude_regions
            or self.devices or self.os or self.carriers
        )  # fmt: skip

    @property
    def is_empty(self) -> bool:
        return not (self.needs_visitor or self.weekdays or self.hours)

    def match(self, visitor: Visitor, ts_ms: int) -> int | None:
        """The rule's specificity for this visitor (CITY … ANYONE), or None: no match."""
        if self.weekdays or self.hours:
            now = local_time(ts_ms, self.tz)
            if self.weekdays and now.isoweekday() not in self.weekdays:
                return None
            if self.hours and not any(a <= now.hour < b for a, b in self.hours):
                return None
        fit = ANYONE
        if self.countries:
            if visitor.country not in self.countries:
                return None
            fit = COUNTRY
        if visitor.country in self.exclude_countries:
            return None
        if self.regions:
            if visitor.city and visitor.city in self.regions:
                fit = CITY
            elif visitor.province and visitor.province in self.regions:
                fit = PROVINCE
            else:
                return None
        if self.exclude_regions and (
            visitor.province in self.exclude_regions or visitor.city in self.exclude_regions
        ):
            return None
        if self.devices and visitor.device not in self.devices:
            return None
        if self.os and visitor.os not in self.os:
            return None
        if self.carriers and visitor.carrier not in self.carriers:
            return None
        return fit


ANY = Matcher()


def compile_targeting(spec: dict[str, Any] | None, tz: str = DEFAULT_TZ) -> Matcher:
    """`spec` as normalised by `spec.normalize`; unknown keys are ignored here."""
    if not spec:
        return ANY if not tz or tz == DEFAULT_TZ else Matcher(tz=zone(tz))
    return Matcher(
        countries=frozenset(spec.get("countries", ())),
        exclude_countries=frozenset(spec.get("exclude_countries", ())),
        regions=frozenset(spec.get("regions", ())),
        exclude_regions=frozenset(spec.get("exclude_regions", ())),
        devices=frozenset(spec.get("devices", ())),
        os=frozenset(spec.get("os", ())),
        carriers=frozenset(spec.get("carriers", ())),
        weekdays=frozenset(spec.get("weekdays", ())),
        hours=tuple((int(a), int(b)) for a, b in spec.get("hours", ())),
        tz=zone(tz),
    )


@dataclass(frozen=True)
class Flight:
    """A campaign's run: status and start/end dates (inclusive, in its time zone)."""

    active: bool
    start: date | None
    end: date | None
    tz: ZoneInfo

    def running(self, ts_ms: int) -> bool:
        if not self.active:
            return False
        if self.start is None and self.end is None:
            return True
        today = local_time(ts_ms, self.tz).date()
        return (self.start is None or today >= self.start) and (
            self.end is None or today <= self.end
        )
