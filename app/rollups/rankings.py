"""Scheduled rankings: once a day the rollup job ranks every level of the channel taxonomy
over the trailing `WINDOW_DAYS` days up to the day before, with the scoreboard (conversion
rate, Wilson lower bound, verdicts), and keeps the result in `ranking_snapshots`; buyers
read rank and verdict over time (`app.attribution.ranking_history`), the "re-rank
periodically" habit.

A day is taken once; a snapshot missing for a past day (the server was down) is taken at the
next tick, back to `BACKFILL_DAYS`. Snapshots read all traffic (no filter), in
`ROLLUP_TZ` days, so they come from the count rollups.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.attribution import ranking
from app.attribution.filters import Filter, FilterError
from app.attribution.ranking_history import LEVELS, WINDOW_DAYS
from app.rollups.funnels import ROLLUP_TZ
from app.store.client import Store

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
            report = ranking.scoreboard_report(store, flt, level)
        except FilterError:  # spend in several currencies: rank with the CNY spend
            report = ranking.scoreboard_report(store, flt, level, currency="CNY")
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
