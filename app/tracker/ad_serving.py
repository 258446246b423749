"""GET /serve/{placement_id}: choose a creative for this visitor, log the impression, answer.

Formats (`?format=`): `json` (default, for the snippet: the creative and its click URL),
`img` (302 to the creative image, for a plain <img> tag), `html` (a small document for an
<iframe>). Nothing to show answers an empty result, never an error a page would show: JSON
`{"creative": null}`, the 1x1 GIF, an empty document.

The choice: creatives of the campaigns booked into the placement that are running, fit the
slot and target this visitor, drawn by weight; a campaign whose frequency cap this visitor
reached today (campaign time zone) drops out before the draw is repeated. `img` draws
stickily per visitor and day, so its click (`/k/{placement_id}`, no creative in the URL)
can find the same creative again.

GET /k/{placement_id}[/{creative_id}]: the click on a served creative; records the click
and sends the visitor to the creative's registered landing URL.
"""

from __future__ import annotations

import html
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from app.catalog.links import landing_with_click
from app.ingest.reasons import RejectReason
from app.ingest.record import Record, now_ms, reject
from app.targeting.compile import local_time
from app.targeting.routing import Candidate, PlacementRoute
from app.targeting.split import Weighted
from app.tracker.asgi import Headers, Receive, Scope, Send, respond, send_json
from app.tracker.pixel import GIF
from app.tracker.query import parse_query
from app.tracker.redirect import NO_CACHE, add_utm, click_visitor, request_query, visitor_id

log = logging.getLogger(__name__)

FORMATS = ("json", "img", "html")
_VID = re.compile(r"[A-Za-z0-9_-]{8,64}\Z")
_CORS = (b"access-control-allow-origin", b"*")
_HTML = (b"content-type", b"text/html; charset=utf-8")
# A creative's HTML is a media buyer's markup and may carry script: it runs in an opaque
# origin (CSP sandbox, no allow-same-origin), so it can never read the tracker's cookies or
# call its API as whoever opened it, whether it is framed by a partner page or opened alone.
_SANDBOX = (
    b"content-security-policy",
    b"sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox"
    b" allow-top-navigation-by-user-activation",
)
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_EMPTY_DOC = b"<!doctype html><html><head><meta charset=utf-8></head><body></body></html>"

if TYPE_CHECKING:
    from app.tracker.hit_app import Edge


def _day(candidate: Candidate, ts: int) -> int:
    return local_time(ts, candidate.flight.tz).toordinal()


def _sticky(route: PlacementRoute, pool: list[Candidate], visitor: str, ts: int) -> Candidate:
    salt = f"{route.placement.id}:{_day(pool[0], ts)}"
    return Weighted.of([(c, c.creative.weight) for c in pool]).sticky(visitor, salt)


def choose(
    edge: Edge, route: PlacementRoute, eligible: list[Candidate], visitor: str, ts: int,
    sticky: bool,
) -> Candidate | None:  # fmt: skip
    """Draw by weight; a draw that hits a capped campaign removes it and draws again."""
    pool = list(eligible)
    while pool:
        if sticky:
            pick = _sticky(route, pool, visitor, ts)
        else:
            pick = Weighted.of([(c, c.creative.weight) for c in pool]).pick()
        cap = pick.campaign.frequency_cap
        if not cap or edge.freq.take(visitor, pick.campaign.id, _day(pick, ts), cap):
            return pick
        edge.metrics.inc("adtrack_frequency_capped_total")
        pool = [c for c in pool if c.campaign.id != pick.campaign.id]
    return None


def _click_url(edge: Edge, placement_id: str, creative_id: str) -> str:
    return f"{edge.settings.base_url}/k/{quote(placement_id)}/{quote(creative_id)}"


def _creative_json(edge: Edge, pick: Candidate, placement_id: str) -> dict[str, Any]:
    c = pick.creative
    return {
        "id": c.id,
        "campaign_id": c.campaign_id,
        "kind": c.kind,
        "width": c.width,
        "height": c.height,
        "image_url": c.image_url,
        "text": c.text,
        "html": c.html,
        "click_url": _click_url(edge, placement_id, c.id),
    }


def _creative_html(edge: Edge, pick: Candidate, placement_id: str) -> bytes:
    c = pick.creative
    href = html.escape(_click_url(edge, placement_id, c.id))
    if c.kind == "html":
        inner = c.html  # the media buyer's own markup: runs sandboxed (see _SANDBOX)
    elif c.kind == "image":
        size = f' width="{c.width}" height="{c.height}"' if c.width and c.height else ""
        inner = (
            f'<a href="{href}" target="_top" rel="noopener"><img src="{html.escape(c.image_url)}"'
            f'{size} alt="{html.escape(c.name)}" style="border:0"></a>'
        )
    else:
        inner = f'<a href="{href}" target="_top" rel="noopener">{html.escape(c.text)}</a>'
    return (
        "<!doctype html><html><head><meta charset=utf-8><style>body{margin:0}</style></head>"
        f"<body>{inner}</body></html>"
    ).encode()


async def serve(edge: Edge, scope: Scope, receive: Receive, send: Send) -> None:
    fmt = "json"
    try:
        ts = now_ms()
        placement_id = scope["path"][len("/serve/") :]
        ip, ua, referer, cookie = edge.request_meta(scope)
        try:
            params = parse_query(scope["query_string"])
        except UnicodeDecodeError:
            params = {}
        fmt = params.get("format", "json")
        if fmt not in FORMATS:
            await send_json(
                send, 400, {"error": "invalid", "field": "format", "detail": "json, img or html"},
                [_CORS],
            )  # fmt: skip
            return
        route = edge.placement_route(placement_id)
        if route is None:
            edge.append(
                reject(
                    RejectReason.UNKNOWN_PLACEMENT, endpoint="/serve", field="placement_id",
                    detail="no placement has this id", raw=placement_id[:200], ip=ip,
                    user_agent=ua,
                )
            )  # fmt: skip
            await _nothing(send, fmt, 404)
            return
        headers: Headers = [(b"cache-control", NO_CACHE), _CORS]
        vid = params.get("vid", "")
        visitor = vid if _VID.match(vid) else visitor_id(cookie, headers)
        eligible = route.eligible(lambda: edge.visitor(ip, ua), ts)
        pick = choose(edge, route, eligible, visitor, ts, sticky=fmt == "img")
        if pick is None:
            edge.metrics.inc("adtrack_serve_total", (("result", "no_fill"),))
            await _nothing(send, fmt, 200, headers)
            return
        placement = route.placement
        record: Record = {
            "event_type": "impression",
            "site_key": placement.site_key,
            "campaign_id": pick.campaign.id,
            "placement_id": placement.id,
            "creative_id": pick.creative.id,
            "visitor_id": visitor,
            "url": (params.get("url") or referer)[:4096],
            "referrer": params.get("ref", "")[:4096],
        }
        edge.stamp(record, ip, ua, ts)
        await edge.durable(edge.append(record))
        edge.metrics.inc("adtrack_serve_total", (("result", "served"),))
        if fmt == "img":
            if pick.creative.kind == "image" and pick.creative.image_url:
                headers.append((b"location", pick.creative.image_url.encode()))
                await respond(send, 302, b"", headers)
            else:
                await respond(send, 200, GIF, [*headers, (b"content-type", b"image/gif")])
        elif fmt == "html":
            doc = _creative_html(edge, pick, placement.id)
            await respond(send, 200, doc, [*headers, _HTML, _SANDBOX, _NOSNIFF])
        else:
            body = {
                "placement": placement.id,
                "impression_id": record["event_id"],
                "creative": _creative_json(edge, pick, placement.id),
            }
            await send_json(send, 200, body, headers)
    except Exception:  # a served slot never breaks a partner's page
        log.exception("serve failed")
        edge.metrics.inc("adtrack_rejects_total", (("reason", "internal"), ("stage", "edge")))
        await _nothing(send, fmt, 200)


async def _nothing(send: Send, fmt: str, status: int, headers: Headers | None = None) -> None:
    headers = headers or [(b"cache-control", NO_CACHE), _CORS]
    if fmt == "img":
        await respond(send, 200, GIF, [*headers, (b"content-type", b"image/gif")])
    elif fmt == "html":
        await respond(send, 200, _EMPTY_DOC, [*headers, _HTML, _SANDBOX, _NOSNIFF])
    else:
        await send_json(send, status, {"creative": None}, headers)


async def served_click(edge: Edge, scope: Scope, receive: Receive, send: Send) -> None:
    ts = now_ms()
    placement_id, _, creative_id = scope["path"][len("/k/") :].partition("/")
    ip, ua, referer, cookie = edge.request_meta(scope)
    route = edge.placement_route(placement_id)
    headers: Headers = [(b"cache-control", NO_CACHE)]
    query = request_query(scope)
    visitor = click_visitor(query, cookie, headers)
    pick = None
    if route is not None:
        booked = {c.creative.id: c for c in route.candidates}
        if creative_id:
            pick = booked.get(creative_id)
        else:  # an <img> placement: the creative this visitor was shown today
            eligible = route.eligible(lambda: edge.visitor(ip, ua), ts)
            pick = _sticky(route, eligible, visitor, ts) if eligible else None
    if pick is None:
        edge.append(
            reject(
                RejectReason.UNKNOWN_PLACEMENT, endpoint="/k", field="placement_id",
                detail="no booked creative for this placement", raw=scope["path"][:200],
                ip=ip, user_agent=ua,
            )
        )  # fmt: skip
        await respond(send, 404, b"not found", [(b"content-type", b"text/plain")])
        return
    click_id = edge.click_ids.new(pick.creative.id)  # a postback finds the advertiser by it
    location = landing_with_click(pick.creative.landing_url, click_id, query)
    record: Record = {
        "event_type": "click",
        "site_key": route.placement.site_key,
        "campaign_id": pick.campaign.id,
        "placement_id": placement_id,
        "creative_id": pick.creative.id,
        "click_id": click_id,
        "visitor_id": visitor,
        "url": location[:4096],
        "referrer": referer[:4096],
    }
    add_utm(record, query)
    edge.stamp(record, ip, ua, ts)
    await edge.durable(edge.append(record))
    headers.append((b"location", location.encode("utf-8")))
    await respond(send, 302, b"", headers)
