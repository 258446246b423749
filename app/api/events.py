"""The live event and reject logs over HTTP (app.store.event_log), and the ingest status.

Everyone in-house reads all rows; a partner reads only the rows of its own sites and the
visits and orders its clicks brought, without full addresses or the advertiser's order
details (app/store/partner_view.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from app.errors import Refused
from app.http.deps import ReadDep, RuntimeDep, SiteScopeDep, StoreDep, TeamDep
from app.ingest.spool import spool_depth
from app.store import event_log

router = APIRouter(prefix="/api/v1", tags=["ingest"])


@router.get("/events", summary="Recent events, newest first")
def list_events(
    _: ReadDep,
    store: StoreDep,
    scope: SiteScopeDep,
    event_type: str | None = None,
    site_key: str | None = None,
    partner_id: str | None = None,
    campaign_id: str | None = None,
    placement_id: str | None = None,
    creative_id: str | None = None,
    link_code: str | None = None,
    click_id: str | None = None,
    visitor_id: str | None = None,
    order_id: str | None = None,
    province: Annotated[str | None, Query(description="GB/T 2260 code or stored name")] = None,
    city: Annotated[str | None, Query(description="GB/T 2260 code or stored name")] = None,
    device_type: str | None = None,
    os: str | None = None,
    browser: str | None = None,
    since: Annotated[
        str | None, Query(description="ISO date or date-time (UTC), or a duration: 15m, 2h, 7d")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    filters = {
        "event_type": event_type,
        "site_key": site_key,
        "partner_id": partner_id,
        "campaign_id": campaign_id,
        "placement_id": placement_id,
        "creative_id": creative_id,
        "link_code": link_code,
        "click_id": click_id,
        "visitor_id": visitor_id,
        "order_id": order_id,
        "province": province,
        "city": city,
        "device_type": device_type,
        "os": os,
        "browser": browser,
        "since": since,
    }
    try:
        return {"events": event_log.recent_events(store, filters, limit, scope)}
    except Refused as exc:  # a query parameter, so `query` where a body error says `body`
        raise HTTPException(
            422, [{"loc": ["query", f], "msg": r, "type": k} for f, r, k in exc.errors]
        ) from exc


@router.get("/rejects", summary="Recent rejected hits with their reasons")
def list_rejects(
    _: ReadDep,
    store: StoreDep,
    scope: SiteScopeDep,
    reason: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return event_log.recent_rejects(store, reason, limit, scope)


@router.get("/ingest/status", summary="Spool depth, loader state and row counts")
def ingest_status(_: TeamDep, runtime: RuntimeDep, store: StoreDep) -> dict[str, Any]:
    segments, size = spool_depth(runtime.settings.spool_dir)
    counts = dict(store.query("SELECT event_type, count() FROM events GROUP BY event_type"))
    loader = runtime.loader
    return {
        "spool": {"segments": segments, "bytes": size},
        "loader": None if loader is None else {"last_error": loader.last_error or None},
        "events_by_type": counts,
        "rejects": store.query("SELECT count() FROM rejects")[0][0],
    }
