"""The visits' time-of-day and day-of-week distribution (/stats/distribution): visits and
visitors per local hour (0-23) or ISO weekday (1 = Monday) in the filter's time zone."""

from __future__ import annotations

from typing import Any

from app.attribution.filters import Filter, FilterError, where
from app.attribution.report import Column, Param, Report
from app.store.client import Store

UNITS = {
    "hour": ("toHour(toTimeZone(ts, {tz:String}))", range(24)),
    "weekday": ("toDayOfWeek(ts, 0, {tz:String})", range(1, 8)),  # 1 = Monday
}


def build_distribution(flt: Filter, unit: str = "hour") -> tuple[str, dict[str, Any]]:
    if unit not in UNITS:
        raise FilterError(f"unknown unit {unit!r}; one of: {', '.join(UNITS)}", "unit")
    condition, params = where(flt)
    sql = f"""
SELECT {UNITS[unit][0]} AS slot, count() AS visits, uniqExactIf(visitor_id, visitor_id != '')
FROM events
WHERE {condition} AND event_type = 'visit'
GROUP BY slot
ORDER BY slot
"""  # noqa: S608 (the unit expression comes from the allow-list; values are bound)
    return sql, params


def distribution(store: Store, flt: Filter, unit: str = "hour") -> list[tuple[int, int, int]]:
    """(slot, visits, visitors) for every local hour 0-23 or ISO weekday 1-7 (Monday = 1) in
    the filter's time zone, zeros included."""
    sql, params = build_distribution(flt, unit)
    found = {int(slot): (int(v), int(u)) for slot, v, u in store.query(sql, params)}
    return [(slot, *found.get(slot, (0, 0))) for slot in UNITS[unit][1]]


def distribution_report(store: Store, flt: Filter, unit: str = "hour") -> dict[str, Any]:
    """Visits and visitors per local hour (0-23) or ISO weekday (1 = Monday) in `flt.tz`."""
    rows = distribution(store, flt, unit)
    return {
        "unit": unit,
        "tz": flt.tz,
        "rows": [{"slot": slot, "visits": v, "visitors": u} for slot, v, u in rows],
    }


REPORT = Report(
    name="distribution",
    summary="Visits per local hour or weekday",
    counts=("visits (page views) in the range per local hour or weekday"),
    run=distribution_report,
    params=(Param("unit", str, "hour", choices=tuple(UNITS)),),
    columns=(
        Column("slot", "Hour (0-23) or weekday (1 = Monday)"),
        Column("visits", "Visits"),
        Column("visitors", "Visitors"),
    ),
)
