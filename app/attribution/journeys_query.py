"""The journeys query: touch paths per order, which every attribution model reads
(`app.attribution.attribution`, /stats/attribution).

Per stitched person (`app.attribution.stitch`), the touches (impressions and clicks) and
the orders (approved or without a status) from `click_lookback_days` before the range to its
end. Each order in the range gets the path of the person's clicks within the click look-back
and impressions within the view look-back before it, after the person's previous order —
also one before the range (a conversion resets the path); an order without such touches is
`("(direct)",)`. The touches in the range after a person's last order (or all of them, for
a person without one) make one null journey. Touch-level filters apply to the touches only;
orders are read whatever their own channel (and without bots unless the filter says so).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from app.attribution import orders as order_rule
from app.attribution import stitch
from app.attribution.filters import Filter, FilterError, dimension, where
from app.attribution.models import Journey, aggregate
from app.store.client import Store

DIRECT = "(direct)"
MAX_LOOKBACK_DAYS = 366


def build(
    flt: Filter, by: str = "channel", click_lookback_days: int = 30, view_lookback_days: int = 1
) -> tuple[str, dict[str, Any]]:
    """The query and its parameters (no store I/O): one row per touch or order, as
    (person, ms, kind, value, amount) with kind 'click', 'impression' or 'order', sorted."""
    if not 0 <= view_lookback_days <= click_lookback_days <= MAX_LOOKBACK_DAYS:
        raise FilterError(
            f"look-backs must satisfy 0 <= view <= click <= {MAX_LOOKBACK_DAYS} days",
            "view_lookback_days",
        )
    dim = dimension(by)
    touch_flt = dataclasses.replace(flt, start=flt.start - timedelta(days=click_lookback_days))
    touch_condition, params = where(touch_flt, visitor_as_of=flt.start)
    stitching, stitch_params = stitch.ctes(params["start"], params["end"])
    params.update(stitch_params)
    params["order_from"] = params["start"]  # orders before the range reset paths
    bots = "" if flt.include_bots else "AND is_bot = 0"
    sql = f"""
WITH
{stitching},
hits AS (
    SELECT visitor_id, click_id, toUInt64(toUnixTimestamp64Milli(ts)) AS ms,
           toString(event_type) AS kind, toString({dim}) AS value, toDecimal64(0, 2) AS amount
    FROM events
    WHERE {touch_condition} AND event_type IN ('impression', 'click')
    UNION ALL
    SELECT visitor_id, click_id, toUInt64(toUnixTimestamp64Milli(ts)) AS ms,
           'order' AS kind, '' AS value, toDecimal64(amount, 2) AS amount
    FROM {order_rule.EVENTS}
    WHERE {order_rule.COUNTED}
      AND ts >= {{order_from:DateTime64(3, 'UTC')}} AND ts < {{end:DateTime64(3, 'UTC')}} {bots}
)
SELECT {stitch.PERSON} AS person, h.ms, h.kind, h.value, h.amount
FROM hits AS h
{stitch.JOINS}
WHERE person != ''
ORDER BY person, h.ms, h.kind, h.value
"""  # noqa: S608 (identifiers from allow-lists; values are bound)
    return sql, params


def journeys(
    store: Store,
    flt: Filter,
    by: str = "channel",
    click_lookback_days: int = 30,
    view_lookback_days: int = 1,
) -> list[Journey]:
    """Aggregated journeys (see the module docstring), sorted for stable output."""
    sql, params = build(flt, by, click_lookback_days, view_lookback_days)
    range_start, _ = flt.utc_range()
    rows = store.query(sql, params)
    people: dict[str, list[tuple[int, str, str, Decimal]]] = defaultdict(list)
    for person, ms, kind, value, amount in rows:
        people[person].append((int(ms), kind, value, Decimal(amount)))
    found = assemble(
        people.values(),
        range_start_ms=int(range_start.timestamp() * 1000),
        click_lookback_ms=click_lookback_days * 86_400_000,
        view_lookback_ms=view_lookback_days * 86_400_000,
    )
    return sorted(aggregate(found), key=_order)


def assemble(
    people: Iterable[list[tuple[int, str, str, Decimal]]],
    *,
    range_start_ms: int,
    click_lookback_ms: int,
    view_lookback_ms: int,
) -> list[Journey]:
    """Journeys (not aggregated) from each person's time-ordered (ms, kind, value, amount)."""
    out: list[Journey] = []
    for events in people:
        touches = [(ms, kind, value) for ms, kind, value, _ in events if kind != "order"]
        times = [t[0] for t in touches]
        orders = [(ms, amount) for ms, kind, _, amount in events if kind == "order"]
        previous = -1
        for ms, amount in orders:
            if ms < range_start_ms:  # an earlier conversion: it only resets the path
                previous = ms
                continue
            path: list[str] = []
            ages: list[float] = []
            for t, kind, value in touches[
                bisect.bisect_right(times, previous) : bisect.bisect_right(times, ms)
            ]:
                window = click_lookback_ms if kind == "click" else view_lookback_ms
                if ms - t <= window:
                    path.append(value)
                    ages.append((ms - t) / 1000)
            if not path:
                path, ages = [DIRECT], [0.0]
            out.append(Journey(tuple(path), 1, amount, 0, tuple(ages)))
            previous = ms
        trailing = [value for t, _, value in touches if t > previous and t >= range_start_ms]
        if trailing:  # touches that have not converted (yet)
            out.append(Journey(tuple(trailing), 0, Decimal(0), 1))
    return out


def _order(j: Journey) -> tuple:
    return (j.path, j.touch_ages or (), j.conversions, j.nulls)
