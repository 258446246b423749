"""The catalog as the edge sees it: the snapshot file the core process writes on every change.

The edge never opens the store. It reads `<data dir>/catalog.json`, polls it for changes,
and on a miss (a site key or link code it does not know) looks at the file once more, so a
link created through the API redirects on the very next request. Links and placements are
compiled into `routing` (targeting matchers, splits) on each load.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from app.store.catalog import CatalogSnapshot, snapshot_from_json
from app.targeting.routing import Routing, compile_snapshot

log = logging.getLogger(__name__)


class CatalogFile:
    def __init__(self, path: Path, poll_s: float = 1.0) -> None:
        self.path = path
        self._poll_s = poll_s
        self._stamp: tuple[int, int] = (0, 0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.snapshot = CatalogSnapshot()
        self.routing: Routing = compile_snapshot(self.snapshot)

    def reload_if_changed(self) -> bool:
        """Load the file if it changed since the last load; True when it did."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            try:
                snapshot = snapshot_from_json(self.path.read_bytes())
                # Rules compile once per change, not per hit.
                self.routing = compile_snapshot(snapshot)
                self.snapshot = snapshot
            except (OSError, ValueError, KeyError, TypeError) as exc:
                # Written by rename, so a torn file means corruption: keep the last good one.
                log.error("catalog file %s unreadable: %s", self.path, exc)
                return False
            self._stamp = stamp
        return True

    def start(self, wait_s: float = 0.0) -> CatalogFile:
        deadline = time.monotonic() + wait_s
        while not self.reload_if_changed() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._thread = threading.Thread(target=self._run, name="catalog-file", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            self.reload_if_changed()
