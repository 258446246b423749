"""The loader against the embedded engine: replays are not double counted, outages lose
nothing, malformed records never reach `events`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.catalog import entities as catalog
from app.catalog import rows as catalog_rows
from app.catalog.cache import CatalogCache
from app.ingest.loader import BATCH_MANIFEST, Loader, build_enricher
from app.ingest.record import EventIds, dumps, now_ms, reject
from app.ingest.spool import Segment, SpoolWriter, ready_segments
from app.metrics import Metrics
from app.settings import load_settings
from app.store.client import StoreError, open_store
from app.store.migrate import migrate


@pytest.fixture
def env(tmp_path, geo_db):
    settings = load_settings(data_dir=tmp_path, geoip_db=geo_db[0])
    store = open_store(settings.clickhouse_url)
    migrate(store)
    site = catalog_rows.save(store, catalog.new_site("Portal", "p1", "portal.example", "portal"))
    cache = CatalogCache(store)
    cache.refresh()
    loader = Loader(store, build_enricher(settings, cache, store), Metrics(), settings.spool_dir)
    yield settings, store, loader, site.site_key
    store.close()


def _spool(settings, records: list[dict]) -> None:
    writer = SpoolWriter(settings.spool_dir, fsync_ms=1000, segment_ms=60_000).open()
    for record in records:
        writer.append(dumps(record))
    writer.close()


def _hits(site_key: str, n: int, **extra) -> list[dict]:
    ids = EventIds()
    return [
        {
            "event_id": ids.next(),
            "event_type": "impression",
            "ts": now_ms(),
            "site_key": site_key,
            "ip": "202.106.0.20",
            "user_agent": "",
            **extra,
        }
        for _ in range(n)
    ]


def _count(store, table: str = "events") -> int:
    return store.query(f"SELECT count() FROM {table}")[0][0]


def test_a_replayed_segment_is_not_counted_twice(env, tmp_path):
    settings, store, loader, site = env
    _spool(settings, _hits(site, 250))
    [segment] = ready_segments(settings.spool_dir)
    backup = tmp_path / "copy"
    shutil.copy(segment.path, backup)
    loader.load_segment(segment)
    assert _count(store) == 250
    # A crash between the insert and the delete: the same segment comes back.
    shutil.copy(backup, segment.path)
    assert loader.drain_once() == 1
    assert _count(store) == 250
    assert store.query("SELECT uniqExact(event_id) FROM events")[0][0] == 250
    assert ready_segments(settings.spool_dir) == []
    # The rollups' materialized views skip the replayed insert too.
    for table in ("daily_counts", "daily_source_counts", "daily_audience_counts"):
        assert store.query(f"SELECT sum(events) FROM {table}")[0][0] == 250, table


def test_chunks_of_a_big_segment_each_dedup(env, tmp_path):
    settings, store, loader, site = env
    loader.batch_rows = 100
    _spool(settings, _hits(site, 350))
    [segment] = ready_segments(settings.spool_dir)
    backup = tmp_path / "copy"
    shutil.copy(segment.path, backup)
    loader.load_segment(segment)
    shutil.copy(backup, segment.path)
    loader.drain_once()
    assert _count(store) == 350
    assert store.query("SELECT sum(events) FROM daily_source_counts")[0][0] == 350


def _inserts(loader) -> int:
    """Inserts into `events` and `rejects` so far, as /metrics shows them."""
    for line in loader.metrics.render().splitlines():
        if line.startswith("adtrack_inserts_total "):
            return int(float(line.split()[1]))
    return 0


def test_small_segments_are_loaded_as_one_insert(env):
    settings, store, loader, site = env
    for n in (30, 40, 50):
        _spool(settings, _hits(site, n))
    assert loader.drain_once() == 3
    assert _count(store) == 120 and _inserts(loader) == 1
    assert not (settings.spool_dir / BATCH_MANIFEST).exists()
    # A batch takes whole segments while they fit in batch_rows: 20 + 20, then 40.
    loader.batch_rows = 50
    for n in (20, 20, 40):
        _spool(settings, _hits(site, n))
    assert loader.drain_once() == 3
    assert _count(store) == 200 and _inserts(loader) == 3


class _Crash(Exception):
    pass


def test_a_batch_cut_short_by_a_crash_is_replayed_as_it_was(env, monkeypatch):
    """A crash after a batch's insert, before its segments were deleted; more segments arrive
    before the restart. The restarted loader replays the named batch under its own tokens
    (ClickHouse drops it), then loads the new ones: nothing lost, nothing counted twice."""
    settings, store, loader, site = env
    for n in (10, 20, 30):
        _spool(settings, _hits(site, n))

    def crash(self):
        raise _Crash

    monkeypatch.setattr(Segment, "done", crash)
    with pytest.raises(_Crash):
        loader.drain_once()
    monkeypatch.undo()
    assert _count(store) == 60 and (settings.spool_dir / BATCH_MANIFEST).exists()
    _spool(settings, _hits(site, 5))
    _spool(settings, _hits(site, 7))
    restarted = Loader(store, loader.enricher, Metrics(), settings.spool_dir)
    assert restarted.drain_once() == 5
    assert _count(store) == 72
    assert store.query("SELECT uniqExact(event_id) FROM events")[0][0] == 72
    assert store.query("SELECT sum(events) FROM daily_counts")[0][0] == 72
    assert ready_segments(settings.spool_dir) == []
    assert not (settings.spool_dir / BATCH_MANIFEST).exists()


def test_a_crash_while_deleting_a_batch_replays_what_is_left(env, monkeypatch):
    settings, store, loader, site = env
    for n in (10, 20, 30):
        _spool(settings, _hits(site, n))
    deleted = []
    real_done = Segment.done

    def crash_on_second(self):
        if deleted:
            raise _Crash
        deleted.append(self)
        real_done(self)

    monkeypatch.setattr(Segment, "done", crash_on_second)
    with pytest.raises(_Crash):
        loader.drain_once()
    monkeypatch.undo()
    assert len(ready_segments(settings.spool_dir)) == 2
    restarted = Loader(store, loader.enricher, Metrics(), settings.spool_dir)
    assert restarted.drain_once() == 2
    assert _count(store) == 60
    assert ready_segments(settings.spool_dir) == []


class _DownStore:
    """A store whose server is unreachable (every call fails like a refused connection)."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise StoreError("connection refused")

        return fail


def test_store_outage_keeps_segments_until_it_recovers(env):
    settings, store, loader, site = env
    _spool(settings, _hits(site, 40))
    real_store = loader.store
    loader.store = _DownStore()
    loader.enricher.orders._store = loader.store
    with pytest.raises(StoreError):
        loader.drain_once()
    assert len(ready_segments(settings.spool_dir)) == 1  # nothing deleted
    loader.store = real_store
    loader.enricher.orders._store = real_store
    assert loader.drain_once() == 1
    assert _count(store) == 40


def test_real_unreachable_server_maps_to_store_error():
    with pytest.raises(StoreError):
        open_store("http://127.0.0.1:9")


def test_malformed_records_go_to_rejects_not_events(env):
    settings, store, loader, site = env
    good = _hits(site, 3)
    bad_amount = {**_hits(site, 1)[0], "event_type": "order", "order_id": "o", "amount": "abc"}
    # Shapes the edge never writes, which would make an enrichment step raise: each is
    # rejected on its own, and the slice's other records load.
    misshapen = [
        {**_hits(site, 1)[0], "event_type": "visit", "url": 5},
        {**_hits(site, 1)[0], "event_type": "visit", "click_id": ["L1-x"]},
        {**_hits(site, 1)[0], "event_type": "order", "order_id": {"id": 1}},
        {**_hits(site, 1)[0], "site_key": ["x"]},
    ]
    _spool(settings, good + [bad_amount, *misshapen, *_hits(site, 2)])
    writer = SpoolWriter(settings.spool_dir, fsync_ms=1000, segment_ms=60_000).open()
    writer.append(b"this is not json\n")
    writer.close()
    assert loader.drain_once() == 2
    assert _count(store) == 5
    reasons = dict(store.query("SELECT reason, count() FROM rejects GROUP BY reason"))
    assert reasons == {"load_error": 6}
    assert ready_segments(settings.spool_dir) == []


def test_orders_are_deduplicated_within_and_across_batches(env):
    settings, store, loader, site = env
    order = {
        "event_type": "order",
        "order_id": "o-1",
        "order_status": "approved",
        "amount": "10.00",
        "currency": "CNY",
    }
    _spool(settings, _hits(site, 2, **order))
    loader.drain_once()
    _spool(settings, _hits(site, 1, **order) + _hits(site, 1, **{**order, "order_id": "o-2"}))
    loader.drain_once()
    assert sorted(r[0] for r in store.query("SELECT order_id FROM events")) == ["o-1", "o-2"]
    assert dict(store.query("SELECT reason, count() FROM rejects GROUP BY reason")) == {
        "duplicate_order": 2
    }


def test_truncated_ips_hold_for_rejects_too(tmp_path, geo_db):
    """With ADTRACK_IP_PRIVACY=truncate no full address is stored: not in events, not in a
    reject's `ip`, not in the `raw` JSON of a rejected record."""
    settings = load_settings(data_dir=tmp_path, geoip_db=geo_db[0], ip_privacy="truncate")
    store = open_store(settings.clickhouse_url)
    try:
        migrate(store)
        site = catalog_rows.save(
            store, catalog.new_site("Portal", "p1", "portal.example", "portal")
        )
        cache = CatalogCache(store)
        cache.refresh()
        loader = Loader(
            store, build_enricher(settings, cache, store), Metrics(), settings.spool_dir
        )
        order = {"event_type": "order", "order_id": "o-1", "amount": "10.00"}
        hits = _hits(site.site_key, 2, **order)  # the second is a duplicate: dropped
        bad = {**_hits(site.site_key, 1)[0], "url": 5}  # not loadable
        edge = reject("unknown_site", endpoint="/p.gif", raw=b"s=x", ip="202.106.0.20")
        _spool(settings, [*hits, bad, edge])
        loader.drain_once()
        rejects = store.query("SELECT reason, ip, raw FROM rejects ORDER BY reason")
        events = store.query("SELECT ip, province FROM events")
    finally:
        store.close()
    assert [r[0] for r in rejects] == ["duplicate_order", "load_error", "unknown_site"]
    assert {r[1] for r in rejects} == {"202.106.0.0"}
    assert all("202.106.0.20" not in r[2] for r in rejects)
    assert '"ip":"202.106.0.0"' in rejects[0][2]
    assert events == [("202.106.0.0", "北京市")]


def test_visit_with_click_id_inherits_the_click_source(env):
    settings, store, loader, site = env
    partner_site = catalog_rows.save(store, catalog.new_site("Game", "gamer", "g.example", "game"))
    cache_sites = CatalogCache(store)
    cache_sites.refresh()
    loader.enricher = build_enricher(settings, cache_sites, store)
    click = {
        **_hits(partner_site.site_key, 1)[0],
        "event_type": "click",
        "click_id": "L1-x",
        "campaign_id": "cmp_1",
        "link_code": "L1",
        "placement_id": "top",
    }
    _spool(settings, [click])
    loader.drain_once()
    # A later batch, a fresh loader (restart): the click is found in the store.
    loader.enricher = build_enricher(settings, cache_sites, store)
    visit = {**_hits(site, 1)[0], "event_type": "visit", "click_id": "L1-x"}
    _spool(settings, [visit])
    loader.drain_once()
    row = store.query_dicts(
        "SELECT site_key, partner_id, channel, campaign_id, link_code, "
        "placement_id FROM events WHERE event_type = 'visit'"
    )[0]
    assert row == {
        "site_key": site,
        "partner_id": "gamer",
        "channel": "game",
        "campaign_id": "cmp_1",
        "link_code": "L1",
        "placement_id": "top",
    }


def test_settings_reject_bad_configuration(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        load_settings(data_dir=tmp_path, clickhouse_url="mysql://x")
    with pytest.raises(ValidationError):
        load_settings(data_dir=tmp_path, trusted_proxies="not-an-ip")
    with pytest.raises(ValidationError):
        load_settings(data_dir=tmp_path, ip_privacy="hash")
    assert Path(load_settings(data_dir=tmp_path).clickhouse_url[len("chdb://") :]).name == (
        "clickhouse"
    )


def test_only_one_loader_owns_a_spool_and_another_takes_over(env):
    import time as _time

    settings, store, first, site = env
    second = Loader(store, first.enricher, Metrics(), settings.spool_dir, poll_ms=20)
    first.poll_s = 0.02
    first.start()
    deadline = _time.monotonic() + 5
    while not first.active and _time.monotonic() < deadline:
        _time.sleep(0.01)
    second.start()
    _spool(settings, _hits(site, 10))
    deadline = _time.monotonic() + 5
    while _count(store) < 10 and _time.monotonic() < deadline:
        _time.sleep(0.02)
    assert first.active and not second.active
    first.stop(drain=False)  # the owner goes away: the other takes the spool over
    _spool(settings, _hits(site, 5))
    deadline = _time.monotonic() + 10
    while _count(store) < 15 and _time.monotonic() < deadline:
        _time.sleep(0.05)
    assert second.active
    assert _count(store) == 15
    second.stop()


def test_a_batch_pauses_the_cycle_collector_and_leaves_the_callers_records(env):
    import gc

    settings, store, loader, site = env
    hits = _hits(site, 3)
    seen = []
    loader.enricher.pipeline.steps.append(("probe", lambda rs: seen.append(gc.isenabled()) or ()))
    assert loader.load_records(hits, [], "t:1").events == 3
    assert seen == [False] and gc.isenabled()
    assert all(isinstance(hit, dict) for hit in hits)  # the caller's list is not consumed
    gc.disable()
    try:
        loader.load_records(_hits(site, 1), [], "t:2")
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
    assert _count(store) == 4
