"""An in-memory catalog snapshot for the hit path, refreshed in the background on change."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from app.catalog.rows import catalog_version, load_snapshot
from app.catalog.snapshot import CatalogSnapshot, snapshot_from_json, snapshot_to_json
from app.store.client import Store, StoreError

log = logging.getLogger(__name__)


class CatalogCache:
    """Readers take `.snapshot` (an immutable object); the refresher swaps it whole.

    Every `refresh_s` the refresher asks ClickHouse for the catalog version and reloads only
    when it moved, so another process's change is seen within a few seconds; a local write
    calls `refresh()` to be seen at once. The hit path never waits on ClickHouse. Each loaded
    snapshot is also written to `backup_path`, so a process that starts while ClickHouse is
    unreachable still knows its sites and links and keeps accepting hits.
    """

    def __init__(
        self, store: Store, refresh_s: float = 2.0, backup_path: Path | None = None
    ) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._backup = backup_path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()
        self.snapshot = CatalogSnapshot()

    def refresh(self) -> CatalogSnapshot:
        with self._refresh_lock:
            self.snapshot = load_snapshot(self._store)
            self._save_backup()
        return self.snapshot

    def _save_backup(self) -> None:
        if self._backup is None:
            return
        tmp = self._backup.with_suffix(f".tmp{os.getpid()}")
        # It holds the advertisers' postback secrets: 0600 from its first byte.
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(snapshot_to_json(self.snapshot))
        os.chmod(tmp, 0o600)  # an older file of that name kept its mode through O_TRUNC
        os.replace(tmp, self._backup)

    def _load_backup(self) -> bool:
        if self._backup is None or not self._backup.exists():
            return False
        self.snapshot = snapshot_from_json(self._backup.read_bytes())
        return True

    def start(self) -> CatalogCache:
        try:
            self.refresh()
        except StoreError as exc:
            restored = self._load_backup()
            log.warning(
                "catalog not loaded from ClickHouse (%s); %s",
                exc,
                "using the last saved copy" if restored else "no saved copy yet",
            )
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
                log.warning("catalog refresh failed: %s", exc)
