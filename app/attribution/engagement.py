"""Silence time, activity tiers and stickiness of visitors (/stats/silence): the health
figures operators manage their base by.

Definitions (over the filter's events of every type, its list filters applied; bots left out
unless asked for):
- a person is one non-empty `visitor_id` as stored: the landing site's cookie for visits,
  orders and custom events, the partner page's for impressions and clicks (no cross-domain
  stitching: the simplest honest unit; a person seen on both sides counts twice).
- active day: a local calendar day (in `flt.tz`) with at least one event of the person.
- scope: people with an event in the range or in the `lookback_days` before it.
- silence: local calendar days from the person's last active day (up to `flt.end`) to
  `flt.end`: 0 = active on the range's last day, 1 = last seen the day before, …; bucketed
  0, 1-3, 4-7, 8-14, 15-30, 31-60, 61-90, over 90 days. The median is the lower median.
- tiers over the range: silent = no active day in the range (active in the look-back only),
  low-active = 1 to `high_active_days` - 1 active days, high-active = `high_active_days`
  (3) or more active days.
- stickiness (粘性): people active in both the range and the base period ÷ people active
  in the base period (None when nobody was). The base, as the playbooks define it
  (`stickiness_base="calendar"`, the default): for a range of whole calendar months, as many
  calendar months just before — for March, all of February, not 29 January – 28 February;
  for any other range, and when asked (`stickiness_base="equal_length"`), the days just
  before the range, as many as it has. The answer's `stickiness.base` says which was used.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from app.attribution.filters import Filter, FilterError, where
from app.attribution.report import Column, Param, Report
from app.store.client import Store

LOOKBACK_DAYS = 90
HIGH_ACTIVE_DAYS = 3
MAX_DAYS = 366
# How stickiness picks its base period (see the module doc).
CALENDAR, EQUAL_LENGTH = "calendar", "equal_length"
STICKINESS_BASES = (CALENDAR, EQUAL_LENGTH)
# Silence buckets (inclusive days; None: no upper bound).
BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 3),
    (4, 7),
    (8, 14),
    (15, 30),
    (31, 60),
    (61, 90),
    (91, None),
)


def _days(value: int, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_DAYS:
        raise FilterError(f"{name} must be an integer from {low} to {MAX_DAYS}", name)
    return value


def whole_months(start: date, end: date) -> int | None:
    """How many calendar months start..end covers when it is whole months (from a 1st to a
    month's last day), else None."""
    if start.day != 1 or (end + timedelta(days=1)).day != 1:
        return None
    return (end.year - start.year) * 12 + end.month - start.month + 1


def base_period(flt: Filter, base: str = CALENDAR) -> tuple[str, Filter]:
    """The kind of base period used ("calendar" or "equal_length") and its range (same
    filters): it always ends the day before `flt.start`."""
    if base not in STICKINESS_BASES:
        allowed = ", ".join(STICKINESS_BASES)
        raise FilterError(f"stickiness_base must be one of {allowed}", "stickiness_base")
    day_before = flt.start - timedelta(days=1)
    months = whole_months(flt.start, flt.end) if base == CALENDAR else None
    if months is not None:
        index = flt.start.year * 12 + flt.start.month - 1 - months  # months since year 0
        first = date(index // 12, index % 12 + 1, 1)
        return CALENDAR, dataclasses.replace(flt, start=first, end=day_before)
    length = flt.end - flt.start + timedelta(days=1)
    return EQUAL_LENGTH, dataclasses.replace(flt, start=flt.start - length, end=day_before)


def previous_range(flt: Filter, base: str = CALENDAR) -> Filter:
    """The base period of stickiness for `flt` (see `base_period`)."""
    return base_period(flt, base)[1]


def build(
    flt: Filter,
    *,
    lookback_days: int = LOOKBACK_DAYS,
    high_active_days: int = HIGH_ACTIVE_DAYS,
    stickiness_base: str = CALENDAR,
) -> tuple[str, dict[str, Any]]:
    """The query and its parameters (no store I/O): one row of scope size, visitors per
    silence bucket (Array(UInt64)), median silence, tier counts, base-period people and
    those of them active in the range."""
    _days(lookback_days, "lookback_days", 1)
    _days(high_active_days, "high_active_days", 2)
    previous = previous_range(flt, stickiness_base)
    first_day = min(flt.start - timedelta(days=lookback_days), previous.start)
    condition, params = where(dataclasses.replace(flt, start=first_day), visitor_as_of=flt.start)
    params.update(
        range_start=flt.utc_range()[0],
        look_start=dataclasses.replace(
            flt, start=flt.start - timedelta(days=lookback_days)
        ).utc_range()[0],
        prev_start=previous.utc_range()[0],
        end_day=flt.end,
        high=high_active_days,
        lows=[low for low, _ in BUCKETS],
        highs=[MAX_DAYS * 10 if high is None else high for _, high in BUCKETS],
    )
    sql = f"""
WITH people AS (
    SELECT visitor_id,
        dateDiff('day', toDate(max(ts), {{tz:String}}), {{end_day:Date}}) AS silence,
        uniqExactIf(toDate(ts, {{tz:String}}), ts >= {{range_start:DateTime64(3, 'UTC')}})
            AS active_days,
        max(ts) >= {{look_start:DateTime64(3, 'UTC')}} AS in_scope,
        countIf(ts >= {{prev_start:DateTime64(3, 'UTC')}}
                AND ts < {{range_start:DateTime64(3, 'UTC')}}) > 0 AS in_previous
    FROM events
    WHERE {condition} AND visitor_id != ''
    GROUP BY visitor_id
)
SELECT
    countIf(in_scope) AS scoped,
    sumForEach(arrayMap((lo, hi) -> toUInt64(in_scope AND silence >= lo AND silence <= hi),
                        {{lows:Array(UInt32)}}, {{highs:Array(UInt32)}})) AS buckets,
    quantileExactLowIf(0.5)(silence, in_scope) AS median,
    countIf(in_scope AND active_days = 0) AS silent,
    countIf(active_days >= 1 AND active_days < {{high:UInt32}}) AS low_active,
    countIf(active_days >= {{high:UInt32}}) AS high_active,
    countIf(in_previous) AS previous,
    countIf(in_previous AND active_days > 0) AS retained
FROM people
"""  # noqa: S608 (the WHERE fragment comes from `where`; values are bound)
    return sql, params


def silence_report(
    store: Store,
    flt: Filter,
    lookback_days: int = LOOKBACK_DAYS,
    *,
    high_active_days: int = HIGH_ACTIVE_DAYS,
    stickiness_base: str = CALENDAR,
) -> dict[str, Any]:
    """Silence-time distribution and median, activity tiers over the range, and stickiness
    against the previous calendar month(s) or the equal-length window before the range (see
    the module doc for each definition)."""
    sql, params = build(
        flt,
        lookback_days=lookback_days,
        high_active_days=high_active_days,
        stickiness_base=stickiness_base,
    )
    [(scoped, buckets, median, silent, low, high, previous, retained)] = store.query(sql, params)
    scoped, previous, retained = int(scoped), int(previous), int(retained)
    counts = [int(n) for n in buckets] or [0] * len(BUCKETS)  # no rows: an empty array
    base, prev = base_period(flt, stickiness_base)

    def share(n: int) -> float | None:
        return n / scoped if scoped else None

    tiers = (
        ("silent", 0, 0, silent),
        ("low_active", 1, high_active_days - 1, low),
        ("high_active", high_active_days, None, high),
    )
    return {
        "as_of": flt.end.isoformat(),
        "tz": flt.tz,
        "lookback_days": lookback_days,
        "lookback_start": (flt.start - timedelta(days=lookback_days)).isoformat(),
        "high_active_days": high_active_days,
        "visitors": scoped,
        "median_silence_days": int(median) if scoped else None,
        "buckets": [
            {
                "label": f"{lo}" if lo == hi else f">{lo - 1}" if hi is None else f"{lo}-{hi}",
                "min_days": lo,
                "max_days": hi,
                "visitors": n,
                "share": share(n),
            }
            for (lo, hi), n in zip(BUCKETS, counts, strict=True)
        ],
        "tiers": [
            {
                "tier": name,
                "min_active_days": lo,
                "max_active_days": hi,
                "visitors": int(n),
                "share": share(int(n)),
            }
            for name, lo, hi, n in tiers
        ],
        "stickiness": {
            "base": base,
            "previous_start": prev.start.isoformat(),
            "previous_end": prev.end.isoformat(),
            "previous_visitors": previous,
            "retained": retained,
            "rate": retained / previous if previous else None,
        },
    }


def table_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The silence buckets, the tiers, then stickiness, one table."""
    rows = [{"group": "silence", "label": b["label"], "visitors": b["visitors"],
             "share": b["share"]} for b in answer["buckets"]]  # fmt: skip
    rows += [{"group": "tier", "label": t["tier"], "visitors": t["visitors"],
              "share": t["share"]} for t in answer["tiers"]]  # fmt: skip
    sticky = answer["stickiness"]
    rows.append({"group": "stickiness", "label": f"retained of {sticky['previous_visitors']}",
                 "visitors": sticky["retained"], "share": sticky["rate"]})  # fmt: skip
    return rows


REPORT = Report(
    name="silence",
    summary="Silence time (days since last activity), activity tiers",
    counts=("visitors active in the range: days since their last activity, as of the range end"),
    run=silence_report,
    params=(
        Param("lookback_days", int, LOOKBACK_DAYS, ge=1, le=MAX_DAYS),
        Param("high_active_days", int, HIGH_ACTIVE_DAYS, ge=2, le=MAX_DAYS),
        Param(
            "stickiness_base",
            str,
            CALENDAR,
            "calendar: the previous calendar month(s) for a range of whole months; "
            "equal_length: as many days just before the range",
            choices=STICKINESS_BASES,
        ),
    ),
    columns=(
        Column("group", "Group", "text"),
        Column("label", "Bucket", "text"),
        Column("visitors", "Visitors"),
        Column("share", "Share", "percent"),
    ),
    rows=table_rows,
    footer="median silence: {median_silence_days} days as of {as_of}",
)
