"""The rollup job: a thread in the core process that keeps `funnel_daily` current and takes
the daily ranking snapshots (`rankings.py`).

It refreshes shortly after start (a fresh install's history) and then every
`rollup_interval_s` (0: only on demand); `refresh_now()` refreshes in the caller's thread
(the admin API's `POST /api/v1/rollups/refresh`, `adtrack rollups refresh`), `trigger()`
wakes the thread. A failed refresh is logged, counted and retried at the next tick; readers
keep the previous computation meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date

from app.metrics import Metrics
from app.rollups import funnels, rankings
from app.store.client import Store, StoreError

log = logging.getLogger("adtrack.rollups")

FIRST_DELAY_S = 5.0


@dataclass
class RollupJob:
    store: Store
    metrics: Metrics
    interval_s: float
    last_error: str = ""
    last_run: float = 0.0  # unix time of the last finished refresh
    last_seconds: float = 0.0  # how long it took
    snapshot_days: tuple[date, ...] = ()  # ranking snapshots taken by the last refresh
    _wake: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        m = self.metrics
        m.describe("adtrack_rollup_refreshes_total", "counter", "Rollup refreshes finished")
        m.describe("adtrack_rollup_refresh_seconds_total", "counter", "Time spent refreshing")
        m.describe("adtrack_rollup_errors_total", "counter", "Rollup refreshes that failed")
        m.gauge(
            "adtrack_rollup_last_success_timestamp",
            "Unix time of the last finished rollup refresh",
            lambda: [((), self.last_run)],
        )

    def start(self) -> RollupJob:
        self._thread = threading.Thread(target=self._run, name="rollups", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=30)

    def trigger(self) -> None:
        self._wake.set()

    def refresh_now(self) -> list[funnels.Refreshed]:
        """Refresh in the calling thread (one refresh at a time)."""
        with self._lock:
            began = time.perf_counter()
            try:
                done = funnels.refresh(self.store)
                self.snapshot_days = tuple(rankings.take_due(self.store))
            except StoreError as exc:
                self.last_error = str(exc)
                self.metrics.inc("adtrack_rollup_errors_total")
                raise
            self.last_error = ""
            self.last_seconds = time.perf_counter() - began
            self.last_run = time.time()
            self.metrics.inc("adtrack_rollup_refreshes_total")
            self.metrics.inc("adtrack_rollup_refresh_seconds_total", value=self.last_seconds)
            return done

    def _run(self) -> None:
        """Refresh shortly after start and then every interval; with no interval (0), only
        when triggered."""
        self._wake.wait(FIRST_DELAY_S if self.interval_s else None)
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                done = self.refresh_now()
                if done:
                    log.info("rollups refreshed: %s", ", ".join(
                        f"{r.funnel} {len(r.days)} days" for r in done))  # fmt: skip
            except StoreError as exc:
                log.error("rollup refresh failed (retried next interval): %s", exc)
            self._wake.wait(self.interval_s or None)
