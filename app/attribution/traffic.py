"""Traffic metrics as media buyers read them (/stats/traffic), overall or per value of one
dimension.

Definitions (all over the filter's events; bots left out unless asked for):
- impressions, clicks: events of those types; CTR = clicks / impressions (None without any).
- visits: `visit` events (one per landing page view: the snippet sends a `visit` per page
  view, virtual ones included), so page views = visits; PV per visitor = visits / visitors.
- visitors (UV): distinct non-empty `visitor_id` over visits (the landing site's own cookie;
  no cross-domain stitching here).
- sessions: one visitor's visits (within the same dimension value) split where more than
  `SESSION_GAP` (30 minutes) passes between consecutive visits; a gap of exactly 30:00 does
  not split. Bounce rate = sessions with exactly one page view / sessions.
- visit duration: the snippet reports a page view's visible time on `event:page_leave`
  events (`duration_ms`, cumulative, one per hidden period, same `pageview_id` as the visit).
  A visit's duration is the largest `duration_ms` of the page_leave events in the range with
  its visitor and page view id; the average is over visits that have one (timed visits).
- new vs returning: a visitor is returning when the same `visitor_id` has a visit (any site,
  any filter) in the filter's `returning_days` (90) before the range start; new otherwise
  (`filters.returning_window`, the same test as the common filter's and the `visitor`
  dimension's).
- orders, amount: `order` events whose status is approved or empty, their count and sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from app.attribution import orders as order_rule
from app.attribution.filters import PRIOR_VISITORS, Filter, dimension, where
from app.attribution.report import Column, Param, Report
from app.store.client import Store

SESSION_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class TrafficRow:
    value: str | None  # the dimension value; None: no split
    impressions: int
    clicks: int
    ctr: float | None
    visits: int
    visitors: int
    page_views: int
    pv_per_visitor: float | None
    sessions: int
    bounces: int
    bounce_rate: float | None
    timed_visits: int
    avg_visit_duration_s: float | None
    new_visitors: int
    returning_visitors: int
    orders: int
    amount: Decimal


def build(flt: Filter, by: str | None = None) -> tuple[str, dict[str, Any]]:
    """The traffic query and its parameters (no store I/O)."""
    condition, params = where(flt)
    params["gap_ms"] = int(SESSION_GAP.total_seconds() * 1000)
    dim = dimension(by) if by else "''"
    sql = f"""
WITH
leaves AS (
    SELECT visitor_id AS l_vid, pageview_id AS l_pv, max(duration_ms) AS l_ms, 1 AS l_one
    FROM events
    WHERE {condition} AND event_type = 'event' AND event_name = 'page_leave'
      AND pageview_id != ''
    GROUP BY visitor_id, pageview_id
),
hits AS (
    SELECT {dim} AS dim, event_type, visitor_id, pageview_id,
           toInt64(toUnixTimestamp64Milli(ts)) AS ms,
           {order_rule.COUNTED} AS paid, amount
    FROM {order_rule.EVENTS}
    WHERE {condition} AND event_type IN ('impression', 'click', 'visit', 'order')
),
totals AS (
    SELECT dim,
        countIf(event_type = 'impression') AS impressions,
        countIf(event_type = 'click') AS clicks,
        countIf(event_type = 'visit') AS visits,
        countIf(paid) AS orders,
        sumIf(amount, paid) AS amount,
        countIf(event_type = 'visit' AND l.l_one = 1) AS timed_visits,
        sumIf(l.l_ms, event_type = 'visit' AND l.l_one = 1) AS timed_ms
    FROM hits AS h
    LEFT ANY JOIN leaves AS l ON h.visitor_id = l.l_vid AND h.pageview_id = l.l_pv
    GROUP BY dim
),
people AS (
    SELECT dim, visitor_id,
        arraySort(groupArray(ms)) AS times,
        arrayCumSum(arrayMap((t, i) -> toUInt32(i = 1 OR t - times[i - 1] > {{gap_ms:Int64}}),
                             times, arrayEnumerate(times))) AS ids,
        ids[-1] AS sessions,
        length(arrayFilter(k -> countEqual(ids, k) = 1, arrayDistinct(ids))) AS bounces,
        visitor_id IN {PRIOR_VISITORS} AS returning
    FROM hits
    WHERE event_type = 'visit' AND visitor_id != ''
    GROUP BY dim, visitor_id
),
visitors AS (
    SELECT dim, count() AS visitors, sum(sessions) AS sessions, sum(bounces) AS bounces,
           countIf(returning) AS returning_visitors
    FROM people
    GROUP BY dim
)
SELECT t.dim, t.impressions, t.clicks, t.visits, v.visitors, v.sessions, v.bounces,
       v.returning_visitors, t.timed_visits, t.timed_ms, t.orders, t.amount
FROM totals AS t
LEFT JOIN visitors AS v ON t.dim = v.dim
ORDER BY t.visits DESC, t.impressions DESC, t.dim
"""  # noqa: S608 (the dimension expression comes from the allow-list; values are bound)
    return sql, params


def run(store: Store, flt: Filter, by: str | None = None) -> list[TrafficRow]:
    """One row per value of `by` (one row in all without it; none when nothing matched)."""
    sql, params = build(flt, by)
    rows = []
    for record in store.query(sql, params):
        dim, imp, clk, visits, uv, sessions, bounces, ret, timed, timed_ms, orders, amount = record
        imp, clk, visits, uv = int(imp), int(clk), int(visits), int(uv)
        sessions, bounces, timed = int(sessions), int(bounces), int(timed)
        rows.append(
            TrafficRow(
                value=dim if by else None,
                impressions=imp,
                clicks=clk,
                ctr=clk / imp if imp else None,
                visits=visits,
                visitors=uv,
                page_views=visits,
                pv_per_visitor=visits / uv if uv else None,
                sessions=sessions,
                bounces=bounces,
                bounce_rate=bounces / sessions if sessions else None,
                timed_visits=timed,
                avg_visit_duration_s=int(timed_ms) / timed / 1000 if timed else None,
                new_visitors=uv - int(ret),
                returning_visitors=int(ret),
                orders=int(orders),
                amount=Decimal(str(amount)).quantize(Decimal("0.01")),
            )
        )
    return rows


def traffic_report(store: Store, flt: Filter, by: str | None = None) -> dict[str, Any]:
    """Impressions, clicks, CTR, visits, UV, PV, sessions, duration, bounce, new vs
    returning, orders and amount, overall or per value of `by` (see the module docstring for
    each definition)."""
    rows = run(store, flt, by)
    return {
        "by": by,
        "session_gap_seconds": int(SESSION_GAP.total_seconds()),
        "returning_days": flt.returning_days,
        "rows": [{**row.__dict__, "amount": float(row.amount)} for row in rows],
    }


REPORT = Report(
    name="traffic",
    summary="Traffic: impressions, clicks, CTR, visits, UV, PV, sessions, …",
    counts=(
        "events in the range, each for its own value; orders: orders placed in the range that "
        "count (approved, by their latest status)"
    ),
    run=traffic_report,
    params=(Param("by", str, None, "split by a dimension, e.g. channel"),),
    columns=(
        Column("value", "Value", "text", empty="(all)"),
        Column("impressions", "Impressions"),
        Column("clicks", "Clicks"),
        Column("ctr", "Click-through rate", "percent"),
        Column("visits", "Visits (page views)"),
        Column("visitors", "Visitors (UV)"),
        Column("pv_per_visitor", "Page views per visitor", "ratio"),
        Column("sessions", "Sessions"),
        Column("bounce_rate", "Bounce rate", "percent"),
        Column(
            "avg_visit_duration_s",
            "Average visit duration",
            "seconds",
            header="avg_duration_s",
            digits=1,
        ),
        Column("new_visitors", "New visitors"),
        Column("returning_visitors", "Returning visitors"),
        Column("orders", "Orders"),
        Column("amount", "Order amount", "money"),
    ),
)
