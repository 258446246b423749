"""The event log's filters: which columns a caller may match, each value checked, into SQL
conditions with bound parameters. The API and the CLI's store path both come through here,
so a bad value is refused the same way (app.errors.Refused naming the filter).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.errors import Refused

# Filter name -> events column matched with `=`. Identifiers come only from here.
EXACT_FILTERS: dict[str, str] = {
    "event_type": "event_type",
    "site_key": "site_key",
    "partner_id": "partner_id",
    "campaign_id": "campaign_id",
    "placement_id": "placement_id",
    "creative_id": "creative_id",
    "link_code": "link_code",
    "click_id": "click_id",
    "visitor_id": "visitor_id",
    "order_id": "order_id",
    "device_type": "device_type",
    "os": "os",
    "browser": "browser",
}
# A region filter takes a GB/T 2260 code or the name as the events store it.
REGION_FILTERS: dict[str, tuple[str, str]] = {
    "province": ("province_code", "province"),
    "city": ("city_code", "city"),
}
EVENT_FILTERS: tuple[str, ...] = (*EXACT_FILTERS, *REGION_FILTERS, "since")

EVENT_TYPES = frozenset({"impression", "click", "visit", "event", "order"})
DEVICE_TYPES = frozenset({"desktop", "mobile", "tablet", "bot", "other"})  # app/geo/device.py
_MAX_LEN = 128
_REGION_CODE = re.compile(r"^\d{6}\Z")
_DURATION = re.compile(r"^(\d{1,6})([smhd])\Z")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
SINCE_HINT = "must be an ISO date or date-time (UTC unless it says), or a duration: 15m, 2h, 7d"


@dataclass(frozen=True)
class EventQuery:
    """Checked filters: (condition, parameters) ready for a WHERE clause."""

    conditions: tuple[str, ...]
    params: dict[str, Any]


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`since` as a UTC moment: an ISO date or date-time, or a duration back from now."""
    now = now or datetime.now(UTC)
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        moment = now - timedelta(seconds=int(match[1]) * _UNIT_S[match[2]])
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise Refused.one("since", SINCE_HINT) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    if not _EARLIEST <= moment <= now + timedelta(days=1):
        raise Refused.one("since", "must be between 1970-01-01 and now")
    return moment.astimezone(UTC)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Refused.one(name, "must be text")
    if len(value) > _MAX_LEN:
        raise Refused.one(name, f"at most {_MAX_LEN} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise Refused.one(name, "has control characters")
    return value


def event_query(filters: Mapping[str, Any], now: datetime | None = None) -> EventQuery:
    """Refused naming the first bad filter (an unknown name too); None or "" is no condition."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for name, raw in filters.items():
        if raw is None or raw == "":
            continue
        if name not in EVENT_FILTERS:
            raise Refused.one(name, f"not a filter; one of {', '.join(EVENT_FILTERS)}")
        if name == "since":
            params["f_since"] = parse_since(_text(name, raw), now)
            conditions.append("ts >= {f_since:DateTime64(3, 'UTC')}")
            continue
        value = _text(name, raw)
        if name == "event_type" and value not in EVENT_TYPES:
            raise Refused.one(name, f"must be one of {', '.join(sorted(EVENT_TYPES))}")
        if name == "device_type" and value not in DEVICE_TYPES:
            raise Refused.one(name, f"must be one of {', '.join(sorted(DEVICE_TYPES))}")
        key = f"f_{name}"
        params[key] = value
        if name in REGION_FILTERS:
            code_col, name_col = REGION_FILTERS[name]
            column = code_col if _REGION_CODE.match(value) else name_col
            conditions.append(f"{column} = {{{key}:String}}")
        else:
            conditions.append(f"{EXACT_FILTERS[name]} = {{{key}:String}}")
    return EventQuery(tuple(conditions), params)
