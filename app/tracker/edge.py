"""The hit endpoints as a lean ASGI app in front of FastAPI.

Each handler parses the request into one spool record, appends it, and answers. No store
calls, no enrichment: the FastAPI router alone costs more than our whole per-hit budget, so
hits never go through it; every other path falls through to the FastAPI app (API, docs).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from app.ingest.reasons import RejectReason
from app.ingest.record import EventIds, Record, dumps, now_ms, reject
from app.ingest.spool import SpoolError, SpoolWriter
from app.metrics import Metrics
from app.settings import Settings
from app.store.catalog import Link
from app.tracker import postback
from app.tracker.catalog_view import CatalogFile
from app.tracker.clientip import ClientIp
from app.tracker.fields import ORDER_STATUSES, Invalid, parse_amount, validate_event
from app.tracker.links import landing_with_click, new_click_id
from app.tracker.query import parse_query

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
_NO_CACHE = b"no-store, no-cache, must-revalidate, max-age=0"
GIF_HEADERS = [
    (b"content-type", b"image/gif"),
    (b"content-length", str(len(GIF)).encode()),
    (b"cache-control", _NO_CACHE),
    (b"pragma", b"no-cache"),
    (b"expires", b"0"),
]
_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
    (b"access-control-max-age", b"86400"),
]
PIXEL_TYPES = frozenset({"impression", "visit", "event", "order"})
BEACON_TYPES = PIXEL_TYPES
VISITOR_COOKIE = "adt_vid"
_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_NOT_FOUND_PAGE = (
    b"<!doctype html><html><head><meta charset=utf-8><title>Link not found</title></head>"
    b"<body><h1>Link not found</h1><p>This tracked link does not exist or was retired.</p>"
    b"</body></html>"
)


class Edge:
    def __init__(
        self,
        *,
        settings: Settings,
        spool: SpoolWriter,
        catalog: CatalogFile,
        metrics: Metrics,
        fallback: ASGIApp,
        snippet: bytes,
        health: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
        extra_metrics: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.settings = settings
        self.spool = spool
        self.catalog = catalog
        self.metrics = metrics
        self.fallback = fallback
        self.health = health
        self.extra_metrics = extra_metrics
        self.ids = EventIds()
        self.client_ip = ClientIp(settings.trusted_proxies)
        self.fsync_each = settings.spool_fsync_ms == 0
        self.snippet = snippet
        self.snippet_etag = b'"' + hashlib.sha256(snippet).hexdigest()[:16].encode() + b'"'
        self.snippet_gzip = gzip.compress(snippet, compresslevel=9, mtime=0)
        self._snippet_headers = [
            (b"etag", self.snippet_etag),
            (b"cache-control", b"public, max-age=3600"),
            (b"content-type", b"application/javascript; charset=utf-8"),
            (b"vary", b"Accept-Encoding"),
            (b"access-control-allow-origin", b"*"),
        ]
        self._recent_orders: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._routes: dict[str, Callable[[Scope, Receive, Send], Awaitable[None]]] = {
            "/p.gif": self.pixel,
            "/e": self.beacon,
            "/t.js": self.snippet_js,
            "/postback": self.postback,
            "/healthz": self.healthz,
            "/metrics": self.metrics_text,
        }
        metrics.describe("adtrack_hits_total", "counter", "Hits accepted into the spool")
        metrics.describe("adtrack_rejects_total", "counter", "Hits rejected, by reason and stage")
        metrics.describe("adtrack_spool_errors_total", "counter", "Spool appends that failed")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            handler = self._routes.get(path)
            if handler is not None:
                await handler(scope, receive, send)
                return
            if path.startswith("/c/"):
                await self.redirect(scope, receive, send)
                return
            if path.startswith("/internal"):  # the core's loopback routes stay private
                await _json(send, 404, {"detail": "Not Found"})
                return
        await self.fallback(scope, receive, send)

    # -- shared ----------------------------------------------------------------------------
    def _site_known(self, site_key: str) -> bool:
        # A miss looks at the catalog file once more: a site created a moment ago counts.
        return site_key in self.catalog.snapshot.sites or (
            self.catalog.reload_if_changed() and site_key in self.catalog.snapshot.sites
        )

    def _link(self, code: str) -> Link | None:
        link = self.catalog.snapshot.links.get(code)
        if link is None and self.catalog.reload_if_changed():
            link = self.catalog.snapshot.links.get(code)
        return link

    def _request_meta(self, scope: Scope) -> tuple[str, str, str, str]:
        """(client ip, user agent, referer, cookie) in one pass over the headers."""
        ua = referer = forwarded = cookie = ""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                ua = value.decode("latin-1")
            elif name == b"referer":
                referer = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
            elif name == b"cookie":
                cookie = value.decode("latin-1")
        client = scope.get("client")
        peer = client[0] if client else ""
        ip = self.client_ip.resolve(peer, forwarded) if forwarded else peer
        return ip, ua[:1000], referer, cookie

    def _append(self, record: Record) -> int | None:
        """Spool one record and count it; returns the durability mark, None on failure."""
        reason = record.get("reject")
        if reason:
            self.metrics.inc("adtrack_rejects_total", (("reason", reason), ("stage", "edge")))
        try:
            mark = self.spool.append(dumps(record))
        except SpoolError as exc:
            self.metrics.inc("adtrack_spool_errors_total")
            log.error("spool append failed: %s", exc)
            return None
        if not reason:
            self.metrics.inc("adtrack_hits_total", (("type", record["event_type"]),))
        return mark

    def _stamp(self, record: Record, ip: str, ua: str, ts: int) -> Record:
        record["event_id"] = self.ids.next()
        record["ts"] = ts
        record["ip"] = ip
        record["user_agent"] = ua
        return record

    async def _durable(self, mark: int | None) -> bool:
        if mark is None:
            return False
        if self.fsync_each:
            await self.spool.wait_durable(mark)
        return True

    # -- GET /p.gif ------------------------------------------------------------------------
    async def pixel(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            ts = now_ms()
            ip, ua, referer, _ = self._request_meta(scope)
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
                record = self._event_or_reject(
                    params, "/p.gif", PIXEL_TYPES, "impression", ts, raw_query
                )
                if "reject" not in record:
                    # A pixel's Referer is the page that shows it: that page's URL.
                    if "url" not in record and referer:
                        record["url"] = referer[:4096]
                    self._stamp(record, ip, ua, ts)
                else:
                    record["ip"], record["user_agent"] = ip, ua
            mark = self._append(record)
            if "reject" not in record:
                await self._durable(mark)
        except Exception:  # the pixel never breaks a partner's page
            log.exception("pixel failed")
            self.metrics.inc("adtrack_rejects_total", (("reason", "internal"), ("stage", "edge")))
        await send({"type": "http.response.start", "status": 200, "headers": GIF_HEADERS})
        await send({"type": "http.response.body", "body": GIF})

    def _event_or_reject(
        self,
        params: dict[str, Any],
        endpoint: str,
        allowed: frozenset[str],
        default_type: str | None,
        ts: int,
        raw: bytes | str,
    ) -> Record:
        result = validate_event(params, allowed_types=allowed, default_type=default_type, now_ms=ts)
        site_key = params.get("s") if isinstance(params.get("s"), str) else ""
        if isinstance(result, Invalid):
            return reject(
                result.reason,
                endpoint=endpoint,
                field=result.field,
                detail=result.detail,
                raw=raw,
                site_key=site_key or "",
            )
        if not self._site_known(result["site_key"]):
            return reject(
                RejectReason.UNKNOWN_SITE,
                endpoint=endpoint,
                field="s",
                detail="no site has this key",
                raw=raw,
                site_key=site_key or "",
            )
        return result

    # -- POST /e ---------------------------------------------------------------------------
    async def beacon(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "OPTIONS":
            await _respond(send, 204, b"", _CORS)
            return
        if method != "POST":
            await _json(send, 405, {"error": "method_not_allowed", "detail": "use POST"})
            return
        ts = now_ms()
        ip, ua, _, _ = self._request_meta(scope)
        limit = self.settings.beacon_max_bytes
        body = await _read_body(scope, receive, limit)
        if body is None:
            self._append(
                reject(
                    RejectReason.BATCH_TOO_LARGE,
                    endpoint="/e",
                    field="body",
                    detail=f"body larger than {limit} bytes",
                    ip=ip,
                    user_agent=ua,
                )
            )
            await _json(
                send,
                413,
                {
                    "error": RejectReason.BATCH_TOO_LARGE,
                    "field": "body",
                    "detail": f"body larger than {limit} bytes",
                },
                _CORS,
            )
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            self._append(
                reject(
                    RejectReason.INVALID_UTF8,
                    endpoint="/e",
                    field="body",
                    detail="body is not valid UTF-8",
                    raw=body,
                    ip=ip,
                    user_agent=ua,
                )
            )
            await _json(
                send,
                400,
                {
                    "error": RejectReason.INVALID_UTF8,
                    "field": "body",
                    "detail": "body is not valid UTF-8",
                },
                _CORS,
            )
            return
        try:
            payload = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._append(
                reject(
                    RejectReason.BAD_JSON,
                    endpoint="/e",
                    field="body",
                    detail="body is not JSON",
                    raw=text,
                    ip=ip,
                    user_agent=ua,
                )
            )
            await _json(
                send,
                400,
                {"error": RejectReason.BAD_JSON, "field": "body", "detail": "body is not JSON"},
                _CORS,
            )
            return
        shared: dict[str, Any] = {}
        if isinstance(payload, dict):
            events = payload.get("events")
            shared = {k: v for k, v in payload.items() if k in ("s", "vid", "sid")}
        else:
            events = payload
        if not isinstance(events, list) or not events:
            detail = 'expected {"events": [...]} or a JSON array of events'
            self._append(
                reject(
                    RejectReason.BAD_JSON,
                    endpoint="/e",
                    field="events",
                    detail=detail,
                    raw=text,
                    ip=ip,
                    user_agent=ua,
                )
            )
            await _json(
                send,
                400,
                {"error": RejectReason.BAD_JSON, "field": "events", "detail": detail},
                _CORS,
            )
            return
        max_events = self.settings.beacon_max_events
        if len(events) > max_events:
            detail = f"at most {max_events} events per batch"
            self._append(
                reject(
                    RejectReason.BATCH_TOO_LARGE,
                    endpoint="/e",
                    field="events",
                    detail=detail,
                    raw=text,
                    ip=ip,
                    user_agent=ua,
                )
            )
            await _json(
                send,
                413,
                {"error": RejectReason.BATCH_TOO_LARGE, "field": "events", "detail": detail},
                _CORS,
            )
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
                record = self._event_or_reject(
                    merged, "/e", BEACON_TYPES, None, ts, orjson.dumps(event)
                )
            if "reject" in record:
                record["ip"], record["user_agent"] = ip, ua
                self.metrics.inc(
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
                self._stamp(record, ip, ua, ts)
                self.metrics.inc("adtrack_hits_total", (("type", record["event_type"]),))
                accepted.append(index)
            chunks.append(dumps(record))
        try:
            mark = self.spool.append(b"".join(chunks))
        except SpoolError as exc:
            self.metrics.inc("adtrack_spool_errors_total")
            log.error("spool append failed: %s", exc)
            await _json(send, 503, {"error": "unavailable", "detail": "spool not writable"}, _CORS)
            return
        if accepted:
            await self._durable(mark)
        await _json(send, 200, {"accepted": accepted, "rejected": rejected}, _CORS)

    # -- GET /c/{code} ---------------------------------------------------------------------
    async def redirect(self, scope: Scope, receive: Receive, send: Send) -> None:
        ts = now_ms()
        code = scope["path"][3:]
        ip, ua, referer, cookie = self._request_meta(scope)
        link = self._link(code)
        if link is None or link.status == "archived":
            self._append(
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
            await _respond(
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
        visitor = _cookie_value(cookie, VISITOR_COOKIE)
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
        self._stamp(record, ip, ua, ts)
        mark = self._append(record)
        await self._durable(mark)
        headers.append((b"location", location.encode("utf-8")))
        await _respond(send, 302, b"", headers)

    # -- GET|POST /postback ----------------------------------------------------------------
    async def postback(self, scope: Scope, receive: Receive, send: Send) -> None:
        ts = now_ms()
        ip, ua, _, _ = self._request_meta(scope)
        if scope["method"] not in ("GET", "POST"):
            await _json(send, 405, {"error": "method_not_allowed", "detail": "use GET or POST"})
            return
        raw_query: bytes = scope["query_string"]
        try:
            params = parse_query(raw_query)
            if scope["method"] == "POST":
                body = await _read_body(scope, receive, 16 * 1024)
                if body is None:
                    await self._postback_error(
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
                params.update(_body_params(scope, body))
        except UnicodeDecodeError:
            await self._postback_error(
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
            await self._postback_error(
                send, 400, RejectReason.BAD_JSON, "body", str(exc), raw_query, ip, ua
            )
            return
        fields = postback.normalize(params)
        click_id = fields.get("cid", "")
        if not click_id:
            await self._postback_error(
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
        code = postback.link_code_of(click_id)
        link = self._link(code)
        advertiser = self.catalog.snapshot.advertiser_for_link(code)
        if link is None or advertiser is None:
            await self._postback_error(
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
        if not postback.signature_ok(params, advertiser.postback_secret):
            await self._postback_error(
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
        status = postback.STATUS_ALIASES.get(fields.get("status", "approved").lower())
        if status not in ORDER_STATUSES:
            await self._postback_error(
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
            await self._postback_error(
                send, 400, amount.reason, amount.field, amount.detail, raw_query, ip, ua
            )
            return
        currency = (fields.get("cur") or "CNY").upper()
        if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            await self._postback_error(
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
            await self._postback_error(
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
        if key in self._recent_orders:
            self.metrics.inc(
                "adtrack_rejects_total",
                (("reason", RejectReason.DUPLICATE_ORDER), ("stage", "edge")),
            )
            await _json(
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
            "site_key": link.site_key,
            "advertiser_id": advertiser.id,
            "campaign_id": link.campaign_id,
            "placement_id": link.placement_id,
            "creative_id": link.creative_id,
            "link_code": code,
            "click_id": click_id,
            "order_id": order_id,
            "order_status": status,
            "amount": str(amount),
            "currency": currency,
            "_src": "postback",
        }
        if extra:
            record["props"] = dict(list(extra.items())[:32])
        self._stamp(record, ip, ua, ts)
        mark = self._append(record)
        if not await self._durable(mark):
            await _json(send, 503, {"error": "unavailable", "detail": "spool not writable"})
            return
        self._recent_orders[key] = None
        if len(self._recent_orders) > 200_000:
            self._recent_orders.popitem(last=False)
        await _json(
            send,
            200,
            {
                "status": "accepted",
                "event_id": record["event_id"],
                "order_id": order_id,
                "order_status": status,
            },
        )

    async def _postback_error(
        self,
        send: Send,
        status: int,
        reason: RejectReason,
        field: str,
        detail: str,
        raw: bytes,
        ip: str,
        ua: str,
    ) -> None:
        self._append(
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
        await _json(send, status, {"error": reason, "field": field, "detail": detail})

    # -- GET /t.js, /healthz, /metrics -----------------------------------------------------
    async def snippet_js(self, scope: Scope, receive: Receive, send: Send) -> None:
        gzip_ok = False
        for name, value in scope["headers"]:
            if name == b"if-none-match" and _etag_matches(value, self.snippet_etag):
                await _respond(send, 304, b"", self._snippet_headers[:2])
                return
            if name == b"accept-encoding" and b"gzip" in value:
                gzip_ok = True
        if gzip_ok:
            headers = [*self._snippet_headers, (b"content-encoding", b"gzip")]
            await _respond(send, 200, self.snippet_gzip, headers)
        else:
            await _respond(send, 200, self.snippet, self._snippet_headers)

    async def healthz(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, body = await self.health()
        await _json(send, status, body)

    async def metrics_text(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = self.metrics.render()
        if self.extra_metrics is not None:
            text += await self.extra_metrics()
        await _respond(
            send,
            200,
            text.encode(),
            [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
        )


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _json(
    send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _respond(
        send,
        status,
        orjson.dumps(payload),
        [(b"content-type", b"application/json"), *(headers or [])],
    )


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _body_params(scope: Scope, body: bytes) -> dict[str, str]:
    content_type = ""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1").lower()
    if not body:
        return {}
    if "json" in content_type:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError("body is not JSON") from exc
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return {str(k): str(v) for k, v in data.items() if v is not None}
    return parse_query(body)


def _etag_matches(header: bytes, etag: bytes) -> bool:
    """If-None-Match: `*`, or a list of tags, weak (W/) or strong."""
    if header.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == etag for tag in header.split(b","))


def _cookie_value(cookie_header: str, name: str) -> str:
    if not cookie_header or name not in cookie_header:
        return ""
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value.replace("-", "").replace("_", "").isalnum() and len(value) < 64:
            return value
    return ""
