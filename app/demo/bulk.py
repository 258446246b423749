"""Bulk mode: generated records straight through the real loader into the store.

Enrichment (click stitching, site → partner/channel, geo, device, order dedup) is the
loader's own pipeline; only the HTTP edge is skipped. The store is opened directly, so this
refuses to run while a server holds it. Each chunk is inserted under a token derived from the
plan (`demo:<seed>:…:<chunk>`), so rerunning the same plan inserts nothing twice.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from app.catalog.cache import CatalogCache
from app.demo.scenario import World, ensure_in_store
from app.demo.traffic import Plan, Stats, Traffic
from app.ingest.loader import Loader, build_enricher
from app.ingest.record import Record
from app.metrics import Metrics
from app.settings import Settings
from app.store.client import Store, StoreError, open_store
from app.store.migrate import migrate

CHUNK_ROWS = 50_000


class StoreBusy(Exception):
    """A running server holds the store; the demo must go through it instead."""


@dataclass
class BulkResult:
    world: World
    stats: Stats
    loaded: int  # rows the loader kept and inserted
    stored: int  # how much the events table grew: 0 when a rerun was deduplicated
    rejected: int
    chunks: int
    seconds: float
    generate_seconds: float
    load_seconds: float
    enrich_seconds: dict[str, float]

    @property
    def events_per_s(self) -> float:
        return self.loaded / self.seconds if self.seconds else 0.0


def server_running(settings: Settings, timeout: float = 0.5) -> bool:
    """Whether an adtrack server answers at the configured host and port (stdlib HTTP: bulk
    mode must not need the http mode's client)."""
    url = f"{settings.local_url(public=False)}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http URL)
            body = response.read(4096)
    except urllib.error.HTTPError as exc:  # 503: a degraded server still holds the store
        body = exc.read(4096) if exc.code == 503 else b""
    except (OSError, ValueError):
        return False
    return b'"spool"' in body


def open_demo_store(settings: Settings) -> Store:
    busy = (
        f"a server is running at {settings.host}:{settings.port} and holds the store; "
        "stop it, or send the demo through it with `adtrack demo --mode http`"
    )
    if settings.embedded and server_running(settings):
        raise StoreBusy(busy)
    try:
        store = open_store(settings.clickhouse_url)
        store.query("SELECT 1")
    except StoreError as exc:
        raise StoreBusy(
            f"cannot open the store ({exc}); if a server holds it, stop it or "
            "use `adtrack demo --mode http`"
        ) from exc
    return store


def _event_count(store: Store) -> int:
    return int(store.query("SELECT count() FROM events")[0][0])


def run_bulk(
    settings: Settings,
    plan: Plan,
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[str], None] | None = None,
    store: Store | None = None,
) -> BulkResult:
    started = time.perf_counter()
    own_store = store is None
    store = store or open_demo_store(settings)
    try:
        migrate(store)
        world = ensure_in_store(store)
        cache = CatalogCache(store)
        cache.refresh()
        enricher = build_enricher(settings, cache, store)
        loader = Loader(store, enricher, Metrics(), settings.spool_dir, batch_rows=chunk_rows)
        traffic = Traffic(world, plan)
        before = _event_count(store)
        totals = {"loaded": 0, "rejected": 0, "chunks": 0, "load_s": 0.0}

        def load(events: list[Record], rejects: list[Record], index: int) -> None:
            t0 = time.perf_counter()
            result = loader.load_records(events, rejects, f"demo:{plan.key}:{index}")
            totals["load_s"] += time.perf_counter() - t0
            totals["loaded"] += result.events
            totals["rejected"] += result.rejects
            totals["chunks"] += 1
            if progress:
                progress(f"chunk {index + 1}: {totals['loaded']:,} events loaded")

        # Generation and loading take turns: both are Python work under one GIL, and a loader
        # thread overlapping the generator measured slower than this.
        generate_s = 0.0
        events: list[Record] = []
        rejects: list[Record] = []
        t0 = time.perf_counter()
        for day_events, day_rejects in traffic.days():
            events.extend(day_events)
            rejects.extend(day_rejects)
            while len(events) >= chunk_rows:
                # Cut at the chunk size so chunk tokens only depend on the plan.
                generate_s += time.perf_counter() - t0
                load(events[:chunk_rows], rejects, totals["chunks"])
                events, rejects = events[chunk_rows:], []
                t0 = time.perf_counter()
        generate_s += time.perf_counter() - t0
        if events or rejects:
            load(events, rejects, totals["chunks"])
        return BulkResult(
            world=world,
            stats=traffic.stats,
            loaded=totals["loaded"],
            stored=_event_count(store) - before,
            rejected=totals["rejected"],
            chunks=totals["chunks"],
            seconds=time.perf_counter() - started,
            generate_seconds=generate_s,
            load_seconds=totals["load_s"],
            enrich_seconds=dict(enricher.pipeline.seconds),
        )
    finally:
        if own_store:
            store.close()
