"""GET|POST /postback: server-to-server conversions, signed, stored once per order status.

The rules (names, macros, signature) are in tracker/postback.py; this is the endpoint. A
signed postback is the advertiser's confirmation: stored with evidence `postback`, it never
loses to an order a browser reported (see ingest/enrich/orders.py), and its click id must be
one this tracker issued (tracker/click_ids.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.ingest.reasons import RejectReason
from app.ingest.record import Record, reject
from app.tracker import postback as rules
from app.tracker.asgi import CLOSE, Receive, Scope, Send, body_params, read_body, send_json
from app.tracker.click_ids import ClickIdKind
from app.tracker.fields import ORDER_STATUSES, Invalid, parse_amount
from app.tracker.query import parse_query

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.tracker.hit_app import Edge


async def postback(edge: Edge, scope: Scope, receive: Receive, send: Send) -> None:
    ts = edge.event_time(scope)
    ip, ua, _, _ = edge.request_meta(scope)
    if scope["method"] not in ("GET", "POST"):
        await send_json(send, 405, {"error": "method_not_allowed", "detail": "use GET or POST"})
        return
    raw_query: bytes = scope["query_string"]
    try:
        params = parse_query(raw_query)
        if scope["method"] == "POST":
            body = await read_body(scope, receive, 16 * 1024)
            if body is None:
                await _refuse(
                    edge,
                    send,
                    413,
                    RejectReason.BATCH_TOO_LARGE,
                    "body",
                    "body larger than 16 KiB",
                    raw_query,
                    ip,
                    ua,
                )
                return
            params.update(body_params(scope, body))
    except UnicodeDecodeError:
        await _refuse(
            edge,
            send,
            400,
            RejectReason.INVALID_UTF8,
            "query",
            "parameters are not valid UTF-8",
            raw_query,
            ip,
            ua,
        )
        return
    except ValueError as exc:
        await _refuse(edge, send, 400, RejectReason.BAD_JSON, "body", str(exc), raw_query, ip, ua)
        return
    fields = rules.normalize(params)
    click_id = fields.get("cid", "")
    if not click_id:
        await _refuse(
            edge,
            send,
            400,
            RejectReason.MISSING_FIELD,
            "cid",
            "cid (the click id) is required",
            raw_query,
            ip,
            ua,
        )
        return
    kind = edge.click_ids.kind(click_id)
    found = None if kind == ClickIdKind.FORGED else edge.click_source(rules.link_code_of(click_id))
    if found is None:
        await _refuse(
            edge,
            send,
            400,
            RejectReason.UNKNOWN_CLICK,
            "cid",
            "cid is not a click id issued by this tracker",
            raw_query,
            ip,
            ua,
        )
        return
    source, advertiser = found
    if not rules.signature_ok(params, advertiser.postback_secret):
        await _refuse(
            edge,
            send,
            403,
            RejectReason.BAD_SIGNATURE,
            "sig",
            "sig must be the hex HMAC-SHA256 of the other parameters",
            raw_query,
            ip,
            ua,
        )
        return
    status = rules.STATUS_ALIASES.get(fields.get("status", "approved").lower())
    if status not in ORDER_STATUSES:
        await _refuse(
            edge,
            send,
            400,
            RejectReason.INVALID_FIELD,
            "status",
            "status must be approved, pending, refunded or cancelled",
            raw_query,
            ip,
            ua,
        )
        return
    amount = parse_amount(fields.get("amt") or "0")
    if isinstance(amount, Invalid):
        await _refuse(
            edge, send, 400, amount.reason, amount.field, amount.detail, raw_query, ip, ua
        )
        return
    currency = (fields.get("cur") or "CNY").upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        await _refuse(
            edge,
            send,
            400,
            RejectReason.INVALID_FIELD,
            "cur",
            "must be a 3-letter ISO 4217 code",
            raw_query,
            ip,
            ua,
        )
        return
    order_id = fields.get("oid") or click_id
    if len(order_id) > 128 or len(click_id) > 128:
        await _refuse(
            edge,
            send,
            400,
            RejectReason.FIELD_TOO_LONG,
            "oid",
            "ids are at most 128 characters",
            raw_query,
            ip,
            ua,
        )
        return
    key = (advertiser.id, order_id, status)
    if key in edge.recent_orders:
        edge.metrics.inc(
            "adtrack_rejects_total",
            (("reason", RejectReason.DUPLICATE_ORDER), ("stage", "edge")),
        )
        await send_json(
            send, 200, {"status": "duplicate", "order_id": order_id, "order_status": status}
        )
        return
    extra = {
        k: v[:1024]
        for k, v in fields.items()
        if k not in ("cid", "oid", "amt", "cur", "status") and len(k) <= 64
    }
    record: Record = {
        "event_type": "order",
        **source,
        "advertiser_id": advertiser.id,
        "click_id": click_id,
        "order_id": order_id,
        "order_status": status,
        "amount": str(amount),
        "currency": currency,
        "_src": "postback",
    }
    if kind == ClickIdKind.LEGACY:
        record["_check_click"] = True  # the loader keeps it only if the click is stored
    if extra:
        record["props"] = dict(list(extra.items())[:32])
    edge.stamp(record, ip, ua, ts)
    mark = edge.append(record)
    if not await edge.durable(mark):
        await send_json(send, 503, {"error": "unavailable", "detail": "spool not writable"})
        return
    answer = {
        "event_id": record["event_id"],
        "order_id": order_id,
        "order_status": status,
        "evidence": "postback",
    }
    if kind == ClickIdKind.LEGACY:
        # Not provable here: whether it is stored depends on the loader finding the click.
        detail = (
            "this click id predates verifiable click ids: the order is stored once the click "
            "is found in the store, else rejected as unknown_click"
        )
        await send_json(send, 202, {"status": "queued", "detail": detail, **answer})
        return
    edge.recent_orders[key] = None
    if len(edge.recent_orders) > 200_000:
        edge.recent_orders.popitem(last=False)
    # Stored as a signed order; an order a browser reported for this order id never displaces
    # it. Only this advertiser's own earlier postback of the same order id and status does:
    # then this repeat is dropped as a duplicate and the first one stands.
    await send_json(send, 200, {"status": "accepted", **answer})


async def _refuse(
    edge: Edge,
    send: Send,
    status: int,
    reason: RejectReason,
    field: str,
    detail: str,
    raw: bytes,
    ip: str,
    ua: str,
) -> None:
    edge.append(
        reject(
            reason,
            endpoint="/postback",
            field=field,
            detail=detail,
            raw=raw,
            ip=ip,
            user_agent=ua,
        )
    )
    headers = [CLOSE] if status == 413 else None
    await send_json(send, status, {"error": reason, "field": field, "detail": detail}, headers)
