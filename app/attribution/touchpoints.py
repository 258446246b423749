"""Touch points (/stats/touchpoints): which placements, creatives and links (触点) are seen
and clicked, and what their clicks bring (the daily "touch-point report").

Definitions (per value of `by`: `placement_id`, `creative_id` or `link_code`, over the
filter's events; bots left out unless asked for; events without a value are left out):
- impressions, clicks: events of those types carrying the value; unique viewers / unique
  clickers: distinct non-empty `visitor_id` of those impressions / clicks (the partner
  page's cookie); CTR = clicks / impressions (None without impressions).
- visits brought: landing `visit` events carrying a click id and the value (the loader
  copies the click's placement, creative and link code onto them).
- orders, amount: `order` events carrying a click id and the value, with status approved or
  empty; their count and sum. Click → order rate = orders / clicks (None without clicks).
Rows: the `top` values by clicks, then impressions, then value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.attribution import orders as order_rule
from app.attribution.filters import Filter, FilterError, dimension, where
from app.attribution.report import Column, Param, Report
from app.store.client import Store

TOUCH_POINTS = ("placement_id", "creative_id", "link_code")
MAX_TOP = 10_000


def build(flt: Filter, by: str = "placement_id", *, top: int = 100) -> tuple[str, dict[str, Any]]:
    """The query and its parameters (no store I/O): one row per value of `by`."""
    if by not in TOUCH_POINTS:
        raise FilterError(f"unknown touch point {by!r}; one of: {', '.join(TOUCH_POINTS)}", "by")
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise FilterError(f"top must be an integer from 1 to {MAX_TOP}", "top")
    condition, params = where(flt)
    params["top"] = top
    column = dimension(by)
    sql = f"""
WITH {order_rule.COUNTED} AND click_id != '' AS paid,
     {order_rule.REFUNDED} AND click_id != '' AS refunded
SELECT
    toString({column}) AS value,
    countIf(event_type = 'impression') AS impressions,
    uniqExactIf(visitor_id, event_type = 'impression' AND visitor_id != '') AS viewers,
    countIf(event_type = 'click') AS clicks,
    uniqExactIf(visitor_id, event_type = 'click' AND visitor_id != '') AS clickers,
    countIf(event_type = 'visit' AND click_id != '') AS visits,
    countIf(paid) AS orders,
    sumIf(amount, paid) AS paid_amount,
    countIf(refunded) AS refunds,
    sumIf(amount, refunded) AS refund_amount
FROM {order_rule.EVENTS}
WHERE {condition} AND {column} != ''
  AND event_type IN ('impression', 'click', 'visit', 'order')
GROUP BY value
ORDER BY clicks DESC, impressions DESC, value
LIMIT {{top:UInt32}}
"""  # noqa: S608 (the touch-point column comes from the allow-list; values are bound)
    return sql, params


def touchpoints_report(
    store: Store, flt: Filter, by: str = "placement_id", top: int = 100
) -> dict[str, Any]:
    """Per placement, creative or link: impressions, unique viewers, clicks, unique
    clickers, CTR, visits brought, orders, amount and click → order rate."""
    sql, params = build(flt, by, top=top)
    rows = []
    for record in store.query(sql, params):
        value, imp, viewers, clk, clickers, visits, orders, amount, refunds, refunded = record
        imp, clk, orders = int(imp), int(clk), int(orders)
        rows.append(
            {
                "value": value,
                "impressions": imp,
                "unique_viewers": int(viewers),
                "clicks": clk,
                "unique_clickers": int(clickers),
                "ctr": clk / imp if imp else None,
                "visits": int(visits),
                "orders": orders,
                "amount": float(Decimal(str(amount)).quantize(Decimal("0.01"))),
                "click_to_order": orders / clk if clk else None,
                "refunds": int(refunds),
                "refund_amount": float(Decimal(str(refunded)).quantize(Decimal("0.01"))),
            }
        )
    return {"by": by, "top": top, "rows": rows}


REPORT = Report(
    name="touchpoints",
    summary="Per placement, creative or link: seen, clicked, converted",
    counts=(
        "per placement, creative or link: its impressions and clicks, and the visits and the "
        "orders that count (approved, by their latest status) that carry one of its clicks"
    ),
    run=touchpoints_report,
    params=(
        Param("by", str, "placement_id", choices=TOUCH_POINTS),
        Param("top", int, 100, ge=1, le=MAX_TOP),
    ),
    columns=(
        Column("value", "Value", "text"),
        Column("impressions", "Impressions"),
        Column("unique_viewers", "Unique viewers"),
        Column("clicks", "Clicks"),
        Column("unique_clickers", "Unique clickers"),
        Column("ctr", "Click-through rate", "percent"),
        Column("visits", "Visits brought"),
        Column("orders", "Orders"),
        Column("amount", "Order amount", "money"),
        Column("click_to_order", "Click to order rate", "percent"),
    ),
    noun="touch points",
)
