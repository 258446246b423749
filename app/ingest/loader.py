"""The loader: sealed spool segments -> enrichment -> column inserts into ClickHouse.

One loader owns the store. Ready segments are loaded in batches of about `batch_rows`
records (several small segments make one insert: every insert writes a new part, whose fixed
cost dominates small inserts). Before its first insert a batch is named in a manifest
(`.batch.json` in the spool root, fsync'ed); each chunk of the batch is inserted with a
deduplication token made of the batch's name and the chunk's index. After a crash the
manifest's batch is replayed first, exactly as it was, so ClickHouse drops what it had
already acknowledged instead of counting it twice. A segment is deleted only after every
insert for it was acknowledged; while ClickHouse is down the spool just grows.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa

from app.catalog.cache import CatalogCache
from app.geo.device import DeviceParser
from app.geo.geolite import open_geo
from app.geo.isp import open_isp
from app.ingest.columns import INSERT_SETTINGS, events_table_of, given_rows, rejects_table
from app.ingest.enrich.campaign import put_campaign
from app.ingest.enrich.click import ClickIndex
from app.ingest.enrich.device import put_device
from app.ingest.enrich.geo import put_geo
from app.ingest.enrich.orders import OrderIndex, put_order_source
from app.ingest.enrich.pipeline import Pipeline
from app.ingest.enrich.privacy import truncate, truncate_ip
from app.ingest.enrich.region import put_isp, put_region
from app.ingest.enrich.site import make_put_site
from app.ingest.reasons import RejectReason
from app.ingest.record import Record, now_ms
from app.ingest.spool import Segment, fsync_dir, ready_segments
from app.metrics import Metrics
from app.settings import IpPrivacy, Settings
from app.store.client import Store, StoreError

log = logging.getLogger(__name__)

LOADER_LOCK = ".loader.lock"
BATCH_MANIFEST = ".batch.json"
# What converting (or enriching) a record of the wrong shape raises.
_UNCONVERTIBLE = (pa.ArrowException, TypeError, ValueError, ArithmeticError)
# Records per enrichment slice. A slice's dicts (~3 KB each once enriched) should stay in
# the core's cache across the steps and the Arrow build: 1,024 measured best (4,096: 20% more
# loader CPU per event; 256: the per-slice Arrow calls start to cost).
SLICE_ROWS = 1024


def _shown_in_full(ip: str) -> str:
    return ip


@dataclass
class Enricher:
    pipeline: Pipeline
    clicks: ClickIndex
    orders: OrderIndex
    # How a rejected hit's IP is stored: the IP privacy option holds for `rejects` too.
    conceal_ip: Callable[[str], str] = _shown_in_full


def build_enricher(settings: Settings, catalog: CatalogCache, store: Store | None) -> Enricher:
    clicks = ClickIndex(store)
    orders = OrderIndex(store)
    steps = [
        ("put_campaign", put_campaign),
        ("put_site", make_put_site(catalog)),
        ("remember_click", clicks.remember_click),
        ("put_click", clicks.put_click),
        ("put_order_source", put_order_source),
        ("drop_duplicate_order", orders.drop_duplicate_order),
    ]
    # After the record steps: put_click gives a postback its click's ip and user agent.
    column_steps = [
        ("put_geo", put_geo(open_geo(settings.geoip_db))),
        ("put_region", put_region),
        ("put_isp", put_isp(open_isp(settings.isp_db))),
        ("put_device", put_device(DeviceParser())),
    ]
    enricher = Enricher(Pipeline(steps, column_steps), clicks, orders)
    if settings.ip_privacy == IpPrivacy.TRUNCATE:
        column_steps.append(("truncate_ip", truncate_ip))
        enricher.conceal_ip = truncate
    return enricher


@dataclass(frozen=True)
class BatchResult:
    events: int
    rejects: int


class Loader:
    def __init__(
        self,
        store: Store,
        enricher: Enricher,
        metrics: Metrics,
        spool_root: Path,
        *,
        batch_rows: int = 100_000,
        poll_ms: int = 200,
        nice: int = 10,
    ) -> None:
        self.store = store
        self.enricher = enricher
        self.metrics = metrics
        self.spool_root = spool_root
        self.batch_rows = batch_rows
        self.poll_s = poll_ms / 1000
        self.nice = nice
        self.last_error = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock_fd = -1
        metrics.describe("adtrack_loaded_rows_total", "counter", "Rows inserted, by table")
        metrics.describe("adtrack_loader_rejects_total", "counter", "Hits the loader dropped")
        metrics.describe("adtrack_clickhouse_errors_total", "counter", "Failed ClickHouse calls")
        metrics.describe("adtrack_insert_seconds_total", "counter", "Time spent in inserts")
        metrics.describe("adtrack_inserts_total", "counter", "Insert statements acknowledged")
        metrics.gauge(
            "adtrack_enrich_seconds_total",
            "Time per enrichment step",
            lambda: [((("step", k),), v) for k, v in self.enricher.pipeline.seconds.items()],
            kind="counter",
        )

    # -- one batch ------------------------------------------------------------------------
    def load_lines(self, lines: Iterable[bytes], token: str) -> BatchResult:
        """Parse, enrich and insert one batch of spool lines under a deduplication token."""
        events: list[Record] = []
        rejects: list[Record] = []
        loads = orjson.loads
        for line in lines:
            try:
                record = loads(line)
            except orjson.JSONDecodeError:
                rejects.append(
                    _loader_reject(
                        RejectReason.LOAD_ERROR,
                        "spool line is not JSON",
                        line.decode("utf-8", "replace"),
                    )
                )
                continue
            if record.__class__ is dict:
                if "reject" in record:
                    rejects.append(record)
                    continue
                if record.get("event_type"):
                    events.append(record)
                    continue
            rejects.append(
                _loader_reject(
                    RejectReason.LOAD_ERROR, "no event_type", line.decode("utf-8", "replace")
                )
            )
        with _cyclic_gc_paused():
            return self._load_records(events, rejects, token, release=True)

    def load_records(self, events: list[Record], rejects: list[Record], token: str) -> BatchResult:
        with _cyclic_gc_paused():
            return self._load_records(events, rejects, token, release=False)

    def _load_records(
        self, events: list[Record], rejects: list[Record], token: str, *, release: bool
    ) -> BatchResult:
        """With `release`, `events` is ours: each slice's records are let go once converted,
        while still in cache (freed all at the end of the batch: ~0.5 µs more per event)."""
        enricher = self.enricher
        enricher.clicks.prefetch(events)
        enricher.orders.prefetch(events)
        slices: list[pa.RecordBatch] = []
        loaded = 0
        # Enrich and convert in slices that stay in the CPU cache: every record step walks the
        # whole slice, then the Arrow build reads every record once more.
        for start in range(0, len(events), SLICE_ROWS):
            stop = min(start + SLICE_ROWS, len(events))
            kept, dropped = self._enrich(events[start:stop], rejects)
            for record, reason, step in dropped:
                rejects.append(
                    _loader_reject(reason, f"dropped by {step}", self._shown(record), record)
                )
            if kept:
                slices.append(self._rows(kept, rejects))
                loaded += slices[-1].num_rows
            if release:
                events[start:stop] = [None] * (stop - start)  # type: ignore[list-item]
                del kept, dropped
        if loaded:
            # One record batch: ClickHouse converts and squashes each batch of an insert; the
            # column steps see every distinct key of the batch at once.
            events_arrow = enricher.pipeline.run_columns(events_table_of(slices))
            self._insert("events", events_arrow, f"{token}:e")
        if rejects:
            conceal = enricher.conceal_ip
            for record in rejects:
                if record.get("ip"):
                    record["ip"] = conceal(record["ip"])
            self._insert("rejects", rejects_table(rejects), f"{token}:r")
        enricher.orders.commit()
        for record in rejects:
            if record.get("endpoint") == "loader":
                self.metrics.inc("adtrack_loader_rejects_total", (("reason", record["reject"]),))
        return BatchResult(loaded, len(rejects))

    def _enrich(
        self, records: list[Record], rejects: list[Record]
    ) -> tuple[list[Record], list[tuple[Record, str, str]]]:
        """The record steps over a slice. A record of the wrong shape (a list for a text, a
        number for a URL) can make a step raise: find the records that cannot be loaded,
        reject them, and run the steps again over the rest (the steps may run twice over a
        record: each fills what is missing or sets what its source says)."""
        try:
            return self.enricher.pipeline.run(records)
        except _UNCONVERTIBLE:
            good = self._without_unconvertible(records, rejects)
            if len(good) == len(records):
                raise
        return self.enricher.pipeline.run(good)

    def _rows(self, kept: list[Record], rejects: list[Record]) -> pa.RecordBatch:
        try:
            return given_rows(kept)
        except _UNCONVERTIBLE:
            # One bad record must not block the segment: find it, reject it, go on.
            return given_rows(self._without_unconvertible(kept, rejects))

    def _without_unconvertible(self, records: list[Record], rejects: list[Record]) -> list[Record]:
        """The records that convert; each other one is rejected with its own error."""
        good, bad = _split_unconvertible(records)
        rejects.extend(
            _loader_reject(RejectReason.LOAD_ERROR, f"not loadable: {exc}", self._shown(r), r)
            for r, exc in bad
        )
        return good

    def _shown(self, record: Record) -> str:
        """A rejected record as the `raw` text of its reject, its IP as privacy allows."""
        if record.get("ip"):
            record = {**record, "ip": self.enricher.conceal_ip(record["ip"])}
        return orjson.dumps(record, default=str).decode()

    def _insert(self, table: str, data, token: str) -> None:  # noqa: ANN001 (pyarrow.Table)
        started = time.perf_counter()
        try:
            self.store.insert_arrow(table, data, dedup_token=token, settings=INSERT_SETTINGS)
        except StoreError:
            self.metrics.inc("adtrack_clickhouse_errors_total")
            raise
        self.metrics.inc("adtrack_insert_seconds_total", value=time.perf_counter() - started)
        self.metrics.inc("adtrack_inserts_total")
        self.metrics.inc("adtrack_loaded_rows_total", (("table", table),), data.num_rows)

    # -- segments -------------------------------------------------------------------------
    def load_segment(self, segment: Segment) -> BatchResult:
        """Load one segment as a batch of its own."""
        return self.load_batch([segment])

    def load_batch(self, segments: list[Segment], lines: list[bytes] | None = None) -> BatchResult:
        """Load `segments` (whose records are `lines`, when the caller has read them) as one
        batch: named in the manifest, inserted in chunks of `batch_rows`, then deleted."""
        if lines is None:
            lines = _lines_of(segments)
        name = _batch_name(segments)
        self._write_manifest(name, segments)
        result = self._insert_batch(name, lines)
        self._finish(segments)
        return result

    def drain_once(self) -> int:
        """Load every ready segment (a batch the last run left unfinished first); returns
        how many segments were loaded."""
        loaded = self._replay_manifest()
        batch: list[Segment] = []
        lines: list[bytes] = []
        for segment in ready_segments(self.spool_root):
            if self._stop.is_set() and loaded:
                return loaded
            records = list(segment.read_records())
            # A batch takes whole segments up to `batch_rows` records (a bigger segment is a
            # batch of its own, inserted in chunks).
            if batch and len(lines) + len(records) > self.batch_rows:
                self.load_batch(batch, lines)
                loaded += len(batch)
                batch, lines = [], []
            batch.append(segment)
            lines.extend(records)
        if batch:
            self.load_batch(batch, lines)
            loaded += len(batch)
        return loaded

    def _insert_batch(self, name: str, lines: list[bytes]) -> BatchResult:
        events = rejects = 0
        for index, start in enumerate(range(0, len(lines), self.batch_rows)):
            result = self.load_lines(lines[start : start + self.batch_rows], f"{name}:{index}")
            events += result.events
            rejects += result.rejects
        return BatchResult(events, rejects)

    def _write_manifest(self, name: str, segments: list[Segment]) -> None:
        """Name the batch durably before its first insert: a replay must be the same batch
        (same records, same tokens), whatever segments have arrived since."""
        relative = [str(s.path.relative_to(self.spool_root)) for s in segments]
        body = orjson.dumps({"batch": name, "segments": relative})
        path = self.spool_root / BATCH_MANIFEST
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(self.spool_root)

    def _finish(self, segments: list[Segment]) -> None:
        for segment in segments:
            segment.done()
        (self.spool_root / BATCH_MANIFEST).unlink(missing_ok=True)

    def _replay_manifest(self) -> int:
        """Load the batch a crash left named but not finished, exactly as it was named: its
        segments that are still there (all of them, unless the crash came while deleting
        them), under its tokens. Returns how many of its segments were still there."""
        path = self.spool_root / BATCH_MANIFEST
        try:
            manifest = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return 0
        segments = [
            segment
            for relative in manifest["segments"]
            if (segment := Segment.at(self.spool_root / relative)).path.exists()
        ]
        if segments:
            log.info("loader: replaying batch %s (%d segments)", manifest["batch"], len(segments))
            self._insert_batch(manifest["batch"], _lines_of(segments))
        self._finish(segments)
        return len(segments)

    # -- background thread ----------------------------------------------------------------
    def start(self) -> Loader:
        self._thread = threading.Thread(target=self.run, name="loader", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Load until stopped. Several processes may run a loader on one spool (tracker
        workers on a ClickHouse server); the spool's loader lock lets exactly one work at a
        time, and another takes over when it dies."""
        delay = self.poll_s
        self._lower_priority()
        while not self._stop.is_set():
            if not self._owns_spool():
                self._stop.wait(1.0)
                continue
            try:
                loaded = self.drain_once()
                self.last_error = ""
                delay = self.poll_s
            except StoreError as exc:
                self.last_error = str(exc)
                log.warning("loader: ClickHouse unavailable, spool keeps growing: %s", exc)
                loaded = 0
                delay = min(max(delay * 2, 0.5), 5.0)
            except Exception as exc:  # noqa: BLE001 (keep loading; the segment stays)
                self.last_error = repr(exc)
                log.exception("loader: unexpected error")
                loaded = 0
                delay = min(max(delay * 2, 0.5), 5.0)
            if not loaded:
                self._stop.wait(delay)
        self._release_spool()

    def _lower_priority(self) -> None:
        """Yield the CPU to the edge when both want it: hits are answered first, and under
        overload the spool (durable) absorbs the difference until the load drops."""
        if self.nice <= 0:
            return
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        except (OSError, AttributeError):
            log.info("loader: could not lower its CPU priority")

    def _owns_spool(self) -> bool:
        if self._lock_fd >= 0:
            return True
        self.spool_root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.spool_root / LOADER_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _release_spool(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    @property
    def active(self) -> bool:
        return self._lock_fd >= 0

    def stop(self, drain: bool = True) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        if drain and self._owns_spool():
            try:
                self.drain_once()
            except StoreError as exc:
                log.warning("loader: segments left in the spool at shutdown: %s", exc)
        self._release_spool()


def _lines_of(segments: list[Segment]) -> list[bytes]:
    return [line for segment in segments for line in segment.read_records()]


def _batch_name(segments: list[Segment]) -> str:
    """Unique for ever: segment names never repeat (writer ids carry a pid and random bytes),
    and a segment is in one batch only. A batch of one is named as the segment itself."""
    if len(segments) == 1:
        return segments[0].name
    return f"{segments[0].name}+{len(segments) - 1}"


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cycle collector for one batch. A batch allocates a few hundred thousand
    objects that reference counting frees; collections triggered by them scan those and the
    loader's caches again and again (5% of the loader's time). Cycles made meanwhile, in
    any thread, wait for the next collection after the batch."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _loader_reject(reason: str, detail: str, raw: str, record: Record | None = None) -> Record:
    record = record or {}
    return {
        "reject": str(reason),
        "ts": record.get("ts") or now_ms(),
        "endpoint": "loader",
        "field": "",
        "detail": detail,
        "raw": raw[:4096],
        "site_key": record.get("site_key", ""),
        "ip": record.get("ip", ""),
        "user_agent": record.get("user_agent", ""),
    }


def _split_unconvertible(
    records: list[Record],
) -> tuple[list[Record], list[tuple[Record, Exception]]]:
    """The records that convert, and the others each with its own error."""
    good, bad = [], []
    for record in records:
        try:
            given_rows([record])
        except _UNCONVERTIBLE as exc:
            bad.append((record, exc))
        else:
            good.append(record)
    return good, bad
