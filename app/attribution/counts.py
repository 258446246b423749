"""Per-value counts of the scoreboard: impressions, clicks, visits, orders and revenue for
each value of one dimension, in one query. Kept small on purpose: a daily rollup table can
later answer the same signature.

Definitions (over the filter's events, bots left out unless asked for):
- impressions, clicks, visits: events of those types;
- orders, revenue: orders that count (`orders.py`: by their latest status, once each, on
  their first report), their count and amount sum; `direct_orders` those without a click;
  pending orders (`pending`, `pending_amount`) and refunded or cancelled ones (`refunds`,
  `refund_amount`) apart, neither orders nor revenue.
- converted: the value's clicks (in the range) whose click id an order that counts carries
  (the order in the range too) — a subset of its clicks, so orders ÷ clicks can exceed 100%
  (two orders from one click, an order whose click fell before the range, orders without a
  click) but converted ÷ clicks cannot. Always read from the events (orders are few).
  Orders (and visits) carry their click's channel, partner, campaign, placement and creative
  (copied at ingest), so counting them per value is last-click attribution. `site_key` is
  the exception: a visit or an order is stored on the landing site, so by `site_key` they
  count for the site of the click they carry (the click looked up whatever its day), and for
  their own site without one.
- `channel_type`: the catalog type of the event's channel ('' for a channel not in it).

Where it can, the answer comes from a daily counts table (sql/0010_rollups.sql): materialized
views sum events per Asia/Shanghai day at insert, so they are always current. The filter's
zone must be that one, and the split and the filters must all be columns of one table
(`ROLLUP_TABLES`, smallest first; no site_key: the click's site is looked up in the events).
Otherwise, or with `source="raw"`, the events are read; tests hold both to the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.attribution import orders as order_rule
from app.attribution.filters import DIMENSIONS, LIST_COLUMNS, Filter, FilterError, where
from app.store.client import Store

BY = ("channel_type", *DIMENSIONS)
# The figures of a counting query, in its column order after `value`.
_FIGURES = ("impressions", "clicks", "visits", "orders", "revenue", "direct_orders", "pending",
            "pending_amount", "refunds", "refund_amount")  # fmt: skip
ROLLUP_TZ = "Asia/Shanghai"
# The daily counts tables and the dimensions each keeps, smallest table first.
ROLLUP_TABLES: tuple[tuple[str, frozenset[str]], ...] = (
    ("daily_counts", frozenset({"channel", "partner_id"})),
    (
        "daily_source_counts",
        frozenset(
            {"channel", "partner_id", "campaign_id", "placement_id", "creative_id", "link_code"}
        ),
    ),  # fmt: skip
    (
        "daily_audience_counts",
        frozenset(
            {"channel", "partner_id", "campaign_id", "province_code", "city_code", "device_type"}
        ),
    ),  # fmt: skip
)
ROLLUP_BY = tuple(sorted(set().union(*(dims for _, dims in ROLLUP_TABLES))))


@dataclass(frozen=True)
class CountRow:
    value: str  # the dimension value ('' where events have none)
    impressions: int
    clicks: int
    visits: int
    orders: int
    revenue: Decimal  # two decimals
    direct_orders: int = 0  # of `orders`, those without a click
    pending: int = 0
    pending_amount: Decimal = Decimal("0.00")
    refunds: int = 0  # refunded or cancelled
    refund_amount: Decimal = Decimal("0.00")
    converted: int = 0  # clicks with an order that counts: at most `clicks`


def build(flt: Filter, by: str) -> tuple[str, dict[str, Any]]:
    """The counting query and its parameters (no store I/O)."""
    if by not in BY:
        raise FilterError(f"unknown dimension {by!r}; one of: {', '.join(sorted(BY))}", "by")
    condition, params = where(flt)
    source = order_rule.EVENTS
    dim = DIMENSIONS.get(by, "channel")
    if by == "site_key":
        # The click's own site for visits and orders that carry a click.
        source = """(
    SELECT e.*, c.c_site AS click_site FROM {events} AS e
    LEFT ANY JOIN (
        SELECT click_id AS c_id, any(site_key) AS c_site FROM events
        WHERE event_type = 'click' AND click_id IN (
            SELECT click_id FROM events
            WHERE event_type IN ('visit', 'order') AND click_id != '' AND {cond}
        )
        GROUP BY click_id
    ) AS c ON e.click_id = c.c_id
)""".replace("{cond}", condition).replace("{events}", order_rule.EVENTS)
        dim = "if(event_type IN ('visit', 'order') AND click_site != '', click_site, site_key)"
    sql = f"""
SELECT {dim} AS value,
    countIf(event_type = 'impression') AS impressions,
    countIf(event_type = 'click') AS clicks,
    countIf(event_type = 'visit') AS visits,
    countIf({order_rule.COUNTED}) AS orders,
    sumIf(amount, {order_rule.COUNTED}) AS revenue,
    countIf({order_rule.COUNTED} AND click_id = '') AS direct_orders,
    countIf({order_rule.PENDING}) AS pending,
    sumIf(amount, {order_rule.PENDING}) AS pending_amount,
    countIf({order_rule.REFUNDED}) AS refunds,
    sumIf(amount, {order_rule.REFUNDED}) AS refund_amount
FROM {source}
WHERE {condition} AND event_type IN ('impression', 'click', 'visit', 'order')
GROUP BY value
"""  # noqa: S608 (expressions from the allow-lists; values are bound)
    return _finish(sql, by), params


def _finish(sql: str, by: str) -> str:
    """Per channel type (the catalog's, '' for a channel not in it) when asked, by value."""
    if by == "channel_type":
        sql = f"""
SELECT ifNull(t.type, '') AS value, {", ".join(f"sum({c})" for c in _FIGURES)}
FROM ({sql}) AS n
LEFT ANY JOIN (SELECT id, type FROM channels FINAL) AS t ON n.value = t.id
GROUP BY value
"""  # noqa: S608 (no input in the text)
    return sql + "ORDER BY value"


def rollup_table(flt: Filter, by: str) -> str | None:
    """The smallest daily counts table that answers this, or None (read the events)."""
    if flt.tz != ROLLUP_TZ or flt.visitor:  # new vs returning needs each event's visitor
        return None
    needed = {name for name in LIST_COLUMNS if getattr(flt, name)}
    needed.add({"channel_type": "channel", "day": "channel"}.get(by, by))
    if flt.channel_type:
        needed.add("channel")
    return next((table for table, dims in ROLLUP_TABLES if needed <= dims), None)


def rollup_covers(flt: Filter, by: str) -> bool:
    return rollup_table(flt, by) is not None


def build_rollup(flt: Filter, by: str) -> tuple[str, dict[str, Any]]:
    """The same counts from the smallest daily counts table (no store I/O)."""
    table = rollup_table(flt, by)
    if table is None:
        raise FilterError("no daily counts table answers this", "source")
    conditions = ["day >= {first:Date}", "day <= {last:Date}"]
    params: dict[str, Any] = {"first": flt.start, "last": flt.end}
    if not flt.include_bots:
        conditions.append("is_bot = 0")
    if flt.channel_type:
        conditions.append(
            "channel IN (SELECT id FROM channels FINAL WHERE type IN {channel_type:Array(String)})"
        )
        params["channel_type"] = list(flt.channel_type)
    for name in ROLLUP_BY:
        if getattr(flt, name):
            conditions.append(f"{name} IN {{{name}:Array(String)}}")
            params[name] = list(getattr(flt, name))
    dim = {"day": "toString(day)", "channel_type": "channel"}.get(by, by)
    sql = f"""
SELECT {dim} AS value,
    sumIf(events, event_type = 'impression') AS impressions,
    sumIf(events, event_type = 'click') AS clicks,
    sumIf(events, event_type = 'visit') AS visits,
    sum(orders) AS orders,
    sum(amount) AS revenue,
    sum(direct_orders) AS direct_orders,
    sum(pending) AS pending,
    sum(pending_amount) AS pending_amount,
    sum(refunds) AS refunds,
    sum(refund_amount) AS refund_amount
FROM {table}
WHERE {" AND ".join(conditions)} AND event_type IN ('impression', 'click', 'visit', 'order')
GROUP BY value
"""  # noqa: S608 (table and column names from ROLLUP_TABLES; values are bound)
    return _finish(sql, by), params


def counts(store: Store, flt: Filter, by: str, *, source: str = "auto") -> list[CountRow]:
    """One row per value of `by` with any impression, click, visit or order, by value.
    `source`: "auto" (the rollup when it covers the question), "raw" or "rollup"."""
    if source not in ("auto", "raw", "rollup"):
        raise FilterError("source must be auto, raw or rollup", "source")
    if by not in BY:
        raise FilterError(f"unknown dimension {by!r}; one of: {', '.join(sorted(BY))}", "by")
    covered = rollup_covers(flt, by)
    if source == "rollup" and not covered:
        raise FilterError(
            f"the counts rollup covers {ROLLUP_TZ} days and the dimensions "
            f"{', '.join(ROLLUP_BY)}, channel_type and day, without the visitor filter; "
            "use source=raw or auto",
            "source",
        )
    use_rollup = covered and source != "raw"
    sql, params = build_rollup(flt, by) if use_rollup else build(flt, by)
    converted = _converted(store, flt, by)
    rows = []
    for value, imp, clk, visits, *rest in store.query(sql, params):
        orders, revenue, direct, pending, pending_amount, refunds, refund_amount = rest
        rows.append(
            CountRow(
                value=str(value),
                impressions=int(imp),
                clicks=int(clk),
                visits=int(visits),
                orders=int(orders),
                revenue=_money(revenue),
                direct_orders=int(direct),
                pending=int(pending),
                pending_amount=_money(pending_amount),
                refunds=int(refunds),
                refund_amount=_money(refund_amount),
                converted=converted.get(str(value), 0),
            )
        )
    return rows


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def build_converted(flt: Filter, by: str) -> tuple[str, dict[str, Any]]:
    """Per value: the clicks in the range with an order that counts carrying their click id,
    the order in the range as well (no store I/O). A click's own value (its site too)."""
    if by not in BY:
        raise FilterError(f"unknown dimension {by!r}; one of: {', '.join(sorted(BY))}", "by")
    condition, params = where(flt)
    dim = DIMENSIONS.get(by, "channel")
    sql = f"""
SELECT {dim} AS value, uniqExact(click_id) AS converted
FROM events
WHERE {condition} AND event_type = 'click' AND click_id != ''
  AND click_id IN (
      SELECT click_id FROM {order_rule.EVENTS}
      WHERE {condition} AND {order_rule.COUNTED} AND click_id != ''
  )
GROUP BY value
"""  # noqa: S608 (expressions from the allow-lists; values are bound)
    if by == "channel_type":
        sql = f"""
SELECT ifNull(t.type, '') AS value, sum(converted)
FROM ({sql}) AS n
LEFT ANY JOIN (SELECT id, type FROM channels FINAL) AS t ON n.value = t.id
GROUP BY value
"""  # noqa: S608 (no input in the text)
    return sql, params


def _converted(store: Store, flt: Filter, by: str) -> dict[str, int]:
    sql, params = build_converted(flt, by)
    return {str(value): int(n) for value, n in store.query(sql, params)}
