"""Rank and verdict per day over time (/stats/ranking/history), read from the daily ranking
snapshots the rollup job keeps (`app.rollups.rankings` writes `ranking_snapshots`: every
level below, ranked over the trailing `WINDOW_DAYS` days).

Snapshots taken before the `inconclusive` verdict existed said `not_enough_data` for a row
with enough clicks that was neither winner nor loser; they are read as `inconclusive`, so a
history speaks one vocabulary (every snapshot was taken with the default minimum of
`rates.MIN_TRIALS` clicks, so "enough" is known from the stored clicks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from app.attribution import rates
from app.attribution.filters import FilterError, check_range
from app.attribution.report import Column, Param, Report
from app.store.client import Store

LEVELS = ("channel_type", "channel", "partner_id", "site_key", "placement_id", "creative_id")
WINDOW_DAYS = 7


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
    check_range(start, end)
    if by not in LEVELS:
        raise FilterError(f"rankings are kept for {', '.join(LEVELS)}, not {by!r}", "by")
    if end < start or (end - start).days > 366:
        raise FilterError("end must be within a year after start", "end")
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
            Point(day, int(rank), _verdict(verdict, int(clicks)), int(clicks), int(orders), rate)
        )
    latest = sorted(series, key=lambda v: (series[v][-1].day != str(end), series[v][-1].rank, v))
    return {
        "by": by,
        "window_days": WINDOW_DAYS,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rows": [{"value": v, "points": [p.__dict__ for p in series[v]]} for v in latest],
    }


def _verdict(stored: str, clicks: int) -> str:
    """The stored verdict in today's vocabulary (see the module doc)."""
    if stored == rates.NOT_ENOUGH_DATA and rates.enough_trials(clicks):
        return rates.INCONCLUSIVE
    return stored


def table_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per (value, snapshot day)."""
    return [{"value": row["value"], **p} for row in answer["rows"] for p in row["points"]]


REPORT = Report(
    name="ranking-history",
    path="ranking/history",
    summary="Rank and verdict per day, from the daily snapshots",
    counts=(
        "daily snapshots of the ranking over its trailing 7 days, counted as the ranking counts"
    ),
    run=history,
    filtered=False,
    params=(
        Param("start", date, None, "first day (YYYY-MM-DD)", required=True),
        Param("end", date, None, "last day, included", required=True),
        Param("by", str, "partner_id", "channel_type, channel, partner_id, …"),
        Param("value", list, None, "only these values (comma-separated)", arg="values"),
    ),
    columns=(
        Column("value", "Value", "text"),
        Column("day", "Day", "text"),
        Column("rank", "Rank"),
        Column("verdict", "Verdict", "text"),
        Column("clicks", "Clicks"),
        Column("orders", "Orders"),
        Column("conversion_rate", "Conversion rate", "percent"),
    ),
    rows=table_rows,
    noun="snapshots",
)
