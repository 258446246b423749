"""An in-memory catalog snapshot for the hit path, refreshed in the background on change."""

from __future__ import annotations

import logging
import threading

from app.store.catalog import CatalogSnapshot, catalog_version, load_snapshot
from app.store.client import Store, StoreError

log = logging.getLogger(__name__)


class CatalogCache:
    """Readers take `.snapshot` (an immutable object); the refresher swaps it whole.

    Every `refresh_s` the refresher asks ClickHouse for the catalog version, and reloads only
    when it moved, so another process's change is seen within a few seconds. A local write
    calls `refresh()` to be seen at once. The hit path never waits on ClickHouse.
    """

    def __init__(self, store: Store, refresh_s: float = 2.0) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()
        self.snapshot = CatalogSnapshot()
        self.errors = 0

    def refresh(self) -> CatalogSnapshot:
        with self._refresh_lock:
            self.snapshot = load_snapshot(self._store)
        return self.snapshot

    def start(self) -> CatalogCache:
        try:
            self.refresh()
        except StoreError as exc:
            self.errors += 1
            log.warning("catalog not loaded yet (%s); hits will be retried on refresh", exc)
        self._thread = threading.Thread(target=self._run, name="catalog-refresh", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._refresh_s):
            try:
                if catalog_version(self._store) != self.snapshot.version:
                    self.refresh()
            except StoreError as exc:
                self.errors += 1
                log.warning("catalog refresh failed: %s", exc)
