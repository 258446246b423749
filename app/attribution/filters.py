"""The typed filter every analytics query takes, and the WHERE fragment built from it.

Values travel only as bound parameters (`{name:Type}`); the column names and dimension
expressions come only from the allow-lists here. Dates are calendar days in the report's time
zone (Asia/Shanghai unless told), turned into a half-open UTC range on `ts`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.zones import ZONE_HINT, known_zone

DEFAULT_TZ = "Asia/Shanghai"
# Days a report may be asked for: those the engine's Date and DateTime hold (1970 to 2106).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2105, 12, 31)
MAX_SPAN_DAYS = 3660  # ten years
# A report's look-backs (returning visitors, attribution, referral history, a previous
# period) widen an asked range by at most the span again plus ten years: its own filters
# stay inside what DateTime64 holds (1900 to 2299) and Python's dates can shift.
_HARD_FIRST, _HARD_LAST = date(1900, 1, 2), date(2299, 12, 30)
# New vs returning: a visitor is returning when its `visitor_id` has a visit (any site, any
# other filter) in the `returning_days` before the range start, new otherwise.
VISITOR_KINDS = ("new", "returning")
RETURNING_DAYS = 90
MAX_RETURNING_DAYS = 366

# Filter field -> `events` column; a list filter is `column IN {field:Array(String)}`.
LIST_COLUMNS: dict[str, str] = {
    "channel": "channel",
    "partner_id": "partner_id",
    "site_key": "site_key",
    "campaign_id": "campaign_id",
    "placement_id": "placement_id",
    "creative_id": "creative_id",
    "link_code": "link_code",
    "province_code": "province_code",
    "city_code": "city_code",
    "device_type": "device_type",
    "os": "os",
    "browser": "browser",
    "isp": "isp",
}

# Visitors with a visit in the look-back (`returning_window`, bound by every `where`).
PRIOR_VISITORS = """(SELECT visitor_id FROM events WHERE event_type = 'visit' AND visitor_id != ''
    AND ts >= {prior_from:DateTime64(3, 'UTC')} AND ts < {prior_to:DateTime64(3, 'UTC')})"""

# Dimension (API name) -> column expression over `events`. `{tz:String}` and the returning
# window are always bound by `where`, so `day` and `hour` are the report's calendar, not
# UTC's, and `visitor` (new / returning; '' without a visitor id) is the filter's test.
DIMENSIONS: dict[str, str] = {
    **LIST_COLUMNS,
    # The geo databases spell one province several ways (北京, 北京市; 广东, 广东省): split by
    # its GB/T 2260 code wherever the loader found one (the labeller names it), by the raw
    # name only for places outside the code table.
    "province": "if(province_code != '', province_code, province)",
    "city": "if(city_code != '', city_code, city)",
    "event_name": "event_name",
    "day": "toString(toDate(ts, {tz:String}))",
    "hour": "toString(toHour(toTimeZone(ts, {tz:String})))",
    "visitor": f"if(visitor_id = '', '', if(visitor_id IN {PRIOR_VISITORS}, 'returning', 'new'))",
}


class FilterError(ValueError):
    """A filter that cannot be turned into a query (bad zone, empty range, unknown name);
    `field` is the parameter at fault when known."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def check_day(name: str, day: date) -> None:
    """FilterError naming `name` unless `day` is one a report may be asked for."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FilterError(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY}", name)


def check_range(start: date, end: date, names: tuple[str, str] = ("start", "end")) -> None:
    """FilterError naming the start or the end (as `names` call them) unless start..end is a
    range a report may be asked for: days within FIRST_DAY..LAST_DAY, end not before start,
    at most MAX_SPAN_DAYS days."""
    first, last = names
    check_day(first, start)
    check_day(last, end)
    if end < start:
        raise FilterError(f"{last} {end} is before {first} {start}", last)
    if (end - start).days >= MAX_SPAN_DAYS:
        raise FilterError(f"at most {MAX_SPAN_DAYS} days from {first} to {last}", last)


@dataclass(frozen=True)
class Filter:
    """Which events a report reads: `start`..`end` are inclusive calendar days in `tz`."""

    start: date
    end: date
    tz: str = DEFAULT_TZ
    channel_type: tuple[str, ...] = ()  # catalog channel types, e.g. ("search", "campus")
    channel: tuple[str, ...] = ()
    partner_id: tuple[str, ...] = ()
    site_key: tuple[str, ...] = ()
    campaign_id: tuple[str, ...] = ()
    placement_id: tuple[str, ...] = ()
    creative_id: tuple[str, ...] = ()
    link_code: tuple[str, ...] = ()
    province_code: tuple[str, ...] = ()
    city_code: tuple[str, ...] = ()
    device_type: tuple[str, ...] = ()
    os: tuple[str, ...] = ()
    browser: tuple[str, ...] = ()
    isp: tuple[str, ...] = ()
    include_bots: bool = False
    visitor: str = ""  # "" (everyone), "new" or "returning"
    returning_days: int = RETURNING_DAYS

    @classmethod
    def asked(cls, start: date, end: date, **given: Any) -> Filter:
        """The filter a user asks for (API query, CLI flags): its range checked as well, see
        check_range. Reports widen it for their look-backs with `dataclasses.replace`."""
        check_range(start, end)
        return cls(start, end, **given)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise FilterError(f"end {self.end} is before start {self.start}", "end")
        for name in ("start", "end"):
            if not _HARD_FIRST <= getattr(self, name) <= _HARD_LAST:
                raise FilterError(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY}", name)
        if self.visitor not in ("", *VISITOR_KINDS):
            raise FilterError(f"visitor must be one of {', '.join(VISITOR_KINDS)}", "visitor")
        if not 1 <= self.returning_days <= MAX_RETURNING_DAYS:
            raise FilterError(f"returning_days must be 1 to {MAX_RETURNING_DAYS}", "returning_days")
        if not known_zone(self.tz):
            raise FilterError(ZONE_HINT, "tz")
        for f in fields(self):
            if f.name in LIST_COLUMNS or f.name == "channel_type":
                value = getattr(self, f.name)
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise FilterError(f"{f.name} must be a sequence of strings", f.name)
                # Frozen: normalise lists to sorted tuples so equal filters give equal SQL.
                object.__setattr__(self, f.name, tuple(sorted(set(value))))

    def utc_range(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of `start` to local midnight after `end`."""
        zone = ZoneInfo(self.tz)
        start = datetime.combine(self.start, time(), zone).astimezone(UTC)
        end = datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end


def returning_window(flt: Filter, as_of: date | None = None) -> tuple[datetime, datetime]:
    """[from, to) in UTC of the visits that make a visitor returning: the `returning_days`
    before `as_of` (the filter's start unless told), local midnights."""
    day = as_of or flt.start
    zone = ZoneInfo(flt.tz)
    since = day - timedelta(days=flt.returning_days)
    return (
        datetime.combine(since, time(), zone).astimezone(UTC),
        datetime.combine(day, time(), zone).astimezone(UTC),
    )


def where(flt: Filter, *, visitor_as_of: date | None = None) -> tuple[str, dict[str, Any]]:
    """The WHERE fragment (no `WHERE` keyword) over bare `events` columns, and its parameters.

    Always binds `start`, `end` and `tz`; list filters that are empty add nothing. A report
    that widens the range (look-backs) passes the original start as `visitor_as_of`, so new
    vs returning keeps meaning "before the range the user asked for".
    """
    start, end = flt.utc_range()
    conditions = ["ts >= {start:DateTime64(3, 'UTC')}", "ts < {end:DateTime64(3, 'UTC')}"]
    params: dict[str, Any] = {"start": start, "end": end, "tz": flt.tz}
    params["prior_from"], params["prior_to"] = returning_window(flt, visitor_as_of)
    if not flt.include_bots:
        conditions.append("is_bot = 0")
    if flt.channel_type:
        conditions.append(
            "channel IN (SELECT id FROM channels FINAL WHERE type IN {channel_type:Array(String)})"
        )
        params["channel_type"] = list(flt.channel_type)
    for name, column in LIST_COLUMNS.items():
        values = getattr(flt, name)
        if values:
            conditions.append(f"{column} IN {{{name}:Array(String)}}")
            params[name] = list(values)
    if flt.visitor:
        # An event without a visitor id is neither new nor returning.
        op = "IN" if flt.visitor == "returning" else "NOT IN"
        conditions.append(f"visitor_id != '' AND visitor_id {op} {PRIOR_VISITORS}")
    return " AND ".join(conditions), params


def dimension(name: str, field: str = "by") -> str:
    """The column expression of an allow-listed dimension; FilterError naming `field` (the
    parameter that asked for it: every report calls it `by`) for any other name."""
    try:
        return DIMENSIONS[name]
    except KeyError:
        raise FilterError(
            f"unknown dimension {name!r}; one of: {', '.join(sorted(DIMENSIONS))}", field
        ) from None
