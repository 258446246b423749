"""Per page (/stats/pages): page views, entries, exits, exit rate, bounces and bounce rate,
over the sessions of `paths.sessions_sql`.

Definitions (sessions and pages as in `app.attribution.paths`): page views (visits to it),
entries (sessions entering there), exits (sessions leaving there), exit rate = exits / page
views, bounces = sessions entering there with exactly one page view (traffic's bounce),
bounce rate = bounces / entries.
"""

from __future__ import annotations

from typing import Any

from app.attribution.filters import Filter
from app.attribution.paths import MAX_TOP, check_top, sessions_sql
from app.attribution.report import Column, Param, Report
from app.attribution.traffic import SESSION_GAP
from app.store.client import Store


def build_pages(flt: Filter, *, top: int = 50) -> tuple[str, dict[str, Any]]:
    """The per-page query and its parameters (no store I/O): (page, views, entries, exits,
    bounces, all page views, all sessions, all pages), most viewed first."""
    check_top(top)
    ctes, params = sessions_sql(flt, None)
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


REPORT = Report(
    name="pages",
    summary="Per page: views, entries, exits, exit rate, bounce rate",
    counts=("page views in the range per page, with the sessions they enter and leave"),
    run=pages_report,
    params=(Param("top", int, 50, "the most viewed pages", ge=1, le=MAX_TOP),),
    columns=(
        Column("page", "Page", "text"),
        Column("page_views", "Page views"),
        Column("entries", "Entries"),
        Column("exits", "Exits"),
        Column("exit_rate", "Exit rate", "percent"),
        Column("bounces", "Bounces"),
        Column("bounce_rate", "Bounce rate", "percent"),
    ),
    noun="pages",
)
