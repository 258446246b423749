"""The server process: the hit edge in front of the FastAPI app, and the runtime they share.

`create_app()` is what uvicorn (or granian) serves. Its lifespan opens the store, applies
migrations, loads the catalog, opens this process's spool writer and, on the embedded engine
(or when asked), runs the loader in a background thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from fastapi import FastAPI

from app.ingest.loader import Loader, build_enricher
from app.ingest.spool import SpoolWriter, spool_depth
from app.metrics import Metrics
from app.settings import Settings, load_settings
from app.store.catalog_cache import CatalogCache
from app.store.client import Store, StoreError, open_store
from app.store.migrate import migrate
from app.tracker.edge import Edge

log = logging.getLogger("adtrack")


@dataclass
class Runtime:
    """Everything a process holds open, built once at start and passed to whoever needs it."""

    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    store: Store | None = None
    catalog: CatalogCache | None = None
    spool: SpoolWriter | None = None
    loader: Loader | None = None
    admin_token: str = ""
    store_error: str = ""
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.admin_token = ensure_admin_token(settings)
        self.store = open_store(settings.clickhouse_url, lazy=True)
        store_ready = self._prepare_store()
        self.catalog = CatalogCache(
            self.store, settings.catalog_refresh_s, backup_path=settings.data_dir / "catalog.json"
        ).start()
        self.spool = SpoolWriter(
            settings.spool_dir,
            fsync_ms=settings.spool_fsync_ms,
            segment_ms=settings.spool_segment_ms,
            segment_bytes=settings.spool_segment_bytes,
        ).open()
        if settings.loader_in_process:
            if store_ready:
                self._start_loader()
            else:
                threading.Thread(
                    target=self._wait_for_store, name="store-wait", daemon=True
                ).start()
        self._register_gauges()

    def _prepare_store(self) -> bool:
        """Apply migrations. A server that is down is waited for (hits still spool); the
        embedded engine is a local directory, so failing to open it is fatal."""
        assert self.store is not None
        try:
            migrate(self.store)
        except StoreError as exc:
            if self.settings.embedded:
                raise
            self.store_error = str(exc)
            log.error("ClickHouse unreachable at start, hits are spooled until it is back: %s", exc)
            return False
        self.store_error = ""
        return True

    def _wait_for_store(self) -> None:
        while not self._stopping.wait(2.0):
            if self._prepare_store():
                self._start_loader()
                return

    def _start_loader(self) -> None:
        assert self.store is not None and self.catalog is not None
        enricher = build_enricher(self.settings, self.catalog, self.store)
        self.loader = Loader(
            self.store,
            enricher,
            self.metrics,
            self.settings.spool_dir,
            batch_rows=self.settings.loader_batch_rows,
            poll_ms=self.settings.loader_poll_ms,
        ).start()

    def stop(self) -> None:
        self._stopping.set()
        if self.spool:
            self.spool.close()
        if self.loader:
            self.loader.stop(drain=True)
        if self.catalog:
            self.catalog.stop()
        if self.store:
            self.store.close()

    def _register_gauges(self) -> None:
        root = self.settings.spool_dir
        self.metrics.gauge(
            "adtrack_spool_segments",
            "Segments waiting in the spool",
            lambda: [((), spool_depth(root)[0])],
        )
        self.metrics.gauge(
            "adtrack_spool_bytes",
            "Bytes waiting in the spool",
            lambda: [((), spool_depth(root)[1])],
        )
        self.metrics.gauge(
            "adtrack_spool_unsynced_bytes",
            "Bytes appended but not yet fsync'ed",
            lambda: [((), self.spool.pending_bytes if self.spool else 0)],
        )

    def health(self) -> tuple[int, dict[str, Any]]:
        segments, size = spool_depth(self.settings.spool_dir)
        spool_ok = self.spool is not None and self.spool.errors == 0
        body = {
            "status": "ok" if spool_ok else "degraded",
            "spool": {"ok": spool_ok, "segments": segments, "bytes": size},
            "loader": {
                "running": self.loader is not None,
                "last_error": (self.loader.last_error if self.loader else self.store_error) or None,
            },
            "catalog_version": self.catalog.snapshot.version if self.catalog else 0,
        }
        return (200 if spool_ok else 503), body


def ensure_admin_token(settings: Settings) -> str:
    """The bootstrap admin token: from settings, or generated once and kept in the data dir.

    Several worker processes starting together agree on one token.
    """
    if settings.admin_token:
        return settings.admin_token
    path = settings.data_dir / "admin_token"
    token = secrets.token_urlsafe(32)
    # Write a private temp file, then link it into place: link() fails if the token exists,
    # so concurrent starters agree on one token and never read a half-written file.
    tmp = settings.data_dir / f".admin_token.{os.getpid()}"
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        return path.read_text("utf-8").strip()
    finally:
        tmp.unlink(missing_ok=True)
    print(f"adtrack: generated admin token (stored in {path}): {token}", flush=True)
    return token


def snippet_bytes() -> bytes:
    return resources.files("app.tracker").joinpath("static/t.js").read_bytes()


def create_app(settings: Settings | None = None) -> Edge:
    from app.api.app import create_api  # the API imports the runtime type, so import late

    runtime = Runtime(settings or load_settings())

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        edge.spool = runtime.spool
        edge.catalog = runtime.catalog
        try:
            yield
        finally:
            runtime.stop()

    api = create_api(runtime, lifespan=lifespan)
    edge = Edge(
        settings=runtime.settings,
        spool=None,  # type: ignore[arg-type]  (set when the lifespan starts)
        catalog=None,  # type: ignore[arg-type]
        metrics=runtime.metrics,
        fallback=api,
        snippet=snippet_bytes(),
        health=runtime.health,
    )
    edge.runtime = runtime  # type: ignore[attr-defined]
    return edge
