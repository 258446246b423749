"""GET /p.gif: a hit from a 1x1 image; always answers the GIF, so a page never breaks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.ingest.reasons import RejectReason
from app.ingest.record import reject
from app.tracker.asgi import Receive, Scope, Send
from app.tracker.query import parse_query

log = logging.getLogger(__name__)

GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
GIF_HEADERS = [
    (b"content-type", b"image/gif"),
    (b"content-length", str(len(GIF)).encode()),
    (b"cache-control", b"no-store, no-cache, must-revalidate, max-age=0"),
    (b"pragma", b"no-cache"),
    (b"expires", b"0"),
]
PIXEL_TYPES = frozenset({"impression", "visit", "event", "order"})

if TYPE_CHECKING:
    from app.tracker.hit_app import Edge


async def pixel(edge: Edge, scope: Scope, receive: Receive, send: Send) -> None:
    try:
        ts = edge.event_time(scope)
        ip, ua, referer, _ = edge.request_meta(scope)
        raw_query: bytes = scope["query_string"]
        try:
            params = parse_query(raw_query)
        except UnicodeDecodeError:
            record = reject(
                RejectReason.INVALID_UTF8,
                endpoint="/p.gif",
                field="query",
                detail="query string is not valid UTF-8",
                raw=raw_query,
                ip=ip,
                user_agent=ua,
            )
        else:
            record = edge.event_or_reject(
                params, "/p.gif", PIXEL_TYPES, "impression", ts, raw_query
            )
            if "reject" not in record:
                # A pixel's Referer is the page that shows it: that page's URL.
                if "url" not in record and referer:
                    record["url"] = referer[:4096]
                edge.stamp(record, ip, ua, ts)
            else:
                record["ip"], record["user_agent"] = ip, ua
        mark = edge.append(record)
        if "reject" not in record:
            await edge.durable(mark)
    except Exception:  # the pixel never breaks a partner's page
        log.exception("pixel failed")
        edge.metrics.inc("adtrack_rejects_total", (("reason", "internal"), ("stage", "edge")))
    await send({"type": "http.response.start", "status": 200, "headers": GIF_HEADERS})
    await send({"type": "http.response.body", "body": GIF})
