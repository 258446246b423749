"""GET /c/{code}: a tracked link. Records the click, then 302 to a registered URL.

The link's compiled route decides where this visitor goes (routing rule, split variant,
fallback); every destination was registered through the API, so nothing taken from the
request ever becomes a destination (no open redirect). The click row names the rule and
variant that served it.

The click's visitor is the partner page's own visitor id when the snippet on that page tagged
the link with `vid=` (so impression and click are one person); otherwise the tracker's
`adt_vid` cookie. `vid` is never forwarded to the landing URL (only UTM parameters are).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from app.catalog.links import landing_with_click
from app.ingest.reasons import RejectReason
from app.ingest.record import Record, reject
from app.tracker.asgi import Headers, Receive, Scope, Send, cookie_value, respond
from app.tracker.fields import VISITOR_ID, VISITOR_ID_MAX

VISITOR_COOKIE = "adt_vid"
NO_CACHE = b"no-store, no-cache, must-revalidate, max-age=0"
_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_HTML = (b"content-type", b"text/html; charset=utf-8")
_NOT_FOUND_PAGE = (
    b"<!doctype html><html><head><meta charset=utf-8><title>Link not found</title></head>"
    b"<body><h1>Link not found</h1><p>This tracked link does not exist or was retired.</p>"
    b"</body></html>"
)
UNAVAILABLE_PAGE = (
    "<!doctype html><html><head><meta charset=utf-8><title>Not available in your region"
    "</title></head><body><h1>Not available in your region</h1>"
    "<p>This offer is not available where you are. 该活动在您所在的地区暂不提供。</p>"
    "</body></html>"
).encode()

if TYPE_CHECKING:
    from app.tracker.hit_app import Edge


def visitor_id(cookie: str, headers: Headers) -> str:
    """The visitor cookie's id, or a new one (its Set-Cookie appended to `headers`)."""
    visitor = cookie_value(cookie, VISITOR_COOKIE)
    if not visitor:
        visitor = secrets.token_urlsafe(12)
        headers.append(
            (
                b"set-cookie",
                f"{VISITOR_COOKIE}={visitor}; Max-Age=31536000; "
                f"Path=/; HttpOnly; SameSite=Lax".encode(),
            )
        )
    return visitor


def click_visitor(query: str, cookie: str, headers: Headers) -> str:
    """The page's visitor id from a valid `vid` query parameter, else `visitor_id`'s."""
    if "vid=" in query:
        for key, value in parse_qsl(query):
            if key == "vid" and len(value) <= VISITOR_ID_MAX and VISITOR_ID.match(value):
                return value
    return visitor_id(cookie, headers)


def add_utm(record: Record, query: str) -> None:
    if query and "utm_" in query:
        for key, value in parse_qsl(query):
            if key in _UTM:
                record[key] = value[:256]


def request_query(scope: Scope) -> str:
    try:
        return scope["query_string"].decode("utf-8")
    except UnicodeDecodeError:
        return ""  # a mangled query must not cost the advertiser the visitor


async def redirect(edge: Edge, scope: Scope, receive: Receive, send: Send) -> None:
    ts = edge.event_time(scope)
    code = scope["path"][3:]
    ip, ua, referer, cookie = edge.request_meta(scope)
    route = edge.link_route(code)
    if route is None or route.link.status == "archived":
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
        await respond(send, 404, _NOT_FOUND_PAGE, [_HTML, (b"cache-control", NO_CACHE)])
        return
    link = route.link
    query = request_query(scope)
    click_id = edge.click_ids.new(code)
    headers: Headers = [
        (b"cache-control", NO_CACHE),
        (b"referrer-policy", b"no-referrer-when-downgrade"),
    ]
    visitor = click_visitor(query, cookie, headers)
    decision = route.decide(lambda: edge.visitor(ip, ua), visitor, ts)
    location = landing_with_click(decision.url, click_id, query) if decision.url else ""
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
        "route_rule": decision.rule,
        "variant": decision.variant,
    }
    add_utm(record, query)
    edge.stamp(record, ip, ua, ts)
    mark = edge.append(record)
    await edge.durable(mark)
    if not location:
        await respond(send, 200, UNAVAILABLE_PAGE, [*headers, _HTML])
        return
    headers.append((b"location", location.encode("utf-8")))
    await respond(send, 302, b"", headers)
