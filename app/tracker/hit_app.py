"""The hit edge: a lean ASGI router for the hit endpoints, in front of everything else.

One module per endpoint (pixel, beacon, redirect, conversions) parses the request into one
spool record and answers; this router and the helpers they share live here. No store calls,
no enrichment: the FastAPI router alone costs more than a whole hit's budget, so hits never
go through it; every other path falls through to `fallback` (the proxy to the core).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from app.catalog.entities import Advertiser
from app.ingest.reasons import RejectReason
from app.ingest.record import EventIds, Record, dumps, now_ms, reject
from app.ingest.spool import SpoolError, SpoolWriter
from app.metrics import Metrics
from app.settings import Settings
from app.targeting.compile import Visitor
from app.targeting.routing import LinkRoute, PlacementRoute
from app.targeting.visitor import VisitorLookup, open_visitor_lookup
from app.tracker.ad_serving import serve, served_click
from app.tracker.asgi import ASGIApp, Receive, Scope, Send, etag_matches, respond, send_json
from app.tracker.beacon import beacon
from app.tracker.catalog_view import CatalogFile
from app.tracker.click_ids import ClickIds, ensure_click_secret
from app.tracker.clientip import ClientIp
from app.tracker.conversions import postback
from app.tracker.demo_clock import DemoClock
from app.tracker.fields import Invalid, validate_event
from app.tracker.freqcap import FrequencyCounter
from app.tracker.pixel import GIF, GIF_HEADERS, PIXEL_TYPES, pixel
from app.tracker.redirect import redirect

__all__ = ["GIF", "GIF_HEADERS", "PIXEL_TYPES", "Edge"]

log = logging.getLogger(__name__)


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
        # One secret for the deployment: any worker verifies a click id another one issued.
        self.click_ids = ClickIds(ensure_click_secret(settings.data_dir))
        self.demo_clock = DemoClock(settings) if settings.demo_clock else None
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
        # (advertiser, order id, status) answered recently: a quick "duplicate" for retries.
        self.recent_orders: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self.freq = FrequencyCounter(settings.data_dir / "freqcap.bin")
        self._visitors: VisitorLookup | None = None  # see open_visitors
        self._redirect = partial(redirect, self)
        self._serve = partial(serve, self)
        self._served_click = partial(served_click, self)
        self._routes: dict[str, Callable[[Scope, Receive, Send], Awaitable[None]]] = {
            "/p.gif": partial(pixel, self),
            "/e": partial(beacon, self),
            "/t.js": self.snippet_js,
            "/postback": partial(postback, self),
            "/healthz": self.healthz,
            "/metrics": self.metrics_text,
        }
        metrics.describe("adtrack_hits_total", "counter", "Hits accepted into the spool")
        metrics.describe("adtrack_rejects_total", "counter", "Hits rejected, by reason and stage")
        metrics.describe("adtrack_spool_errors_total", "counter", "Spool appends that failed")
        metrics.describe("adtrack_serve_total", "counter", "Placement requests, by result")
        metrics.describe(
            "adtrack_frequency_capped_total", "counter", "Draws skipped: visitor at the cap"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            handler = self._routes.get(path)
            if handler is not None:
                await handler(scope, receive, send)
                return
            if path.startswith("/c/"):
                await self._redirect(scope, receive, send)
                return
            if path.startswith("/serve/"):
                await self._serve(scope, receive, send)
                return
            if path.startswith("/k/"):
                await self._served_click(scope, receive, send)
                return
            if path.lstrip("/").startswith("internal"):  # the core's loopback routes stay private
                await send_json(send, 404, {"detail": "Not Found"})
                return
        await self.fallback(scope, receive, send)

    # -- shared ----------------------------------------------------------------------------
    def site_known(self, site_key: str) -> bool:
        # A miss looks at the catalog file once more: a site created a moment ago counts.
        return site_key in self.catalog.snapshot.sites or (
            self.catalog.reload_if_changed() and site_key in self.catalog.snapshot.sites
        )

    def link_route(self, code: str) -> LinkRoute | None:
        route = self.catalog.routing.links.get(code)
        if route is None and self.catalog.reload_if_changed():
            route = self.catalog.routing.links.get(code)
        return route

    def click_source(self, code: str) -> tuple[dict[str, str], Advertiser] | None:
        found = self.catalog.snapshot.click_source(code)
        if found is None and self.catalog.reload_if_changed():
            found = self.catalog.snapshot.click_source(code)
        return found

    def placement_route(self, placement_id: str) -> PlacementRoute | None:
        route = self.catalog.routing.placements.get(placement_id)
        if route is None and self.catalog.reload_if_changed():
            route = self.catalog.routing.placements.get(placement_id)
        return route

    def open_visitors(self) -> VisitorLookup:
        """The geo and carrier data targeting reads. Loading the carrier data takes a few
        tenths of a second, so the edge calls this in a background thread at start rather
        than stalling the first targeted hit (a race only loads it twice)."""
        if self._visitors is None:
            self._visitors = open_visitor_lookup(self.settings)
        return self._visitors

    def visitor(self, ip: str, ua: str) -> Visitor:
        """Where and on what the visitor is, for targeting; only called when a rule asks."""
        return (self._visitors or self.open_visitors())(ip, ua)

    def request_meta(self, scope: Scope) -> tuple[str, str, str, str]:
        """(client ip, user agent, referer, cookie) in one pass over the headers."""
        ua = referer = forwarded = cookie = ""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                ua = value.decode("latin-1")
            elif name == b"referer":
                referer = value.decode("latin-1")
            elif name == b"x-forwarded-for":  # several headers are one list, in order
                hops = value.decode("latin-1")
                forwarded = f"{forwarded},{hops}" if forwarded else hops
            elif name == b"cookie":
                cookie = value.decode("latin-1")
        client = scope.get("client")
        peer = client[0] if client else ""
        ip = self.client_ip.resolve(peer, forwarded) if forwarded else peer
        return ip, ua[:1000], referer, cookie

    def event_time(self, scope: Scope) -> int:
        """A hit's time: its arrival, unless the demo clock is on and the caller proved the
        demo key (app/tracker/demo_clock.py)."""
        arrival = now_ms()
        if self.demo_clock is None:
            return arrival
        return self.demo_clock.event_time(scope["headers"], arrival)

    def append(self, record: Record) -> int | None:
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

    def stamp(self, record: Record, ip: str, ua: str, ts: int) -> Record:
        record["event_id"] = self.ids.next()
        record["ts"] = ts
        record["ip"] = ip
        record["user_agent"] = ua
        return record

    async def durable(self, mark: int | None) -> bool:
        if mark is None:
            return False
        if self.fsync_each:
            await self.spool.wait_durable(mark)
        return True

    def event_or_reject(
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
        problem: Invalid | None
        if isinstance(result, Invalid):
            problem = result
        elif not self.site_known(result["site_key"]):
            problem = Invalid(RejectReason.UNKNOWN_SITE, "s", "no site has this key")
        else:  # every campaign, placement and creative id must be the catalog's
            problem = self.catalog.unknown_ref(result)
        if problem is None:
            return result
        return reject(
            problem.reason,
            endpoint=endpoint,
            field=problem.field,
            detail=problem.detail,
            raw=raw,
            site_key=site_key or "",
        )

    async def snippet_js(self, scope: Scope, receive: Receive, send: Send) -> None:
        gzip_ok = False
        for name, value in scope["headers"]:
            if name == b"if-none-match" and etag_matches(value, self.snippet_etag):
                await respond(send, 304, b"", self._snippet_headers[:2])
                return
            if name == b"accept-encoding" and b"gzip" in value:
                gzip_ok = True
        if gzip_ok:
            headers = [*self._snippet_headers, (b"content-encoding", b"gzip")]
            await respond(send, 200, self.snippet_gzip, headers)
        else:
            await respond(send, 200, self.snippet, self._snippet_headers)

    async def healthz(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, body = await self.health()
        await send_json(send, status, body)

    async def metrics_text(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = self.metrics.render()
        if self.extra_metrics is not None:
            text += await self.extra_metrics()
        await respond(
            send,
            200,
            text.encode(),
            [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
        )
