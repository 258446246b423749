"""The ranking (/stats/ranking), the scoreboard: channels, channel types, partners, sites,
placements, creatives or campaigns ranked on traffic, outcome and cost, honest with small
numbers, and compared with an earlier period.

- counts (impressions, clicks, visits, orders, revenue) come from `counts.counts`; orders
  and revenue count for the value their click carried: last-click attribution.
- orders count by their latest status (`orders.py`): refunded and cancelled ones leave
  orders and revenue and show as `refunds` / `refund_amount`, pending ones as `pending` /
  `pending_amount`; `direct_orders` are the row's orders without a click.
- CTR = clicks / impressions and conversion rate (transaction success rate) = converted
  clicks / clicks: the row's clicks that an order that counts carries (`converted`), so the
  numerator is a subset of the denominator and the rate never exceeds 100% nor leaves its
  interval; orders without a click, a click's second order and orders whose click fell
  before the range count in `orders`, not in the rate. Each rate has a Wilson interval;
  sorting by either ranks by the interval's lower bound, rows with fewer than `min_trials`
  trials after all others (`rates.rank_rates`), and tags rows winner / loser /
  inconclusive / not_enough_data; `enough_data` is true exactly when the verdict is not
  `not_enough_data`.
- spend: the `costs` rows (read FINAL) of the same calendar days (cost days are taken as the
  report's days) and of the filters cost rows can carry (campaign, channel, channel type,
  partner, site, placement). Spend is never apportioned: a row gets the spend of the cost
  rows that name its value; cost rows that leave the dimension blank are `unassigned_spend`
  (so is all spend by a dimension costs do not have, such as creative or province). With a
  filter costs cannot carry (creative, region, device, ISP, new vs returning…) spend is
  unknown (None).
- CPC = spend / clicks, CPA = spend / orders, ROAS = revenue / spend, ROI = (revenue -
  spend) / spend; None where spend is unknown (a value no cost row names has unknown
  spend, not zero) or the divisor is zero. Sorting by them (and
  by ROAS/ROI) puts rows with fewer than `min_trials` clicks last, like the rates.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.attribution import rates
from app.attribution.counts import BY, CountRow, counts
from app.attribution.filters import LIST_COLUMNS, Filter, FilterError, check_day, check_range
from app.attribution.report import Column, Param, Report
from app.store.client import Store

# Rates: (successes, trials) of each.
RATES = {"ctr": ("clicks", "impressions"), "conversion_rate": ("converted", "clicks")}
DESCENDING = ("impressions", "clicks", "visits", "orders", "revenue", "spend", "roas", "roi")
ASCENDING = ("cpc", "cpa")
SORTS = (*RATES, *DESCENDING, *ASCENDING)
_NEEDS_TRIALS = ("roas", "roi", "cpc", "cpa")  # ratios that small samples make wild
# Dimension -> `costs` column; channel_type goes through the channels table.
COST_DIMENSIONS = {
    "campaign_id": "campaign_id",
    "channel": "channel",
    "partner_id": "partner_id",
    "site_key": "site_key",
    "placement_id": "placement_id",
    "day": "toString(day)",
    "channel_type": "channel",
}
COST_FILTERS = ("campaign_id", "channel", "partner_id", "site_key", "placement_id")
MAX_MIN_TRIALS = 1_000_000
_ZERO = Decimal("0.00")


# -- spend ----------------------------------------------------------------------------------


def _cost_where(flt: Filter, currency: str | None) -> tuple[str, dict[str, Any]]:
    conditions = ["day >= {start:Date}", "day <= {end:Date}"]
    params: dict[str, Any] = {"start": flt.start, "end": flt.end}
    for name in COST_FILTERS:
        if getattr(flt, name):
            conditions.append(f"{name} IN {{{name}:Array(String)}}")
            params[name] = list(getattr(flt, name))
    if flt.channel_type:
        conditions.append(
            "channel IN (SELECT id FROM channels FINAL WHERE type IN {channel_type:Array(String)})"
        )
        params["channel_type"] = list(flt.channel_type)
    if currency is not None:
        conditions.append("currency = {currency:String}")
        params["currency"] = currency
    return " AND ".join(conditions), params


def spend_by(
    store: Store, flt: Filter, by: str, currency: str | None = None
) -> tuple[dict[str, Decimal], Decimal, list[str]]:
    """({value: spend} for cost rows naming a value of `by`, the spend of the others
    (unassigned), the currencies seen). Every matching cost row counts once."""
    condition, params = _cost_where(flt, currency)
    column = COST_DIMENSIONS.get(by, "''")
    sql = f"""
SELECT {column} AS value, currency, sum(spend) AS spend
FROM costs FINAL
WHERE {condition}
GROUP BY value, currency
"""  # noqa: S608 (column from the allow-list; values are bound)
    if by == "channel_type":
        sql = f"""
SELECT if(s.value = '', '', ifNull(t.type, '')) AS type_value, s.currency, sum(s.spend)
FROM ({sql}) AS s
LEFT ANY JOIN (SELECT id, type FROM channels FINAL) AS t ON s.value = t.id
GROUP BY type_value, s.currency
"""  # noqa: S608 (no input in the text)
    per_value: dict[str, Decimal] = {}
    unassigned = _ZERO
    currencies: set[str] = set()
    for value, cur, amount in store.query(sql, params):
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
        currencies.add(str(cur))
        if value == "":
            unassigned += amount
        else:
            per_value[str(value)] = per_value.get(str(value), _ZERO) + amount
    return per_value, unassigned, sorted(currencies)


def _spend_blockers(flt: Filter) -> list[str]:
    """The filters set on `flt` that cost rows cannot carry."""
    blockers = [n for n in LIST_COLUMNS if n not in COST_FILTERS and getattr(flt, n)]
    return [*blockers, "visitor"] if flt.visitor else blockers


# -- rows -----------------------------------------------------------------------------------


def _rate_json(rate: rates.Rate, verdict: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"rate": rate.rate, "low": rate.low, "high": rate.high,
                           "capped": rate.capped}  # fmt: skip
    if verdict is not None:
        out["verdict"] = verdict
    return out


def _metrics(c: CountRow, spend: Decimal | None) -> dict[str, Any]:
    """Every figure of one row (or of the totals), as JSON-ready values."""
    return {
        "impressions": c.impressions,
        "clicks": c.clicks,
        "ctr": rates.rate_of(c.clicks, c.impressions),
        "visits": c.visits,
        "orders": c.orders,
        "direct_orders": c.direct_orders,
        "converted": c.converted,
        "conversion_rate": rates.rate_of(c.converted, c.clicks),
        "revenue": float(c.revenue),
        "pending": c.pending,
        "pending_amount": float(c.pending_amount),
        "refunds": c.refunds,
        "refund_amount": float(c.refund_amount),
        "spend": None if spend is None else float(spend),
        "cpc": None if spend is None else rates.ratio(spend, c.clicks),
        "cpa": None if spend is None else rates.ratio(spend, c.orders),
        "roas": None if spend is None else rates.ratio(c.revenue, spend),
        "roi": None if spend is None else rates.ratio(c.revenue - spend, spend),
    }


def _flat(metrics: dict[str, Any]) -> dict[str, Any]:
    """Rates as their plain value (for period comparisons)."""
    return {k: (v.rate if isinstance(v, rates.Rate) else v) for k, v in metrics.items()}


def _order(
    rows: dict[str, dict[str, Any]], sort: str, min_trials: int
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The values in rank order, and each rate's verdict per value."""
    verdicts: dict[str, dict[str, str]] = {v: {} for v in rows}
    orders: dict[str, list[str]] = {}
    for name, (succ, trials) in RATES.items():
        ranked = rates.rank_rates(
            [rates.capped_row(v, m[succ], m[trials]) for v, m in rows.items()],
            min_trials=min_trials,
        )
        orders[name] = [r.key for r in ranked]
        for r in ranked:
            verdicts[r.key][name] = r.verdict
    if sort in RATES:
        return orders[sort], verdicts
    items = [
        (v, m[sort], sort not in _NEEDS_TRIALS or m["clicks"] >= max(min_trials, 1))
        for v, m in rows.items()
    ]
    return rates.order_by_value(items, descending=sort in DESCENDING), verdicts


def _board(
    store: Store, flt: Filter, by: str, sort: str, min_trials: int, currency: str | None
) -> dict[str, Any]:
    found = {c.value: c for c in counts(store, flt, by)}
    blockers = _spend_blockers(flt)
    known = not blockers
    per_value: dict[str, Decimal] = {}
    unassigned = _ZERO
    currencies: list[str] = []
    if known:
        per_value, unassigned, currencies = spend_by(store, flt, by, currency)
        if len(currencies) > 1:
            raise FilterError(
                f"spend in several currencies ({', '.join(currencies)}): choose one with currency",
                "currency",
            )
    values = sorted(set(found) | set(per_value))
    zero = CountRow("", 0, 0, 0, 0, _ZERO)
    rows: dict[str, dict[str, Any]] = {}
    for value in values:
        # No cost row names the value: its spend is unknown, not zero (no CPA of 0).
        spend = per_value.get(value) if known and by in COST_DIMENSIONS else None
        rows[value] = _metrics(found.get(value, replace(zero, value=value)), spend)
    flat_rows = {v: _flat(m) for v, m in rows.items()}
    order, verdicts = _order(flat_rows, sort, min_trials)
    verdict_of = sort if sort in RATES else "conversion_rate"
    out_rows = []
    for rank, value in enumerate(order, start=1):
        m = rows[value]
        out_rows.append(
            {
                "value": value,
                "rank": rank,
                "verdict": verdicts[value][verdict_of],
                "enough_data": rates.enough_trials(m[RATES[verdict_of][1]], min_trials),
                **m,
                "ctr": _rate_json(m["ctr"], verdicts[value]["ctr"]),
                "conversion_rate": _rate_json(
                    m["conversion_rate"], verdicts[value]["conversion_rate"]
                ),
            }
        )
    total_counts = CountRow(
        "",
        sum(c.impressions for c in found.values()),
        sum(c.clicks for c in found.values()),
        sum(c.visits for c in found.values()),
        sum(c.orders for c in found.values()),
        sum((c.revenue for c in found.values()), _ZERO),
        direct_orders=sum(c.direct_orders for c in found.values()),
        pending=sum(c.pending for c in found.values()),
        pending_amount=sum((c.pending_amount for c in found.values()), _ZERO),
        refunds=sum(c.refunds for c in found.values()),
        refund_amount=sum((c.refund_amount for c in found.values()), _ZERO),
        converted=sum(c.converted for c in found.values()),
    )
    total_spend = sum(per_value.values(), unassigned) if known else None
    totals = _metrics(total_counts, total_spend)
    if by not in COST_DIMENSIONS and known:
        unassigned = total_spend or _ZERO  # costs do not break spend down by this at all
    return {
        "start": flt.start.isoformat(),
        "end": flt.end.isoformat(),
        "rows": out_rows,
        "flat": flat_rows,
        "totals": {
            **totals,
            "ctr": _rate_json(totals["ctr"]),
            "conversion_rate": _rate_json(totals["conversion_rate"]),
        },  # fmt: skip
        "spend_known": known,
        "spend_note": (
            f"spend unknown: cost rows carry no {', '.join(blockers)}" if blockers else None
        ),
        "unassigned_spend": float(unassigned) if known else None,
        "currency": (currency or (currencies[0] if currencies else None)) if known else None,
    }


# -- the report -----------------------------------------------------------------------------

COMPARED = ("impressions", "clicks", "ctr", "visits", "orders", "conversion_rate", "revenue",
            "spend", "cpc", "cpa", "roas", "roi")  # fmt: skip


def compare_filter(
    flt: Filter,
    compare: str | None,
    compare_start: date | None = None,
    compare_end: date | None = None,
) -> Filter | None:
    """The filter of the period to compare with: `previous` (as many days, just before), or
    compare_start..compare_end; None for no comparison."""
    dates = (compare_start, compare_end)
    if compare_start is not None and compare_end is not None:
        check_range(compare_start, compare_end, ("compare_start", "compare_end"))
    for name, day in (("compare_start", compare_start), ("compare_end", compare_end)):
        if day is not None:
            check_day(name, day)
    if compare is not None and compare != "previous":
        raise FilterError(f"compare must be 'previous', got {compare!r}", "compare")
    if compare and any(d is not None for d in dates):
        raise FilterError("give compare=previous or compare_start/compare_end, not both", "compare")
    if (compare_start is None) != (compare_end is None):
        missing = "compare_end" if compare_end is None else "compare_start"
        raise FilterError("compare_start and compare_end go together", missing)
    if compare == "previous":
        days = (flt.end - flt.start).days + 1
        return replace(flt, start=flt.start - timedelta(days=days), end=flt.start - timedelta(1))
    if compare_start is not None and compare_end is not None:
        if compare_end < compare_start:
            raise FilterError(
                f"compare_end {compare_end} is before compare_start {compare_start}", "compare_end"
            )
        return replace(flt, start=compare_start, end=compare_end)
    return None


def scoreboard_report(
    store: Store,
    flt: Filter,
    by: str,
    sort: str = "conversion_rate",
    min_trials: int = rates.MIN_TRIALS,
    compare: str | None = None,
    *,
    compare_start: date | None = None,
    compare_end: date | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """Rank the values of `by` (see the module docstring for every figure). JSON shape:
    {by, sort, min_trials, start, end, tz, attribution, currency, spend_known, spend_note,
    unassigned_spend, rows: [{value, rank, verdict, enough_data, impressions, clicks,
    ctr: {rate, low, high, capped, verdict}, visits, orders, direct_orders, converted,
    conversion_rate: {…}, revenue, pending, pending_amount, refunds, refund_amount, spend,
    cpc, cpa, roas, roi[, previous: {rank, <metric>…}, change: {<metric>: {abs,
    rel}}]}], totals: {…}, compare: null | {start, end, totals, spend_known,
    unassigned_spend}}."""
    if by not in BY:
        raise FilterError(f"unknown dimension {by!r}; one of: {', '.join(sorted(BY))}", "by")
    if sort not in SORTS:
        raise FilterError(f"unknown sort {sort!r}; one of: {', '.join(SORTS)}", "sort")
    if isinstance(min_trials, bool) or not isinstance(min_trials, int):
        raise FilterError("min_trials must be a whole number", "min_trials")
    if not 0 <= min_trials <= MAX_MIN_TRIALS:
        raise FilterError(f"min_trials must be 0 to {MAX_MIN_TRIALS}", "min_trials")
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise FilterError("currency must be three letters, e.g. CNY", "currency")
    currency = currency.upper() if currency else None
    earlier = compare_filter(flt, compare, compare_start, compare_end)
    board = _board(store, flt, by, sort, min_trials, currency)
    flat = board.pop("flat")
    report: dict[str, Any] = {
        "by": by,
        "sort": sort,
        "min_trials": min_trials,
        "tz": flt.tz,
        "attribution": "last_click",
        **board,
        "compare": None,
    }
    if earlier is None:
        return report
    before = _board(store, earlier, by, sort, min_trials, currency)
    before_flat = before["flat"]
    before_rank = {r["value"]: r["rank"] for r in before["rows"]}
    for row in report["rows"]:
        value = row["value"]
        if value in before_flat:
            previous = before_flat[value]
        else:  # nothing then: zero counts, no cost rows
            previous = _flat(_metrics(CountRow(value, 0, 0, 0, 0, _ZERO), None))
        row["previous"] = {"rank": before_rank.get(value), **{k: previous[k] for k in COMPARED}}
        row["change"] = {k: rates.change(flat[value][k], row["previous"][k]) for k in COMPARED}
    report["compare"] = {
        "start": before["start"],
        "end": before["end"],
        "totals": before["totals"],
        "spend_known": before["spend_known"],
        "unassigned_spend": before["unassigned_spend"],
        "values_only_then": sorted(set(before_flat) - set(flat)),
    }
    return report


def table_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per ranked value: the rates' plain values, the conversion interval."""
    rows = []
    for r in answer["rows"]:
        conv = r["conversion_rate"]
        rows.append({
            "rank": r["rank"], "value": r["value"], "verdict": r["verdict"], "clicks": r["clicks"],
            "ctr": r["ctr"]["rate"], "orders": r["orders"], "conv": conv["rate"],
            "interval": (conv["low"], conv["high"]), "revenue": r["revenue"],
            "refunds": r["refunds"], "pending": r["pending"], "spend": r["spend"],
            "cpa": r["cpa"], "roas": r["roas"],
            "prev_rank": (r.get("previous") or {}).get("rank", ""),
        })  # fmt: skip
    return rows


def _shown(answer: dict[str, Any]) -> tuple[str, ...]:
    """The earlier period's rank only when there is one to compare with."""
    keys = tuple(c.key for c in REPORT.columns)
    return keys if answer["compare"] is not None else keys[:-1]


REPORT = Report(
    name="ranking",
    summary="Rank channels, partners, sites, … by traffic, rates and cost",
    counts=(
        "per value: impressions, clicks and visits in the range; orders: orders placed in the "
        "range that count (approved, by their latest status), for the value of the click they "
        "carry (last click; without a click: direct_orders); conversion: the value's clicks "
        "that such an order carries ÷ its clicks; refunded, cancelled and pending orders "
        "apart"
    ),
    run=scoreboard_report,
    params=(
        Param("by", str, "channel", "channel, channel_type, partner_id, …"),
        Param(
            "sort",
            str,
            "conversion_rate",
            "conversion_rate, ctr, clicks, orders, revenue, roas, roi, cpa, cpc, …",
        ),
        Param("min_trials", int, rates.MIN_TRIALS, ge=0, le=MAX_MIN_TRIALS),
        Param(
            "compare",
            str,
            None,
            "add the previous period of the same length",
            choices=("previous",),
        ),
        Param(
            "compare_start", date, None, "compare with the days from this one (with compare_end)"
        ),
        Param("compare_end", date, None, "the last day compared with, included"),
        Param("currency", str, None, "the spend currency, e.g. CNY"),
    ),  # fmt: skip
    columns=(
        Column("rank", "Rank"),
        Column("value", "Value", "text", empty="(none)"),
        Column("verdict", "Verdict", "text"),
        Column("clicks", "Clicks"),
        Column("ctr", "Click-through rate", "percent"),
        Column("orders", "Orders (last click)"),
        Column("conv", "Conversion rate (clicks with an order)", "percent"),
        Column("interval", "Conversion rate, 95% interval", "percent_range"),
        Column("revenue", "Revenue", "money"),
        Column("refunds", "Refunded or cancelled orders"),
        Column("pending", "Pending orders"),
        Column("spend", "Spend", "money"),
        Column("cpa", "Cost per order", "money"),
        Column("roas", "Return on ad spend", "ratio"),
        Column("prev_rank", "Rank in the earlier period"),
    ),
    rows=table_rows,
    shown=_shown,
)
