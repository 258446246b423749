"""POST /e: a JSON batch from the snippet (sendBeacon), answered event by event."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from app.ingest.reasons import RejectReason
from app.ingest.record import dumps, reject
from app.ingest.spool import SpoolError
from app.tracker.asgi import CLOSE, Receive, Scope, Send, read_body, respond, send_json
from app.tracker.pixel import PIXEL_TYPES

BEACON_TYPES = PIXEL_TYPES
log = logging.getLogger(__name__)

CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
    (b"access-control-max-age", b"86400"),
]

if TYPE_CHECKING:
    from app.tracker.hit_app import Edge


async def beacon(edge: Edge, scope: Scope, receive: Receive, send: Send) -> None:
    method = scope["method"]
    if method == "OPTIONS":
        await respond(send, 204, b"", CORS)
        return
    if method != "POST":
        await send_json(send, 405, {"error": "method_not_allowed", "detail": "use POST"})
        return
    ts = edge.event_time(scope)
    ip, ua, _, _ = edge.request_meta(scope)

    async def refuse(
        status: int, reason: RejectReason, field: str, detail: str, raw: bytes | str = b""
    ) -> None:
        edge.append(
            reject(reason, endpoint="/e", field=field, detail=detail, raw=raw, ip=ip, user_agent=ua)
        )
        headers = [*CORS, CLOSE] if status == 413 else CORS
        await send_json(send, status, {"error": reason, "field": field, "detail": detail}, headers)

    limit = edge.settings.beacon_max_bytes
    body = await read_body(scope, receive, limit)
    if body is None:
        await refuse(413, RejectReason.BATCH_TOO_LARGE, "body", f"body larger than {limit} bytes")
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        await refuse(400, RejectReason.INVALID_UTF8, "body", "body is not valid UTF-8", body)
        return
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        await refuse(400, RejectReason.BAD_JSON, "body", "body is not JSON", text)
        return
    shared: dict[str, Any] = {}
    if isinstance(payload, dict):
        events = payload.get("events")
        shared = {k: v for k, v in payload.items() if k in ("s", "vid", "sid")}
    else:
        events = payload
    if not isinstance(events, list) or not events:
        detail = 'expected {"events": [...]} or a JSON array of events'
        await refuse(400, RejectReason.BAD_JSON, "events", detail, text)
        return
    max_events = edge.settings.beacon_max_events
    if len(events) > max_events:
        detail = f"at most {max_events} events per batch"
        await refuse(413, RejectReason.BATCH_TOO_LARGE, "events", detail, text)
        return
    accepted: list[int] = []
    rejected: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            record = reject(
                RejectReason.INVALID_FIELD,
                endpoint="/e",
                field="events",
                detail="each event must be an object",
                raw=orjson.dumps(event),
            )
        else:
            merged = {**shared, **event}
            record = edge.event_or_reject(merged, "/e", BEACON_TYPES, None, ts, orjson.dumps(event))
        if "reject" in record:
            record["ip"], record["user_agent"] = ip, ua
            edge.metrics.inc(
                "adtrack_rejects_total", (("reason", record["reject"]), ("stage", "edge"))
            )
            rejected.append(
                {
                    "index": index,
                    "reason": record["reject"],
                    "field": record["field"],
                    "detail": record["detail"],
                }
            )
        else:
            edge.stamp(record, ip, ua, ts)
            edge.metrics.inc("adtrack_hits_total", (("type", record["event_type"]),))
            accepted.append(index)
        chunks.append(dumps(record))
    try:
        mark = edge.spool.append(b"".join(chunks))
    except SpoolError as exc:
        edge.metrics.inc("adtrack_spool_errors_total")
        log.error("spool append failed: %s", exc)
        await send_json(send, 503, {"error": "unavailable", "detail": "spool not writable"}, CORS)
        return
    if accepted:
        await edge.durable(mark)
    await send_json(send, 200, {"accepted": accepted, "rejected": rejected}, CORS)
