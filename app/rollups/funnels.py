"""Computes and writes the funnel rollup: entries per entry day, funnel and one dimension's
value in `funnel_daily` (sql/0010_rollups.sql), so a funnel over a month reads a few rows a
day. The query layer reads it (`app.attribution.funnel_rollup`, which defines the funnels,
dimensions and calendar kept); this job only writes it.

What it covers (`covers`, where it is read): the funnels in `FUNNELS` with their window,
bots left out, days of `ROLLUP_TZ`, and at most one dimension among `DIMENSIONS` — the split
and the filters together (a split by `day` is free). Entries add up over days and values (see
`app.attribution.funnel`), so these questions need no events at all.

How it stays current (`refresh`): a day's entries change while events arrive on that day and
on the days its chains can reach (the window). `daily_counts` (a materialized view, always
current) gives each day's event count; a day whose reachable days' counts differ from those
recorded at its last computation is due, and is recomputed whole, with the same query the raw
path runs, grouped per dimension. Readers take a day's rows of the computation named in
`funnel_days` only, so a refresh never shows half a day. The rollup job (`app/rollups/job.py`)
runs `refresh` every `ADTRACK_ROLLUP_INTERVAL_S`; answers carry the oldest `computed_at`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.attribution import funnel
from app.attribution.filters import Filter, where
from app.attribution.funnel_rollup import DIMENSIONS, FUNNELS, ROLLUP_TZ
from app.attribution.funnel_steps import Step
from app.store.client import Store

# Events (and at most days) recomputed by one query: fewer, larger queries are faster (each
# reads the stitching look-back once), but one query holds the embedded engine (the loader
# and the API wait) and its memory grows with its events (~0.7 GB a million): 2 M events
# is ~10 s and ~1.5 GB on two slow cores.
SPAN_EVENTS = 2_000_000
SPAN_DAYS = 31


@dataclass(frozen=True)
class Refreshed:
    funnel: str
    days: tuple[date, ...]  # the days recomputed

    def as_json(self) -> dict[str, Any]:
        return {"funnel": self.funnel, "days": [d.isoformat() for d in self.days]}


def computed(store: Store) -> list[dict[str, Any]]:
    """Per rolled-up funnel: days computed, first and last day, oldest and newest computation
    (the API's and the CLI's rollup status)."""
    rows = store.query(
        "SELECT funnel, count(), min(day), max(day), min(computed_at), max(computed_at) "
        "FROM funnel_days FINAL GROUP BY funnel ORDER BY funnel"
    )
    return [
        {
            "funnel": name,
            "days": days,
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "oldest_computation": oldest.isoformat(),
            "newest_computation": newest.isoformat(),
        }
        for name, days, first, last, oldest, newest in rows
    ]


def refresh(store: Store, now: datetime | None = None) -> list[Refreshed]:
    """Recompute every due day of every rolled-up funnel; returns what was recomputed."""
    now = now or datetime.now(UTC)
    # A day's events, and the orders whose first report is on it by status: a refund or an
    # approval later on changes the day's orders, so its funnel is due again.
    per_day = store.query(
        "SELECT day, sum(events), sum(orders), sum(pending), sum(refunds) FROM daily_counts "
        "GROUP BY day"
    )
    counts = {day: int(n) for day, n, *_ in per_day}
    states = {day: "/".join(str(int(x)) for x in figures) for day, *figures in per_day}
    done = []
    for name, (steps, window_seconds) in FUNNELS.items():
        reach = math.ceil(window_seconds / 86_400) + 1

        def fingerprint(day: date, reach: int = reach) -> str:
            return ",".join(states.get(day + timedelta(days=i), "0") for i in range(reach + 1))

        recorded = dict(store.query(
            "SELECT day, fingerprint FROM funnel_days FINAL WHERE funnel = {funnel:String}",
            {"funnel": name},
        ))  # fmt: skip
        due = sorted(d for d in set(counts) | set(recorded) if recorded.get(d) != fingerprint(d))
        for span in _spans(due, counts):
            _compute(store, name, steps, window_seconds, span, now)
            store.insert_rows(
                "funnel_days",
                [(name, day, fingerprint(day), now) for day in span],
                ["funnel", "day", "fingerprint", "computed_at"],
            )
            store.command(
                "DELETE FROM funnel_daily WHERE funnel = {funnel:String} AND day >= {first:Date} "
                "AND day <= {last:Date} AND computed_at < {now:DateTime64(3, 'UTC')}",
                {"funnel": name, "first": span[0], "last": span[-1], "now": now},
            )
        if due:
            done.append(Refreshed(name, tuple(due)))
    return done


def _spans(days: Iterable[date], counts: dict[date, int]) -> Iterator[list[date]]:
    """Runs of consecutive days of at most SPAN_DAYS days and (but for a single day)
    SPAN_EVENTS events."""
    span: list[date] = []
    size = 0
    for day in days:
        full = len(span) == SPAN_DAYS or size + counts.get(day, 0) > SPAN_EVENTS
        if span and (day - span[-1] != timedelta(days=1) or full):
            yield span
            span, size = [], 0
        span.append(day)
        size += counts.get(day, 0)
    if span:
        yield span


def _compute(
    store: Store,
    name: str,
    steps: tuple[Step, ...],
    window_seconds: int,
    span: list[date],
    now: datetime,
) -> None:
    """Insert the entries of the span's days, every dimension, as of `now`."""
    flt = Filter(span[0], span[-1], tz=ROLLUP_TZ)
    condition, params = where(flt)
    params["reach_end"] = params["end"] + timedelta(seconds=window_seconds)
    params["window_ms"] = window_seconds * 1000
    params["stitch_from"] = params["start"] - funnel.STITCH_LOOKBACK
    params["stitch_to"] = params["reach_end"]
    units = ["CAST([], 'Array(String)')", *(f"[{d}]" for d in DIMENSIONS)]
    sql, step_params = funnel.entries_sql(steps, units, condition, bots=False)
    params.update(step_params, funnel=name, now=now, dims=["", *DIMENSIONS])
    store.command(
        f"""
INSERT INTO funnel_daily (funnel, dim, day, value, entries, gap_keys, gap_counts, computed_at)
SELECT {{funnel:String}}, {{dims:Array(String)}}[variant], day, if(variant = 1, '', unit[1]),
       entries, gap_histogram.1, gap_histogram.2, {{now:DateTime64(3, 'UTC')}}
FROM ({sql})
""",  # noqa: S608 (the inner query is built from allow-lists; values are bound)
        params,
    )
