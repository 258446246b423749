"""Funnels: how many visitors go impression → click → visit → order (or any steps), per visitor
with ClickHouse `windowFunnel`, optionally split by one dimension.

A visitor is a person across domains: the partner page's visitor id (impression, click) and
the landing site's own id (visit, later events) are different cookies. Events that carry a
click id belong to that click's visitor, and a landing visitor id seen with a click id stands
for the click's visitor on its other events too (its earliest such click within the
look-back). The date range and filters apply to every step's events; a step counts only
within `window_seconds` of the chain's first step, in order (windowFunnel's default mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.attribution import stitch
from app.attribution.filters import Filter, FilterError, dimension, where
from app.ingest.record import EVENT_TYPES
from app.store.client import Store

MAX_STEPS = 16
DEFAULT_WINDOW_SECONDS = 7 * 24 * 3600
# How far before the range a click may lie and still stitch a landing visitor to its person.
STITCH_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True)
class Step:
    """One funnel step: an event type, narrowed to one event name when given."""

    event_type: str
    event_name: str = ""

    @classmethod
    def parse(cls, text: str) -> Step:
        """`click`, `order`, `event:signup`."""
        event_type, _, event_name = text.partition(":")
        return cls(event_type, event_name)

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            raise FilterError(f"unknown event type {self.event_type!r}")

    @property
    def label(self) -> str:
        return f"{self.event_type}:{self.event_name}" if self.event_name else self.event_type


DEFAULT_STEPS = (Step("impression"), Step("click"), Step("visit"), Step("order"))


@dataclass(frozen=True)
class StepFigures:
    step: Step
    visitors: int  # visitors whose chain reached this step
    conversion: float | None  # visitors / visitors of the previous step (None on step 1)
    overall: float | None  # visitors / visitors of step 1 (None when nobody entered)
    median_seconds: float | None  # from the previous step, lower median; None on step 1


@dataclass(frozen=True)
class FunnelRow:
    value: str | None  # the dimension value of the visitor's first step-1 event; None: no split
    steps: tuple[StepFigures, ...]

    @property
    def entered(self) -> int:
        return self.steps[0].visitors


@dataclass(frozen=True)
class Funnel:
    steps: tuple[Step, ...]
    window_seconds: int
    dimension: str | None
    rows: tuple[FunnelRow, ...]  # by visitors entering, most first, then by value


def build(
    flt: Filter,
    steps: Sequence[Step] = DEFAULT_STEPS,
    *,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The funnel query and its parameters (no store I/O: snapshot-testable).

    One row per dimension value (one row in all without `by`): value, visitors per step
    (Array(UInt64)), lower-median milliseconds between consecutive steps (Array(UInt64),
    one per step after the first that anybody reached).
    """
    steps = tuple(steps)
    if not 2 <= len(steps) <= MAX_STEPS:
        raise FilterError(f"a funnel has 2 to {MAX_STEPS} steps, got {len(steps)}")
    if not 0 < window_seconds <= 366 * 24 * 3600:
        raise FilterError("window_seconds must be within 1 second and 366 days")
    condition, params = where(flt)
    params["window_ms"] = window_seconds * 1000
    stitching, stitch_params = stitch.ctes(params["start"] - STITCH_LOOKBACK, params["end"])
    params.update(stitch_params)
    flags = []
    for i, step in enumerate(steps):
        params[f"step_type_{i}"] = step.event_type
        text = f"event_type = {{step_type_{i}:String}}"
        if step.event_name:
            params[f"step_name_{i}"] = step.event_name
            text += f" AND event_name = {{step_name_{i}:String}}"
        flags.append(f"toUInt8({text}) AS s{i}")
    any_step = " OR ".join(f"s{i}" for i in range(len(steps)))
    flag_names = ", ".join(f"s{i}" for i in range(len(steps)))
    dim = dimension(by) if by else "''"
    step_conditions = ", ".join(f"step = {i + 1}" for i in range(len(steps)))
    n = len(steps)
    # The chain, step by step, exactly as windowFunnel walks it: events sorted by (time, step);
    # a step-1 event restarts chain 1; step k extends chain k-1 if within the window of its
    # first event; everything stops once the last step is reached. Kept as arrays of times so
    # the gaps between consecutive steps of the counted chain can be read off.
    chain = (
        f"arrayFold((acc, e) -> if(length(acc[{n}]) > 0, acc, arrayMap((c, j) -> if(j != e.2, c, "
        "if(e.2 = 1, [e.1], if(length(acc[e.2 - 1]) > 0 "
        "AND e.1 <= acc[e.2 - 1][1] + {window_ms:UInt64}, arrayPushBack(acc[e.2 - 1], e.1), "
        "c))), acc, arrayEnumerate(acc))), "
        "arraySort(groupArray((ms, step))), "
        f"arrayResize(CAST([], 'Array(Array(UInt64))'), {n}))[level]"
    )
    sql = f"""
WITH
{stitching},
hits AS (
    SELECT
        {stitch.PERSON} AS person,
        h.ms AS ms, h.dim AS dim, {", ".join(f"h.s{i} AS s{i}" for i in range(n))}
    FROM (
        SELECT visitor_id, click_id, toUInt64(toUnixTimestamp64Milli(ts)) AS ms,
               {dim} AS dim, {", ".join(flags)}
        FROM events
        WHERE {condition} AND ({any_step})
    ) AS h
    {stitch.JOINS}
),
people AS (
    SELECT
        person,
        argMinIf(dim, ms, step = 1) AS value,
        windowFunnel({{window_ms:UInt64}})(ms, {step_conditions}) AS level,
        {chain} AS chain
    FROM hits
    ARRAY JOIN arrayFilter(i -> [{flag_names}][i] = 1, range(1, {n + 1})) AS step
    WHERE person != ''
    GROUP BY person
    HAVING level > 0
)
SELECT
    value,
    sumForEach(arrayResize(CAST([], 'Array(UInt64)'), level, 1)) AS visitors,
    quantileExactLowForEach(0.5)(arrayPopFront(arrayDifference(chain))) AS median_ms
FROM people
GROUP BY value
ORDER BY visitors[1] DESC, value
"""  # noqa: S608 (identifiers from allow-lists and step indexes; values are bound)
    return sql, params


def run(
    store: Store,
    flt: Filter,
    steps: Sequence[Step] = DEFAULT_STEPS,
    *,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
) -> Funnel:
    """Visitors reaching each step, step and overall conversion, median time between steps."""
    steps = tuple(steps)
    sql, params = build(flt, steps, window_seconds=window_seconds, by=by)
    rows = tuple(
        _row(value if by else None, steps, visitors, median_ms)
        for value, visitors, median_ms in store.query(sql, params)
    )
    return Funnel(steps, window_seconds, by, rows)


def _row(
    value: str | None, steps: tuple[Step, ...], visitors: list[int], median_ms: list[int]
) -> FunnelRow:
    counts = [int(visitors[i]) if i < len(visitors) else 0 for i in range(len(steps))]
    figures = []
    for i, step in enumerate(steps):
        previous = counts[i - 1] if i else 0
        figures.append(
            StepFigures(
                step=step,
                visitors=counts[i],
                conversion=counts[i] / previous if i and previous else None,
                overall=counts[i] / counts[0] if counts[0] else None,
                median_seconds=(median_ms[i - 1] / 1000 if i and i - 1 < len(median_ms) else None),
            )
        )
    return FunnelRow(value, tuple(figures))
