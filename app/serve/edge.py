"""The edge process: the public port. Hit endpoints are answered here from the spool and the
catalog file; every other path is forwarded to the core process. The store is never opened.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import httpx

from app.ingest.spool import SpoolWriter
from app.metrics import Metrics
from app.serve.proxy import CoreProxy
from app.serve.supervisor import die_with_parent
from app.settings import Settings, load_settings
from app.tracker.catalog_view import CatalogFile
from app.tracker.clientip import ClientIp
from app.tracker.hit_app import Edge, Receive, Scope, Send

log = logging.getLogger("adtrack")


def snippet_bytes() -> bytes:
    return resources.files("app.tracker").joinpath("static/t.js").read_bytes()


class EdgeApp:
    """ASGI app: lifespan opens this process's spool and catalog view; http goes to Edge."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.proxy = CoreProxy(
            settings.core_url or f"http://{settings.host}:{settings.port}",
            edge_secret=settings.edge_secret,
            client_ip=ClientIp(settings.trusted_proxies),
        )
        self.spool = SpoolWriter(
            settings.spool_dir,
            fsync_ms=settings.spool_fsync_ms,
            segment_ms=settings.spool_segment_ms,
            segment_bytes=settings.spool_segment_bytes,
        )
        self.catalog = CatalogFile(settings.catalog_file, poll_s=1.0)
        self.edge = Edge(
            settings=settings,
            spool=self.spool,
            catalog=self.catalog,
            metrics=self.metrics,
            fallback=self.proxy,
            snippet=snippet_bytes(),
            health=self.health,
            extra_metrics=self.core_metrics,
        )
        self.metrics.gauge(
            "adtrack_spool_unsynced_bytes",
            "Bytes appended, not yet fsync'ed",
            lambda: [((), self.spool.pending_bytes)],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.edge(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async with self._running():
            message = await receive()
            assert message["type"] == "lifespan.startup"
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            assert message["type"] == "lifespan.shutdown"
        await send({"type": "lifespan.shutdown.complete"})

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        parent = os.getppid()
        die_with_parent()
        if os.getppid() != parent:  # the parent died before the line above took effect
            raise SystemExit("adtrack edge: parent process gone")
        self.spool.open()
        self.catalog.start(wait_s=10.0)
        threading.Thread(target=self.edge.open_visitors, name="visitor-data", daemon=True).start()
        # print, not log: uvicorn's worker processes do not inherit our logging set-up.
        print(f"adtrack: edge worker spool {self.spool.writer_id} (pid {os.getpid()})", flush=True)
        try:
            yield
        finally:
            self.spool.close()
            self.catalog.stop()
            await self.proxy.aclose()

    async def health(self) -> tuple[int, dict[str, Any]]:
        spool_ok = self.spool.errors == 0
        body: dict[str, Any] = {
            "status": "ok" if spool_ok else "degraded",
            "edge": {"spool_ok": spool_ok, "catalog_version": self.catalog.snapshot.version},
        }
        try:
            core = (await self.proxy.get("/internal/health")).json()
        except (httpx.HTTPError, ValueError):
            core = {"loader": {"running": False, "last_error": "core process unreachable"}}
        body.update(core)
        body["spool"] = {**core.get("spool", {}), "ok": spool_ok}
        return (200 if spool_ok else 503), body

    async def core_metrics(self) -> str:
        try:
            return (await self.proxy.get("/internal/metrics")).text
        except httpx.HTTPError:
            return "# core process unreachable\n"


def create_edge_app(settings: Settings | None = None) -> EdgeApp:
    return EdgeApp(settings or load_settings())
