"""The live event and reject logs over HTTP (app.store.event_log), and the ingest status.

Everyone in-house reads all rows; a partner reads only the rows of its own sites, and never
the props of an order its advertiser's server posted back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

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
    campaign_id: str | None = None,
    click_id: str | None = None,
    visitor_id: str | None = None,
    order_id: str | None = None,
    link_code: str | None = None,
    partner_id: str | None = None,
    placement_id: str | None = None,
    creative_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    filters = {
        "event_type": event_type,
        "site_key": site_key,
        "campaign_id": campaign_id,
        "click_id": click_id,
        "visitor_id": visitor_id,
        "order_id": order_id,
        "link_code": link_code,
        "partner_id": partner_id,
        "placement_id": placement_id,
        "creative_id": creative_id,
    }
    return {"events": event_log.recent_events(store, filters, limit, scope)}


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
