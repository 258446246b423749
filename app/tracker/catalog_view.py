"""The catalog as the edge sees it: the snapshot file the core process writes on every change.

The edge never opens the store. It reads `<data dir>/catalog.json`, polls it for changes,
and on a miss (a site key or link code it does not know) looks at the file once more, so a
link created through the API redirects on the very next request. Links and placements are
compiled into `routing` (targeting matchers, splits) on each load.

A pixel or beacon hit may name only a campaign, placement and creative the catalog knows
(`unknown_ref`), so nobody can add rows for made-up ones to the reports.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from app.catalog.snapshot import CatalogSnapshot, snapshot_from_json
from app.ingest.reasons import RejectReason
from app.ingest.record import Record
from app.targeting.routing import Routing, compile_snapshot
from app.tracker.fields import Invalid

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
        self.labels = link_labels(self.snapshot)

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
                self.labels = link_labels(snapshot)
                self.snapshot = snapshot
            except (OSError, ValueError, KeyError, TypeError) as exc:
                # Written by rename, so a torn file means corruption: keep the last good one.
                log.error("catalog file %s unreadable: %s", self.path, exc)
                return False
            self._stamp = stamp
        return True

    def unknown_ref(self, record: Record) -> Invalid | None:
        """Why the campaign, placement or creative a hit names is not the catalog's, or None.
        A miss looks at the file once more: a row created a moment ago counts."""
        problem = unknown_ref(self.snapshot, self.labels, record)
        if problem is not None and self.reload_if_changed():
            problem = unknown_ref(self.snapshot, self.labels, record)
        return problem

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


def link_labels(snapshot: CatalogSnapshot) -> frozenset[tuple[str, str]]:
    """(site key, label) for every placement and creative label a tracked link of that site
    names: links may name their slot and creative with free labels (`home-banner`), which
    then are that site's too."""
    labels = set()
    for link in snapshot.links.values():
        if link.placement_id:
            labels.add((link.site_key, link.placement_id))
        if link.creative_id:
            labels.add((link.site_key, link.creative_id))
    return frozenset(labels)


def unknown_ref(
    snapshot: CatalogSnapshot, labels: frozenset[tuple[str, str]], record: Record
) -> Invalid | None:
    """The catalog's rule for links, applied to a hit: the campaign must exist; a placement
    or creative is one of ours (a placement of the hit's site, a creative of its campaign)
    or a label a tracked link of the hit's site names."""
    site_key = record.get("site_key", "")
    campaign_id = record.get("campaign_id")
    if campaign_id and campaign_id not in snapshot.campaigns:
        return Invalid(RejectReason.UNKNOWN_CAMPAIGN, "c", "no campaign has this id")
    placement_id = record.get("placement_id")
    if placement_id and (site_key, placement_id) not in labels:
        placement = snapshot.placements.get(placement_id)
        if placement is None:
            return Invalid(RejectReason.UNKNOWN_PLACEMENT, "pl", "no placement of this site")
        if placement.site_key != site_key:
            return Invalid(RejectReason.UNKNOWN_PLACEMENT, "pl", "the placement is on another site")
    creative_id = record.get("creative_id")
    if creative_id and (site_key, creative_id) not in labels:
        creative = snapshot.creatives.get(creative_id)
        if creative is None:
            return Invalid(RejectReason.UNKNOWN_CREATIVE, "cr", "no creative has this id")
        if campaign_id and creative.campaign_id != campaign_id:
            return Invalid(
                RejectReason.UNKNOWN_CREATIVE, "cr", "the creative belongs to another campaign"
            )
    return None
