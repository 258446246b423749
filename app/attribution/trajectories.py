"""User trajectories: the page paths sessions take, entry and exit pages, and where a step
funnel loses people (the daily "user trajectory report").

Definitions (over the filter's landing `visit` events; bots left out unless asked for):
- page: the path of the visit's URL (`path(url)` in ClickHouse: scheme, host, query string
  and fragment dropped); an empty path is "/". One `visit` event is one page view.
- sessions: as in `app.attribution.traffic`, one visitor's (non-empty `visitor_id`) visits
  split where more than `SESSION_GAP` (30 minutes) passes between consecutive visits; a gap
  of exactly 30:00 does not split. Visits at the same millisecond are ordered by page.
  Unlike traffic's per-value sessions, a session here is not split by dimension: its value
  (for `by`) is that of its first visit.
- a session's page sequence: its pages in time order with consecutive repeats of the same
  page collapsed (a reload is not a step); the entry page is the first, the exit page the
  last.
- path: the first `max_depth` pages of the sequence joined with " > "; share = sessions
  taking the path / sessions (of the same dimension value).
- per page: page views (visits to it), entries (sessions entering there), exits (sessions
  leaving there), exit rate = exits / page views, bounces = sessions entering there with
  exactly one page view (traffic's bounce), bounce rate = bounces / entries.
- drop-off (a step funnel, `app.attribution.funnel`, counted in the funnel's own unit):
  after step k, dropped = reached step k but not step k+1; drop rate = dropped / reached
  step k; share of drop-offs = dropped / all who entered but did not finish. The last step
  has no drop-off (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.attribution import funnel
from app.attribution.filters import Filter, FilterError, dimension, where
from app.attribution.traffic import SESSION_GAP
from app.store.client import Store

PATH_SEPARATOR = " > "
MAX_TOP = 10_000
MAX_DEPTH = 20


def _sessions_sql(flt: Filter, by: str | None) -> tuple[str, dict[str, Any]]:
    """The `visits` and `sessions` CTEs (no leading `WITH`) and their parameters.

    `visits`: (visitor_id, ms, page, dim), one row per page view; `sessions`: (dim, pages,
    views) per session, `pages` with consecutive repeats collapsed, `views` its page views.
    """
    condition, params = where(flt)
    params["gap_ms"] = int(SESSION_GAP.total_seconds() * 1000)
    dim = dimension(by) if by else "''"
    sql = f"""visits AS (
    SELECT visitor_id, toInt64(toUnixTimestamp64Milli(ts)) AS ms,
           if(path(url) = '', '/', path(url)) AS page, toString({dim}) AS dim
    FROM events
    WHERE {condition} AND event_type = 'visit' AND visitor_id != ''
),
people AS (
    SELECT visitor_id,
        arraySort(groupArray((ms, page, dim))) AS hits,
        arraySplit((h, i) -> i > 1 AND h.1 - hits[i - 1].1 > {{gap_ms:Int64}},
                   hits, arrayEnumerate(hits)) AS runs
    FROM visits
    GROUP BY visitor_id
),
sessions AS (
    SELECT run[1].3 AS dim, length(run) AS views,
        arrayMap(h -> h.2, run) AS seen,
        arrayFilter((p, i) -> i = 1 OR p != seen[i - 1], seen, arrayEnumerate(seen)) AS pages
    FROM people
    ARRAY JOIN runs AS run
)"""  # noqa: S608 (the dimension expression comes from the allow-list; values are bound)
    return sql, params


def _check_top(top: int, name: str = "top") -> None:
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise FilterError(f"{name} must be an integer from 1 to {MAX_TOP}")


def build_paths(
    flt: Filter, by: str | None = None, *, top: int = 20, max_depth: int = 5
) -> tuple[str, dict[str, Any]]:
    """The paths query and its parameters (no store I/O): (dim, path, sessions, dim's
    sessions), at most `top` paths per dimension value, most taken first."""
    _check_top(top)
    if isinstance(max_depth, bool) or not isinstance(max_depth, int):
        raise FilterError("max_depth must be an integer")
    if not 1 <= max_depth <= MAX_DEPTH:
        raise FilterError(f"max_depth must be 1 to {MAX_DEPTH}")
    ctes, params = _sessions_sql(flt, by)
    params.update(top=top, depth=max_depth, separator=PATH_SEPARATOR)
    sql = f"""
WITH
{ctes}
SELECT dim, trail, taken, sum(taken) OVER (PARTITION BY dim) AS total
FROM (
    SELECT dim, arrayStringConcat(arraySlice(pages, 1, {{depth:UInt32}}), {{separator:String}})
               AS trail,
           count() AS taken
    FROM sessions
    GROUP BY dim, trail
)
ORDER BY total DESC, dim, taken DESC, trail
LIMIT {{top:UInt32}} BY dim
"""  # noqa: S608 (CTE text built above from allow-listed names; values are bound)
    return sql, params


def paths_report(
    store: Store, flt: Filter, by: str | None = None, top: int = 20, max_depth: int = 5
) -> dict[str, Any]:
    """The most taken page paths (first `max_depth` pages of a session), overall or per value
    of `by` (the session's first visit's value)."""
    sql, params = build_paths(flt, by, top=top, max_depth=max_depth)
    rows: dict[str, dict[str, Any]] = {}
    for dim, trail, taken, total in store.query(sql, params):
        row = rows.setdefault(
            dim, {"value": dim if by else None, "sessions": int(total), "paths": []}
        )
        row["paths"].append(
            {
                "path": trail,
                "pages": trail.split(PATH_SEPARATOR),
                "sessions": int(taken),
                "share": int(taken) / int(total),
            }
        )
    return {
        "by": by,
        "top": top,
        "max_depth": max_depth,
        "session_gap_seconds": int(SESSION_GAP.total_seconds()),
        "rows": list(rows.values()),
    }


def build_pages(flt: Filter, *, top: int = 50) -> tuple[str, dict[str, Any]]:
    """The per-page query and its parameters (no store I/O): (page, views, entries, exits,
    bounces, all page views, all sessions, all pages), most viewed first."""
    _check_top(top)
    ctes, params = _sessions_sql(flt, None)
    params["top"] = top
    sql = f"""
WITH
{ctes}
SELECT page, sum(v) AS views, sum(e) AS entries, sum(x) AS exits, sum(b) AS bounces,
       sum(views) OVER () AS all_views, sum(entries) OVER () AS all_sessions,
       count() OVER () AS all_pages
FROM (
    SELECT page, toUInt8(1) AS v, toUInt8(0) AS e, toUInt8(0) AS x, toUInt8(0) AS b
    FROM visits
    UNION ALL
    SELECT pages[1], toUInt8(0), toUInt8(1), toUInt8(0), toUInt8(views = 1) FROM sessions
    UNION ALL
    SELECT pages[-1], toUInt8(0), toUInt8(0), toUInt8(1), toUInt8(0) FROM sessions
)
GROUP BY page
ORDER BY views DESC, entries DESC, page
LIMIT {{top:UInt32}}
"""  # noqa: S608 (CTE text built above from allow-listed names; values are bound)
    return sql, params


def pages_report(store: Store, flt: Filter, top: int = 50) -> dict[str, Any]:
    """Per page (the `top` most viewed): page views, entries, exits, exit rate, bounces and
    bounce rate; with the totals over every page."""
    sql, params = build_pages(flt, top=top)
    rows = []
    totals = {"page_views": 0, "sessions": 0, "pages": 0}
    for page, views, entries, exits, bounces, all_views, all_sessions, all_pages in store.query(
        sql, params
    ):
        views, entries, exits, bounces = int(views), int(entries), int(exits), int(bounces)
        totals = {
            "page_views": int(all_views),
            "sessions": int(all_sessions),
            "pages": int(all_pages),
        }
        rows.append(
            {
                "page": page,
                "page_views": views,
                "entries": entries,
                "exits": exits,
                "exit_rate": exits / views if views else None,
                "bounces": bounces,
                "bounce_rate": bounces / entries if entries else None,
            }
        )
    return {
        "top": top,
        "session_gap_seconds": int(SESSION_GAP.total_seconds()),
        **totals,
        "rows": rows,
    }


def dropoff_report(
    store: Store,
    flt: Filter,
    steps: Sequence[str] = (),
    *,
    window_seconds: int = funnel.DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
) -> dict[str, Any]:
    """Where a step funnel (default impression → click → visit → order) loses people: per
    step, how many reached it, dropped after it, drop rate and share of all drop-offs."""
    if isinstance(steps, str):
        raise FilterError("steps must be a sequence of step names, e.g. ['click', 'order']")
    chosen = tuple(funnel.Step.parse(s) for s in steps) or funnel.DEFAULT_STEPS
    result = funnel.run(store, flt, chosen, window_seconds=window_seconds, by=by)
    return {
        "steps": [s.label for s in result.steps],
        "window_seconds": result.window_seconds,
        "by": result.dimension,
        "rows": [dropoff_row(row) for row in result.rows],
    }


def dropoff_row(row: funnel.FunnelRow) -> dict[str, Any]:
    """One funnel row's drop-offs: per step, how many reached it, dropped after it, the drop
    rate and the share of all drop-offs; the step losing the most (the first of equals)."""
    counts = [f.entries for f in row.steps]
    lost = counts[0] - counts[-1]
    steps = []
    for i, figures in enumerate(row.steps):
        dropped = counts[i] - counts[i + 1] if i + 1 < len(counts) else None
        steps.append(
            {
                "step": figures.step.label,
                "reached": counts[i],
                "dropped": dropped,
                "drop_rate": dropped / counts[i] if dropped is not None and counts[i] else None,
                "share_of_dropoffs": dropped / lost if dropped is not None and lost else None,
            }
        )
    worst = max((s for s in steps if s["dropped"]), key=lambda s: s["dropped"], default=None)
    return {
        "value": row.value,
        "entered": counts[0],
        "completed": counts[-1],
        "dropped": lost,
        "worst_step": worst["step"] if worst else None,
        "steps": steps,
    }
