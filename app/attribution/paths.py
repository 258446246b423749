"""The page paths sessions take (/stats/paths), and the sessions every page report reads
(`sessions_sql`, also under /stats/pages): the "user trajectory report" with `pages.py` and
`dropoff.py`.

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
"""

from __future__ import annotations

from typing import Any

from app.attribution.filters import Filter, FilterError, dimension, where
from app.attribution.report import Column, Param, Report
from app.attribution.traffic import SESSION_GAP
from app.store.client import Store

PATH_SEPARATOR = " > "
MAX_TOP = 10_000
MAX_DEPTH = 20


def sessions_sql(flt: Filter, by: str | None) -> tuple[str, dict[str, Any]]:
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


def check_top(top: int, name: str = "top") -> None:
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise FilterError(f"{name} must be an integer from 1 to {MAX_TOP}", name)


def build_paths(
    flt: Filter, by: str | None = None, *, top: int = 20, max_depth: int = 5
) -> tuple[str, dict[str, Any]]:
    """The paths query and its parameters (no store I/O): (dim, path, sessions, dim's
    sessions), at most `top` paths per dimension value, most taken first."""
    check_top(top)
    if isinstance(max_depth, bool) or not isinstance(max_depth, int):
        raise FilterError("max_depth must be an integer", "max_depth")
    if not 1 <= max_depth <= MAX_DEPTH:
        raise FilterError(f"max_depth must be 1 to {MAX_DEPTH}", "max_depth")
    ctes, params = sessions_sql(flt, by)
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


def table_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per (value, path)."""
    return [
        {"value": row["value"], "path": p["path"], "sessions": p["sessions"], "share": p["share"]}
        for row in answer["rows"]
        for p in row["paths"]
    ]


REPORT = Report(
    name="paths",
    summary="Top page paths of sessions, optionally per dimension value",
    counts=("sessions (30-minute gap) in the range and the page paths they take"),
    run=paths_report,
    params=(
        Param("by", str, None, "split by a dimension, e.g. channel"),
        Param("top", int, 20, "paths per value", ge=1, le=MAX_TOP),
        Param("max_depth", int, 5, "pages of a path", ge=1, le=MAX_DEPTH),
    ),
    columns=(
        Column("value", "Value", "text", empty="(all)"),
        Column("path", "Path", "text"),
        Column("sessions", "Sessions"),
        Column("share", "Share of the value's sessions", "percent"),
    ),
    rows=table_rows,
    noun="paths",
)
