"""Funnels: how many people go impression → click → visit → order (or any steps), as daily
entry cohorts, optionally split by one dimension.

The unit is an *entry*: a person entering step 1 on one local day of the filter's zone — and,
when the report is split by a dimension or filtered on dimensions, through one value of each
of those dimensions (a person who saw two placements that day makes two placement entries).
The filter and the split apply to the step-1 events that open entries. From each entry the
chain is walked as ClickHouse's `windowFunnel` walks it: events in time order; a step-1 event
of the entry (re)starts the chain; step k extends the chain that reached step k-1 when it is
within `window_seconds` of that chain's start; the walk stops at the last step. Later steps
are the same person's events of that step, wherever they happened (another site, another
channel), until the window ends — also after the range's last day. Bots are left out of every
step unless the filter asks for them.

Why entries rather than each person once over the range: entries add up over days and over
the values of a dimension, so the daily rollup (`app/rollups/funnels.py`) answers a long range
from a few rows per day, and this raw path computes exactly the same figures (tests hold both
to a brute-force recomputation).

A person is stitched across domains (`stitch.py`): the partner page's visitor id (impression,
click), and the landing site's own id once seen with a click id. The median time between two
steps is the lower median over the counted chains of whole seconds kept to three significant
figures (so a histogram can carry it through the rollup): 59 s, 1,234 → 1,230 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.attribution import funnel_rollup as rollup
from app.attribution import orders as order_rule
from app.attribution import stitch
from app.attribution.filters import Filter, FilterError, dimension, where
from app.attribution.funnel_steps import (
    DEFAULT_STEPS,
    DEFAULT_WINDOW_SECONDS,
    MAX_STEPS,
    Step,
    Sums,
    unit_dimensions,
)
from app.store.client import Store

# How far before the range a click may lie and still stitch a landing visitor to its person.
STITCH_LOOKBACK = timedelta(days=30)
# A gap histogram key: step index (1 = between step 1 and 2) in the high half, bucket below.
GAP_KEY_SHIFT = 1 << 32
# Whole seconds `g` to three significant figures (the median's precision).
GAP_BUCKET = (
    "multiIf(g < 1000, g, g < 10000, intDiv(g, 10) * 10, g < 100000, intDiv(g, 100) * 100, "
    "g < 1000000, intDiv(g, 1000) * 1000, intDiv(g, 10000) * 10000)"
)


@dataclass(frozen=True)
class StepFigures:
    step: Step
    entries: int  # entries whose chain reached this step
    conversion: float | None  # entries / entries of the previous step (None on step 1)
    overall: float | None  # entries / entries of step 1 (None when nobody entered)
    median_seconds: int | None  # from the previous step (see the module doc); None on step 1


@dataclass(frozen=True)
class FunnelRow:
    value: str | None  # the dimension value of the entries; None: no split
    steps: tuple[StepFigures, ...]

    @property
    def entered(self) -> int:
        return self.steps[0].entries


@dataclass(frozen=True)
class Funnel:
    steps: tuple[Step, ...]
    window_seconds: int
    dimension: str | None
    rows: tuple[FunnelRow, ...]  # by entries, most first, then by value
    source: str  # "raw" (events) or "rollup" (funnel_daily)
    computed_at: datetime | None = None  # rollup: the oldest day's computation in the range


def check(steps: Sequence[Step], window_seconds: int) -> tuple[Step, ...]:
    steps = tuple(steps)
    if not 2 <= len(steps) <= MAX_STEPS:
        raise FilterError(f"a funnel has 2 to {MAX_STEPS} steps, got {len(steps)}", "steps")
    if not 0 < window_seconds <= 366 * 24 * 3600:
        raise FilterError("window_seconds must be within 1 second and 366 days", "window")
    return steps


def entries_sql(
    steps: tuple[Step, ...],
    units: Sequence[str],
    entry_condition: str,
    bots: bool,
) -> tuple[str, dict[str, Any]]:
    """The query over `events` that walks every entry and sums them per (variant, day, unit).

    `units` are Array(String) expressions over an event's columns: each is a variant, and an
    entry is (person, variant, day, that variant's value on a step-1 event for which
    `entry_condition` holds). The caller binds `start`, `reach_end` (events read), `tz`,
    `window_ms`, `stitch_from`, `stitch_to` and the condition's own parameters. Rows:
    variant (1-based), day, unit, entries per step (Array(UInt64)), and the gap histogram
    (Tuple(keys Array(UInt64), counts Array(UInt64)), keys `step * GAP_KEY_SHIFT + bucket`).
    """
    n = len(steps)
    params: dict[str, Any] = {}
    flags = []
    for i, step in enumerate(steps):
        params[f"step_type_{i}"] = step.event_type
        text = f"event_type = {{step_type_{i}:String}}"
        if step.event_name:
            params[f"step_name_{i}"] = step.event_name
            text += f" AND event_name = {{step_name_{i}:String}}"
        if step.event_type == "order":  # an order that counts (orders.py), on its first report
            text += f" AND {order_rule.COUNTED}"
        flags.append(f"toUInt8({text}) AS s{i}")
    flag_names = ", ".join(f"s{i}" for i in range(n))
    any_step = " OR ".join(f"s{i}" for i in range(n))
    bot_condition = "" if bots else "AND is_bot = 0"
    # The chain exactly as windowFunnel walks it, over one entry's events (ms, step) sorted by
    # (time, step); kept as arrays of times so the gaps of the counted chain can be read off.
    # An entry's events are its step-1 events `r.1` (times) and the person's later steps
    # before `r.2`, the start of the unit's next entry day.
    chain = (
        f"arrayFold((acc, e) -> if(length(acc[{n}]) > 0, acc, arrayMap((c, j) -> if(j != e.2, c, "
        "if(e.2 = 1, [e.1], if(length(acc[e.2 - 1]) > 0 "
        "AND e.1 <= acc[e.2 - 1][1] + {window_ms:UInt64}, arrayPushBack(acc[e.2 - 1], e.1), "
        "c))), acc, arrayEnumerate(acc))), "
        "arraySort(x -> (x.1, x.2), arrayConcat(arrayMap(t -> (t, toUInt8(1)), r.1), "
        "arrayFilter(x -> x.1 < r.2, later))), "
        f"arrayResize(CAST([], 'Array(Array(UInt64))'), {n}))"
    )
    sql = f"""
WITH
{stitch.CTES},
hits AS (
    SELECT {stitch.PERSON} AS person, h.ms AS ms, h.day AS day, h.units AS units,
           h.entry AS entry, {", ".join(f"h.s{i} AS s{i}" for i in range(n))}
    FROM (
        SELECT visitor_id, click_id, toUInt64(toUnixTimestamp64Milli(ts)) AS ms,
               toDate(ts, {{tz:String}}) AS day, [{", ".join(units)}] AS units,
               toUInt8({entry_condition}) AS entry, {", ".join(flags)}
        FROM {order_rule.EVENTS}
        WHERE ts >= {{start:DateTime64(3, 'UTC')}} AND ts < {{reach_end:DateTime64(3, 'UTC')}}
          {bot_condition} AND ({any_step})
    ) AS h
    {stitch.JOINS}
),
people AS (
    SELECT person, arraySort(x -> (x.1, x.2), groupArray((ms, step, day, units, entry))) AS evs
    FROM hits
    ARRAY JOIN arrayFilter(i -> [{flag_names}][i] = 1, range(1, {n + 1})) AS step
    WHERE person != ''
    GROUP BY person
    HAVING has(arrayMap(x -> x.2 * x.5, evs), 1)
),
entries AS (
    -- An entry's later steps end where the same unit's next entry day begins (each event
    -- serves one day's entry). Entries with the same step-1 events and end walk the same
    -- chain: each is walked once.
    SELECT keys, runs, arrayDistinct(runs) AS distinct_runs,
           arrayMap(r -> {chain}, distinct_runs) AS chains
    FROM (
        SELECT
            keys,
            arrayMap(k -> (
                arrayMap(x -> x.1, arrayFilter(x -> x.5 = 1 AND x.3 = k.2 AND x.4[k.1] = k.3,
                    firsts)),
                arrayFold((m, x) -> if(x.3 > k.2 AND x.4[k.1] = k.3, least(m, x.1), m),
                    firsts, toUInt64(-1))
            ), keys) AS runs,
            later
        FROM (
            SELECT
                arrayFilter(x -> x.2 = 1, evs) AS firsts,
                arrayMap(x -> (x.1, x.2), arrayFilter(x -> x.2 > 1, evs)) AS later,
                arrayDistinct(arrayFlatten(arrayMap(x -> arrayMap(v -> (v, x.3, x.4[v]),
                    range(1, {len(units) + 1})), arrayFilter(x -> x.2 = 1 AND x.5 = 1, evs))))
                    AS keys
            FROM people
        )
    )
),
walked AS (
    SELECT k.1 AS variant, k.2 AS day, k.3 AS unit, chains[indexOf(distinct_runs, r)] AS acc,
           arrayCount(c -> length(c) > 0, acc) AS level,
           arrayPopFront(arrayDifference(acc[level])) AS gaps
    FROM entries
    ARRAY JOIN keys AS k, runs AS r
)
SELECT
    variant, day, unit,
    sumForEach(arrayResize(CAST([], 'Array(UInt64)'), level, 1)) AS entries,
    sumMap(
        arrayMap((g, i) -> toUInt64(i) * {GAP_KEY_SHIFT} + {GAP_BUCKET},
                 arrayMap(d -> toUInt64(intDiv(d, 1000)), gaps), arrayEnumerate(gaps)),
        arrayResize(CAST([], 'Array(UInt64)'), length(gaps), 1)
    ) AS gap_histogram
FROM walked
GROUP BY variant, day, unit
"""  # noqa: S608 (identifiers from allow-lists and step indexes; values are bound)
    return sql, params


def build(
    flt: Filter,
    steps: Sequence[Step] = DEFAULT_STEPS,
    *,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The raw funnel query and its parameters (no store I/O: snapshot-testable).

    Rows: day, unit (the `unit_dimensions` values, `by`'s first), entries per step, gap
    histogram; `run` adds them up per value.
    """
    steps = check(steps, window_seconds)
    if by:
        dimension(by)  # FilterError for a name off the allow-list
    condition, params = where(flt)
    start, end = params["start"], params["end"]
    params["reach_end"] = end + timedelta(seconds=window_seconds)
    params["window_ms"] = window_seconds * 1000
    params["stitch_from"] = start - STITCH_LOOKBACK
    params["stitch_to"] = params["reach_end"]
    unit = f"[{', '.join(dimension(d) for d in unit_dimensions(flt, by))}]"
    if unit == "[]":
        unit = "CAST([], 'Array(String)')"
    sql, step_params = entries_sql(steps, [unit], condition, flt.include_bots)
    params.update(step_params)
    return sql, params


def run(
    store: Store,
    flt: Filter,
    steps: Sequence[Step] = DEFAULT_STEPS,
    *,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
    source: str = "auto",
) -> Funnel:
    """Entries reaching each step, step and overall conversion, median time between steps.

    `source`: "auto" reads the daily rollup when it covers the question (see
    `app.attribution.funnel_rollup.covers`) and has computed every day of the range that has events,
    and the events otherwise; "raw" always reads the events; "rollup" refuses a question the
    rollup cannot answer.
    """
    steps = check(steps, window_seconds)
    if source not in ("auto", "raw", "rollup"):
        raise FilterError("source must be auto, raw or rollup", "source")
    plan = rollup.covers(flt, steps, window_seconds, by)
    if source == "rollup" and plan is None:
        raise FilterError(
            "the rollup covers the default funnels, one dimension, bots left out, no visitor "
            f"filter and the {rollup.ROLLUP_TZ} calendar; use source=raw or auto",
            "source",
        )
    if plan is not None and source != "raw":
        missing, computed_at = rollup.state(store, flt, plan)
        if source == "rollup" or not missing:
            sums = rollup.read(store, flt, plan, by)
            return _funnel(steps, window_seconds, by, sums, "rollup", computed_at)
    sql, params = build(flt, steps, window_seconds=window_seconds, by=by)
    sums: dict[str, Sums] = {}
    for _variant, day, unit, entries, histogram in store.query(sql, params):
        value = _value(by, day, unit)
        sums.setdefault(value, Sums([0] * len(steps), {})).add(entries, histogram)
    return _funnel(steps, window_seconds, by, sums, "raw", None)


def _value(by: str | None, day: date, unit: Sequence[str]) -> str:
    if by == "day":
        return day.isoformat()
    return unit[0] if by else ""


def _funnel(
    steps: tuple[Step, ...],
    window_seconds: int,
    by: str | None,
    sums: dict[str, Sums],
    source: str,
    computed_at: datetime | None,
) -> Funnel:
    rows = [_row(value if by else None, steps, s) for value, s in sums.items() if s.entries[0]]
    rows.sort(key=lambda r: (-r.entered, r.value or ""))
    return Funnel(steps, window_seconds, by, tuple(rows), source, computed_at)


def lower_medians(gaps: dict[int, int], n_gaps: int) -> list[int | None]:
    """The lower median of each step gap's histogram (None where no chain got that far)."""
    medians: list[int | None] = []
    for i in range(1, n_gaps + 1):
        buckets = sorted(
            (key - i * GAP_KEY_SHIFT, count)
            for key, count in gaps.items()
            if key // GAP_KEY_SHIFT == i and count
        )
        total = sum(count for _, count in buckets)
        if not total:
            medians.append(None)
            continue
        rank, seen = (total - 1) // 2, 0
        for bucket, count in buckets:
            seen += count
            if seen > rank:
                medians.append(bucket)
                break
    return medians


def _row(value: str | None, steps: tuple[Step, ...], sums: Sums) -> FunnelRow:
    counts = sums.entries
    medians = lower_medians(sums.gaps, len(steps) - 1)
    figures = []
    for i, step in enumerate(steps):
        previous = counts[i - 1] if i else 0
        figures.append(
            StepFigures(
                step=step,
                entries=counts[i],
                conversion=counts[i] / previous if i and previous else None,
                overall=counts[i] / counts[0] if counts[0] else None,
                median_seconds=medians[i - 1] if i else None,
            )
        )
    return FunnelRow(value, tuple(figures))
