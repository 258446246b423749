"""A store with a small catalog, filled through the real spool and loader: how the query-layer
tests build their data (generated records in, enriched rows out, as in production)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.catalog import entities as catalog
from app.catalog import rows as catalog_rows
from app.catalog.cache import CatalogCache
from app.ingest.loader import Loader, build_enricher
from app.ingest.record import dumps
from app.ingest.spool import SpoolWriter
from app.metrics import Metrics
from app.settings import Settings, load_settings
from app.store.client import Store, open_store
from app.store.migrate import migrate
from tests.support.cli import copy_of

# (site name, partner id, channel) of the partner sites most tests use.
PARTNER_SITES = (("Portal", "p1", "national_portal"), ("Forum", "p2", "forum"))


@dataclass
class World:
    settings: Settings
    store: Store
    sites: dict[str, str]  # channel -> partner site key
    landing: str  # the advertiser's own landing site key

    def load(self, records: Iterable[dict]) -> int:
        """Spool the records as the edge would, load them all; returns how many."""
        loader = Loader(
            self.store,
            build_enricher(self.settings, _cache(self.store), self.store),
            Metrics(),
            self.settings.spool_dir,
        )
        writer = SpoolWriter(self.settings.spool_dir, fsync_ms=1000, segment_ms=60_000).open()
        count = 0
        for record in records:
            writer.append(dumps(record))
            count += 1
        writer.close()
        loader.drain_once()
        return count


def _cache(store: Store) -> CatalogCache:
    cache = CatalogCache(store)
    cache.refresh()
    return cache


def world(
    data_dir: Path,
    geoip_db: Path,
    partner_sites: Sequence[tuple[str, str, str]] = PARTNER_SITES,
    template: Path | None = None,
) -> World:
    """A migrated embedded store with the partner sites and a landing site `Shop`; its
    store a copy of `template`'s (the session's migrated data dir) when given."""
    settings = load_settings(data_dir=data_dir, geoip_db=geoip_db)
    if template is not None:
        store_dir = Path(settings.clickhouse_url.removeprefix("chdb://"))
        copy_of(template / store_dir.relative_to(data_dir), store_dir)
    store = open_store(settings.clickhouse_url)
    migrate(store)  # on a copy: finds the schema current
    sites = {}
    for name, partner, channel in partner_sites:
        site = catalog_rows.save(
            store, catalog.new_site(name, partner, f"{partner}.example", channel)
        )
        sites[channel] = site.site_key
    landing = catalog_rows.save(store, catalog.new_site("Shop", "adv", "shop.example", "owned"))
    return World(settings, store, sites, landing.site_key)
