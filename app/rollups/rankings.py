"""Scheduled rankings: once a day the rollup job ranks every level of the channel taxonomy
over the trailing `WINDOW_DAYS` days up to the day before, with the scoreboard (conversion
rate, Wilson lower bound, verdicts), and keeps the result in `ranking_snapshots`; buyers
read rank and verdict over time (`history`), the "re-rank periodically" habit.

A day is taken once; a snapshot missing for a past day (the server was down) is taken at the
next tick, back to `BACKFILL_DAYS`. Snapshots read all traffic (no filter), in
`ROLLUP_TZ` days, so they come from the count rollups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.attribution import scoreboard
from app.attribution.filters import Filter, FilterError
from app.rollups.funnels import ROLLUP_TZ
from app.store.client import Store

LEVELS = ("channel_type", "channel", "partner_id", "site_key", "placement_id", "creative_id")
WINDOW_DAYS = 7
BACKFILL_DAYS = 30
_COLUMNS = [
    "taken_for", "window_days", "dim", "value", "rank", "verdict", "impressions", "clicks",
    "orders", "conversion_rate", "conversion_low", "conversion_high", "revenue", "spend",
    "computed_at",
]  # fmt: skip


def due_days(store: Store, today: date) -> list[date]:
    """Past days (up to yesterday, at most BACKFILL_DAYS back) with traffic and no snapshot."""
    first = today - timedelta(days=BACKFILL_DAYS)
    rows = store.query(
        """
SELECT DISTINCT day FROM daily_counts WHERE day >= {first:Date} AND day < {today:Date}
  AND day NOT IN (SELECT DISTINCT taken_for FROM ranking_snapshots
                  WHERE window_days = {window:UInt16} AND taken_for >= {first:Date})
ORDER BY day
""",
        {"first": first, "today": today, "window": WINDOW_DAYS},
    )
    return [day for (day,) in rows]


def take(store: Store, day: date, now: datetime | None = None) -> int:
    """Rank every level over the `WINDOW_DAYS` days ending on `day`; returns rows stored."""
    now = now or datetime.now(UTC)
    flt = Filter(day - timedelta(days=WINDOW_DAYS - 1), day, tz=ROLLUP_TZ)
    rows: list[list[Any]] = []
    for level in LEVELS:
        try:
            report = scoreboard.scoreboard_report(store, flt, level)
        except FilterError:  # spend in several currencies: rank with the CNY spend
            report = scoreboard.scoreboard_report(store, flt, level, currency="CNY")
        for r in report["rows"]:
            conv = r["conversion_rate"]
            rows.append([
                day, WINDOW_DAYS, level, r["value"], r["rank"], r["verdict"], r["impressions"],
                r["clicks"], r["orders"], conv["rate"], conv["low"], conv["high"],
                r["revenue"], r["spend"], now,
            ])  # fmt: skip
    if rows:
        store.insert_rows("ranking_snapshots", rows, _COLUMNS)
    return len(rows)


def take_due(store: Store, now: datetime | None = None) -> list[date]:
    """Take every due snapshot; returns the days taken."""
    now = now or datetime.now(UTC)
    today = now.astimezone(ZoneInfo(ROLLUP_TZ)).date()
    days = due_days(store, today)
    for day in days:
        take(store, day, now)
    return days


@dataclass(frozen=True)
class Point:
    day: str
    rank: int
    verdict: str
    clicks: int
    orders: int
    conversion_rate: float | None


def history(
    store: Store, by: str, start: date, end: date, values: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Per value of `by`: its rank, verdict and conversion rate on each snapshot day."""
    if by not in LEVELS:
        raise FilterError(f"rankings are kept for {', '.join(LEVELS)}, not {by!r}")
    if end < start or (end - start).days > 366:
        raise FilterError("end must be within a year after start")
    params: dict[str, Any] = {"by": by, "start": start, "end": end, "window": WINDOW_DAYS}
    only = ""
    if values:
        only = " AND value IN {values:Array(String)}"
        params["values"] = list(values)
    rows = store.query(
        f"""
SELECT value, toString(taken_for), rank, verdict, clicks, orders, conversion_rate
FROM ranking_snapshots FINAL
WHERE dim = {{by:String}} AND window_days = {{window:UInt16}}
  AND taken_for >= {{start:Date}} AND taken_for <= {{end:Date}}{only}
ORDER BY value, taken_for
""",  # noqa: S608 (a fixed fragment; values are bound)
        params,
    )
    series: dict[str, list[Point]] = {}
    for value, day, rank, verdict, clicks, orders, rate in rows:
        series.setdefault(value, []).append(
            Point(day, int(rank), verdict, int(clicks), int(orders), rate)
        )
    latest = sorted(series, key=lambda v: (series[v][-1].day != str(end), series[v][-1].rank, v))
    return {
        "by": by,
        "window_days": WINDOW_DAYS,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rows": [{"value": v, "points": [p.__dict__ for p in series[v]]} for v in latest],
    }
