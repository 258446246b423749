"""The core process: owns the store. Runs the loader, the admin API and the catalog, and
supervises the edge process(es) that take the hits.

Collect and load are separate processes: the edge never waits on ClickHouse nor shares a GIL
with the loader, and the embedded engine (one process per data directory) is opened here only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import PlainTextResponse

from app.catalog.cache import CatalogCache
from app.ingest.loader import Loader, build_enricher
from app.ingest.spool import spool_depth
from app.metrics import Metrics
from app.rollups.job import RollupJob
from app.serve.supervisor import EdgeSupervisor
from app.settings import Settings, load_settings
from app.store.client import Store, StoreError, open_store
from app.store.migrate import migrate

log = logging.getLogger("adtrack")


@dataclass
class CoreRuntime:
    """What the core process holds open, built once at start and handed to the API."""

    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    store: Store | None = None
    catalog: CatalogCache | None = None
    loader: Loader | None = None
    rollups: RollupJob | None = None
    admin_token: str = ""
    store_error: str = ""
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        settings = self.settings
        private_dir(settings.data_dir)
        self.admin_token = ensure_admin_token(settings)
        self.store = open_store(settings.clickhouse_url, lazy=True)
        store_ready = self._prepare_store()
        self.catalog = CatalogCache(
            self.store, settings.catalog_refresh_s, backup_path=settings.catalog_file
        ).start()
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
            nice=self.settings.loader_nice,
        ).start()
        self.rollups = RollupJob(self.store, self.metrics, self.settings.rollup_interval_s).start()

    def stop(self) -> None:
        self._stopping.set()
        if self.rollups:
            self.rollups.stop()
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

    def health(self) -> dict[str, Any]:
        segments, size = spool_depth(self.settings.spool_dir)
        return {
            "spool": {"segments": segments, "bytes": size},
            "loader": {
                "running": self.loader is not None,
                "last_error": (self.loader.last_error if self.loader else self.store_error) or None,
            },
            "catalog_version": self.catalog.snapshot.version if self.catalog else 0,
            "rollups": {
                "running": self.rollups is not None,
                "last_run": self.rollups.last_run if self.rollups else None,
                "last_error": (self.rollups.last_error if self.rollups else "") or None,
            },
        }


def private_dir(path: Path) -> None:
    """The data directory holds the store, the spool, postback secrets (catalog.json) and the
    admin token: readable by this user alone, whoever made it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    store_dir = path / "clickhouse"
    if store_dir.is_dir():
        os.chmod(store_dir, 0o700)


def ensure_admin_token(settings: Settings) -> str:
    """The bootstrap admin token: from settings, or generated once and kept in the data dir.

    Several processes starting together agree on one token.
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
    # Say where it is, never the token: stdout ends up in service logs.
    print(f"adtrack: generated admin token, stored in {path} (mode 0600)", flush=True)
    return token


def _edge_only(request: Request) -> None:
    """/internal answers our edge alone: with `adtrack serve`, the request must carry the
    per-start edge secret; a core run on its own (tests) answers loopback peers only."""
    from app.http.deps import from_edge

    if request.app.state.runtime.settings.edge_secret:
        allowed = from_edge(request)
    else:
        allowed = request.client is not None and request.client.host in ("127.0.0.1", "::1")
    if not allowed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")


EdgeOnly = Annotated[None, Depends(_edge_only)]


def internal_router(runtime: CoreRuntime) -> APIRouter:
    """Loopback-only routes the edge calls; the edge never forwards /internal/ paths."""
    router = APIRouter(prefix="/internal", include_in_schema=False)

    @router.get("/health")
    def health(_: EdgeOnly) -> dict[str, Any]:
        return runtime.health()

    @router.get("/metrics", response_class=PlainTextResponse)
    def metrics(_: EdgeOnly) -> str:
        return runtime.metrics.render()

    return router


def create_core_app(settings: Settings | None = None, *, supervise_edge: bool = True) -> FastAPI:
    from app.serve.core_app import create_core_api

    runtime = CoreRuntime(settings or load_settings())

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(runtime.start)
        supervisor = EdgeSupervisor(runtime.settings) if supervise_edge else None
        if supervisor:
            await supervisor.start()
        try:
            yield
        finally:
            if supervisor:
                await supervisor.stop()  # first: its spool segments get sealed
            await asyncio.to_thread(runtime.stop)

    api = create_core_api(runtime, lifespan=lifespan)
    api.include_router(internal_router(runtime))
    return api
