"""The live event and reject logs: what the tracker stored, for checking an integration.

Everyone in-house reads all rows; a partner reads only the rows of its own sites, and never
the props of an order its advertiser's server posted back (the server's address, the
network's own parameters).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import PartnerScope, ReadDep, RuntimeDep, SiteScopeDep, StoreDep, TeamDep
from app.ingest.spool import spool_depth

router = APIRouter(prefix="/api/v1", tags=["ingest"])

# Filters: query parameter -> column. Identifiers come only from here.
_EVENT_FILTERS = (
    "event_type",
    "site_key",
    "campaign_id",
    "click_id",
    "visitor_id",
    "order_id",
    "link_code",
    "partner_id",
    "placement_id",
    "creative_id",
)
_EVENT_COLUMNS = (
    "event_id",
    "event_type",
    "event_name",
    "ts",
    "client_ts",
    "site_key",
    "partner_id",
    "channel",
    "advertiser_id",
    "campaign_id",
    "placement_id",
    "creative_id",
    "link_code",
    "click_id",
    "visitor_id",
    "session_id",
    "pageview_id",
    "url",
    "referrer",
    "referrer_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "ip",
    "country_code",
    "province",
    "city",
    "province_code",
    "city_code",
    "isp",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "is_bot",
    "screen",
    "language",
    "duration_ms",
    "order_id",
    "order_status",
    "order_source",
    "amount",
    "currency",
    "route_rule",
    "variant",
    "props",
)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif key in ("event_id", "amount"):
            value = str(value)
        out[key] = value
    return out


def _scoped(
    scope: PartnerScope | None, *, by_partner: bool = True
) -> tuple[list[str], dict[str, Any]]:
    """The condition (and its bound parameters) that keeps a partner to its own rows: its
    sites' hits, and (`by_partner`, for events) the visits and orders its clicks brought."""
    if scope is None:
        return [], {}
    params: dict[str, Any] = {"scope_keys": list(scope.site_keys)}
    condition = "site_key IN {scope_keys:Array(String)}"
    if by_partner and scope.partner_id:
        condition = f"({condition} OR partner_id = {{scope_partner:String}})"
        params["scope_partner"] = scope.partner_id
    return [condition], params


@router.get("/events", summary="Recent events, newest first")
def list_events(
    _: ReadDep,
    store: StoreDep,
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
    scope: SiteScopeDep = None,  # None: every site (the CLI calls this without a request)
) -> dict[str, Any]:
    given = {
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
    where = [f"{col} = {{{col}:String}}" for col in _EVENT_FILTERS if given[col] is not None]
    params: dict[str, Any] = {col: given[col] for col in _EVENT_FILTERS if given[col] is not None}
    params["limit"] = limit
    scoped, scope_params = _scoped(scope)
    where += scoped
    params.update(scope_params)
    sql = (
        f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events "  # noqa: S608 (allow-listed names)
        f"{'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY ts DESC LIMIT {limit:UInt32}"
    )
    rows = store.query_dicts(sql, params)
    if scope is not None:
        rows = [_without_postback_props(r) for r in rows]
    return {"events": [_jsonable(r) for r in rows]}


def _without_postback_props(row: dict[str, Any]) -> dict[str, Any]:
    """A postback's props are the advertiser's and its network's (`postback_ip`, `sub1`…):
    not for partners. Orders stored before `order_source` are known by `postback_ip`."""
    props = row.get("props") or {}
    if row.get("order_source") == "postback" or "postback_ip" in props:
        return {**row, "props": {}}
    return row


@router.get("/rejects", summary="Recent rejected hits with their reasons")
def list_rejects(
    _: ReadDep,
    store: StoreDep,
    reason: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    scope: SiteScopeDep = None,  # None: every site
) -> dict[str, Any]:
    conditions, params = [], {"limit": limit}
    if reason:
        conditions.append("reason = {reason:String}")
        params["reason"] = reason
    scoped, scope_params = _scoped(scope, by_partner=False)
    conditions += scoped
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = (
        "SELECT ts, reason, field, endpoint, site_key, detail, raw, ip, user_agent "  # noqa: S608
        f"FROM rejects {where} ORDER BY ts DESC LIMIT {{limit:UInt32}}"
    )
    rows = store.query_dicts(sql, {**params, **scope_params})
    counts = store.query(
        f"SELECT reason, count() FROM rejects {'WHERE ' + scoped[0] if scoped else ''} "  # noqa: S608
        "GROUP BY reason ORDER BY reason",
        scope_params,
    )
    return {"rejects": [_jsonable(r) for r in rows], "by_reason": dict(counts)}


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
