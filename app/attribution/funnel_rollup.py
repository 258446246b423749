"""Reads the funnel rollup tables: which questions the daily rollup answers (`covers`), how
current it is for a range (`state`) and its sums (`read`).

`funnel_daily` (sql/0010_rollups.sql) holds entries per entry day, funnel and one dimension's
value; a reader takes a day's rows of the computation named in `funnel_days` only, so a
refresh never shows half a day. The rollup job computes and writes them
(`app.rollups.funnels`), with the funnels, dimensions and calendar defined here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.attribution.filters import Filter
from app.attribution.funnel_steps import (
    DEFAULT_STEPS,
    DEFAULT_WINDOW_SECONDS,
    Step,
    Sums,
    unit_dimensions,
)
from app.store.client import Store

ROLLUP_TZ = "Asia/Shanghai"
# The dimensions kept per funnel, each alone (the order is the variants' order in a refresh).
DIMENSIONS = (
    "channel",
    "partner_id",
    "site_key",
    "campaign_id",
    "placement_id",
    "creative_id",
    "link_code",
    "province_code",
    "city_code",
    "device_type",
)
# name -> (steps, window seconds): the default funnel, and click → order for rankings.
FUNNELS: dict[str, tuple[tuple[Step, ...], int]] = {
    "default": (DEFAULT_STEPS, DEFAULT_WINDOW_SECONDS),
    "click_order": ((Step("click"), Step("order")), DEFAULT_WINDOW_SECONDS),
}


@dataclass(frozen=True)
class Plan:
    funnel: str
    dim: str  # "" = no dimension


def covers(
    flt: Filter, steps: tuple[Step, ...], window_seconds: int, by: str | None
) -> Plan | None:
    """The rollup that answers this question, or None when only the events can."""
    if flt.tz != ROLLUP_TZ or flt.include_bots or flt.visitor:
        return None
    name = next((k for k, v in FUNNELS.items() if v == (steps, window_seconds)), None)
    dims = unit_dimensions(flt, by)
    if name is None or len(dims) > 1 or (dims and dims[0] not in DIMENSIONS):
        return None
    return Plan(name, dims[0] if dims else "")


def state(store: Store, flt: Filter, plan: Plan) -> tuple[int, datetime | None]:
    """(days of the range that have events but were never computed, the oldest day's
    computation). A day computed before its latest events is read as computed — at most one
    refresh interval old; a day never computed would read as empty."""
    [(missing, oldest)] = store.query(
        """
WITH days AS (
    SELECT day, computed_at FROM funnel_days FINAL
    WHERE funnel = {funnel:String} AND day >= {first:Date} AND day <= {last:Date}
)
SELECT
    (SELECT count() FROM (SELECT DISTINCT day FROM daily_counts
                          WHERE day >= {first:Date} AND day <= {last:Date})
     WHERE day NOT IN (SELECT day FROM days)),
    (SELECT if(count() = 0, NULL, min(computed_at)) FROM days)
""",
        {"funnel": plan.funnel, "first": flt.start, "last": flt.end},
    )
    return int(missing), oldest


def read(store: Store, flt: Filter, plan: Plan, by: str | None) -> dict[str, Sums]:
    """Sums per value of `by` over the filter's days (each day's current computation)."""
    n = len(FUNNELS[plan.funnel][0])
    params: dict[str, Any] = {
        "funnel": plan.funnel,
        "dim": plan.dim,
        "first": flt.start,
        "last": flt.end,
    }
    conditions = []
    if plan.dim:
        values = getattr(flt, plan.dim)
        if values:
            conditions.append("value IN {values:Array(String)}")
            params["values"] = list(values)
        if plan.dim == "channel" and flt.channel_type:
            conditions.append(
                "value IN (SELECT id FROM channels FINAL "
                "WHERE type IN {channel_type:Array(String)})"
            )
            params["channel_type"] = list(flt.channel_type)
    key = {"day": "toString(day)", None: "''"}.get(by, "value")
    extra = "".join(f" AND {c}" for c in conditions)
    rows = store.query(
        f"""
SELECT {key} AS key, sumForEach(entries), sumMap(gap_keys, gap_counts)
FROM funnel_daily
WHERE funnel = {{funnel:String}} AND dim = {{dim:String}}
  AND day >= {{first:Date}} AND day <= {{last:Date}}{extra}
  AND (day, computed_at) IN (
      SELECT day, computed_at FROM funnel_days FINAL
      WHERE funnel = {{funnel:String}} AND day >= {{first:Date}} AND day <= {{last:Date}})
GROUP BY key
""",  # noqa: S608 (the key and conditions are fixed texts; values are bound)
        params,
    )
    sums: dict[str, Sums] = {}
    for value, entries, histogram in rows:
        sums.setdefault(value, Sums([0] * n, {})).add(entries, histogram)
    return sums
