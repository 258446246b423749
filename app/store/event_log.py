"""The live event and reject logs: the rows the tracker stored, newest first, for checking an
integration. A partner's scope keeps it to its own sites' rows and the visits and orders its
clicks brought, seen through app/store/partner_view.py (truncated addresses, no advertiser's
order details or postback props). Filters are checked in app/store/event_filters.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.errors import Refused
from app.store.client import Store
from app.store.event_filters import EVENT_FILTERS, event_query
from app.store.partner_view import event_for_partner, reject_for_partner

__all__ = ["EVENT_FILTERS", "PartnerScope", "recent_events", "recent_rejects"]


@dataclass(frozen=True)
class PartnerScope:
    """What a partner user may see of the events: hits on its own sites, and the visits
    and orders its clicks brought to advertisers' sites (their partner_id is the partner's)."""

    partner_id: str
    site_keys: tuple[str, ...]


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
        elif key in ("event_id", "amount") and value is not None:
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


def recent_events(
    store: Store, filters: Mapping[str, Any], limit: int, scope: PartnerScope | None
) -> list[dict[str, Any]]:
    """Events matching `filters` (EVENT_FILTERS names; None or "" is no condition), newest
    first; app.errors.Refused naming a bad filter. A partner sees its rows through
    app/store/partner_view.py (no full address, no advertiser's order details)."""
    if scope is not None and filters.get("order_id"):
        # A partner sees order ids blanked; searching by one would tell it which exist.
        raise Refused.one(
            "order_id", "order ids are the advertiser's: a partner cannot search by one"
        )
    query = event_query(filters)
    where = list(query.conditions)
    params: dict[str, Any] = {**query.params, "limit": limit}
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
        rows = [event_for_partner(r, scope.site_keys) for r in rows]
    return [_jsonable(r) for r in rows]


def recent_rejects(
    store: Store, reason: str | None, limit: int, scope: PartnerScope | None
) -> dict[str, Any]:
    """Rejects (of one reason, if given), newest first, and the count of each reason."""
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
    if scope is not None:
        rows = [reject_for_partner(r) for r in rows]
    counts = store.query(
        f"SELECT reason, count() FROM rejects {'WHERE ' + scoped[0] if scoped else ''} "  # noqa: S608
        "GROUP BY reason ORDER BY reason",
        scope_params,
    )
    return {"rejects": [_jsonable(r) for r in rows], "by_reason": dict(counts)}
