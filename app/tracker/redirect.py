"""GET /c/{code}: a tracked link. Records the click, then 302 to the registered landing URL."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from app.ingest.reasons import RejectReason
from app.ingest.record import Record, now_ms, reject
from app.tracker.asgi import Receive, Scope, Send, cookie_value, respond
from app.tracker.links import landing_with_click, new_click_id

VISITOR_COOKIE = "adt_vid"
_NO_CACHE = b"no-store, no-cache, must-revalidate, max-age=0"
_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_NOT_FOUND_PAGE = (
    b"<!doctype html><html><head><meta charset=utf-8><title>Link not found</title></head>"
    b"<body><h1>Link not found</h1><p>This tracked link does not exist or was retired.</p>"
    b"</body></html>"
)

if TYPE_CHECKING:
    from app.tracker.edge import Edge


async def redirect(edge: Edge, scope: Scope, receive: Receive, send: Send) -> None:
    ts = now_ms()
    code = scope["path"][3:]
    ip, ua, referer, cookie = edge.request_meta(scope)
    link = edge.link(code)
    if link is None or link.status == "archived":
        edge.append(
            reject(
                RejectReason.UNKNOWN_LINK,
                endpoint="/c",
                field="code",
                detail="no active link has this code",
                raw=code[:200],
                ip=ip,
                user_agent=ua,
            )
        )
        await respond(
            send,
            404,
            _NOT_FOUND_PAGE,
            [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", _NO_CACHE)],
        )
        return
    try:
        query = scope["query_string"].decode("utf-8")
    except UnicodeDecodeError:
        query = ""  # a mangled query must not cost the advertiser the visitor
    click_id = new_click_id(code)
    visitor = cookie_value(cookie, VISITOR_COOKIE)
    headers = [
        (b"cache-control", _NO_CACHE),
        (b"referrer-policy", b"no-referrer-when-downgrade"),
    ]
    if not visitor:
        visitor = secrets.token_urlsafe(12)
        headers.append(
            (
                b"set-cookie",
                f"{VISITOR_COOKIE}={visitor}; Max-Age=31536000; "
                f"Path=/; HttpOnly; SameSite=Lax".encode(),
            )
        )
    location = landing_with_click(link.landing_url, click_id, query)
    record: Record = {
        "event_type": "click",
        "site_key": link.site_key,
        "campaign_id": link.campaign_id,
        "placement_id": link.placement_id,
        "creative_id": link.creative_id,
        "link_code": code,
        "click_id": click_id,
        "visitor_id": visitor,
        "url": location[:4096],
        "referrer": referer[:4096],
    }
    if query and "utm_" in query:
        for key, value in parse_qsl(query):
            if key in _UTM:
                record[key] = value[:256]
    edge.stamp(record, ip, ua, ts)
    mark = edge.append(record)
    await edge.durable(mark)
    headers.append((b"location", location.encode("utf-8")))
    await respond(send, 302, b"", headers)
