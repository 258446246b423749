"""`adtrack demo`: a month of traffic through the real loader (bulk) and through a real
server's endpoints (http), checked in the store against the playbooks' figures.

Geo needs the real GeoLite2 City database (the demo's addresses come from its networks); it
is fetched once into <repo>/.cache/geoip, as tests/geo/test_geolite.py does.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import ipaddress
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.catalog import entities as catalog
from app.cli.demo import add_parser
from app.demo.bulk import BulkResult, StoreBusy, run_bulk
from app.demo.http import run_http
from app.demo.reference import Block, read_networks, read_user_agents
from app.demo.scenario import DEMO_WORLD, CatalogOps, World, ensure_world
from app.demo.traffic import Plan, Traffic
from app.geo.device import DeviceParser
from app.geo.geolite import GeoLookup
from app.geo.geolite_db import GeoFetchError, fetch_geolite
from app.settings import Settings, load_settings
from app.store.client import Store, open_store
from tests.support.cli import adtrack_here, copy_of
from tests.support.server import ADMIN_TOKEN, REPO, ServerProcess, free_port

GEOIP_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "geoip"
# A fixed period, so the tests do not depend on today: 14 days to local midnight 2026-11-20.
END_MS = int(datetime(2026, 11, 19, 16, tzinfo=UTC).timestamp() * 1000)
PLAN = Plan(days=14, events=40_000, seed=7, end_ms=END_MS)
INTENDED = {"unknown_link", "bad_signature", "duplicate_order"}


@pytest.fixture(scope="session")
def geolite_path() -> Path:
    try:
        return fetch_geolite(GEOIP_CACHE)
    except GeoFetchError as exc:
        # `make test` fetches it first; a missing database is a broken set-up, not a skip.
        pytest.fail(f"GeoLite2 database not available: {exc}")


def _settings(data_dir: Path, geo: Path) -> Settings:
    # A port nothing listens on: the "is a server holding the store?" probe must say no.
    return load_settings(data_dir=data_dir, geoip_db=geo, port=free_port(), admin_token="x")


@pytest.fixture(scope="module")
def bulk(
    tmp_path_factory: pytest.TempPathFactory, geolite_path: Path
) -> Iterator[tuple[BulkResult, Store, Settings]]:
    """One fortnight loaded into a fresh store; the tests below only read it (and rerun it)."""
    settings = _settings(tmp_path_factory.mktemp("demo") / "data", geolite_path)
    result = run_bulk(settings, PLAN, chunk_rows=15_000)
    store = open_store(settings.clickhouse_url)
    yield result, store, settings
    store.close()


def _one(store: Store, sql: str) -> Any:
    return store.query(sql)[0][0]


# -- reference data -------------------------------------------------------------------------
def test_every_network_resolves_to_its_region(geolite_path: Path) -> None:
    geo = GeoLookup.open(geolite_path)
    rng = random.Random(1)
    misses = []
    for (province, city), networks in read_networks().items():
        for block in networks.v4 + networks.v6:
            got = geo.lookup(block.host(rng))
            if (got.country_code, got.province, got.city) != ("CN", province, city):
                misses.append((province, city, got))
    total = sum(len(n.v4) + len(n.v6) for n in read_networks().values())
    # The database is updated now and then; a few moved networks must not break the demo.
    assert len(misses) <= total * 0.02, misses[:10]


def test_block_hosts_stay_inside_the_block() -> None:
    rng = random.Random(2)
    for cidr in ("1.24.0.0/16", "203.0.113.8/30", "240e:8d:e800::/38"):
        net = ipaddress.ip_network(cidr)
        block = Block.parse(cidr)
        for _ in range(200):
            assert ipaddress.ip_address(block.host(rng)) in net


def test_user_agents_parse_as_their_device_class() -> None:
    parser = DeviceParser()
    for agent in read_user_agents():
        device = parser.parse(agent.ua)
        assert device.device_type == agent.device, agent.ua
        assert device.browser, agent.ua


# -- the world ------------------------------------------------------------------------------
def _memory_ops() -> tuple[CatalogOps, dict[str, list[dict]]]:
    rows: dict[str, list[dict]] = {
        "advertisers": [], "campaigns": [], "sites": [], "links": [], "partners": []
    }  # fmt: skip

    def add(kind: str, entity: catalog.Entity) -> dict:
        rows[kind].append(entity.__dict__)
        return entity.__dict__

    ops = CatalogOps(
        advertisers=lambda: list(rows["advertisers"]),
        campaigns=lambda: list(rows["campaigns"]),
        sites=lambda: list(rows["sites"]),
        links=lambda: list(rows["links"]),
        partners=lambda: list(rows["partners"]),
        new_partner=lambda pid, name: add("partners", catalog.Partner(id=pid, name=name)),
        new_advertiser=lambda name: add("advertisers", catalog.new_advertiser(name)),
        new_campaign=lambda name, adv: add("campaigns", catalog.new_campaign(name, adv)),
        new_site=lambda n, p, d, c, o: add("sites", catalog.new_site(n, p, d, c, advertiser_id=o)),
        new_link=lambda cmp, site, url, pl, cr: add(
            "links", catalog.new_link(cmp, site, url, placement_id=pl, creative_id=cr)
        ),
    )
    return ops, rows


def offline_world() -> World:
    return ensure_world(_memory_ops()[0])


def test_world_spans_the_channel_taxonomy_and_is_created_once() -> None:
    ops, rows = _memory_ops()
    world = ensure_world(ops)
    channels = {s.channel for s in DEMO_WORLD.sites}
    assert {
        "national_portal",
        "search",
        "community",
        "ecommerce",
        "download",
        "game",
        "video",
        "literature",
        "campus",
        "internet_cafe",
        "local_portal",
    } <= channels
    assert len(world.slots) == len(rows["links"]) > 40
    # Every campaign × site × placement has its own link; landing URLs carry partner UTMs.
    assert len({(s.campaign.key, s.site.key, s.placement.id) for s in world.slots}) == len(
        world.slots
    )
    assert all("utm_source=" + s.site.partner in s.landing_url for s in world.slots)
    counts = {kind: len(items) for kind, items in rows.items()}
    again = ensure_world(ops)  # a second run finds everything and creates nothing
    assert {kind: len(items) for kind, items in rows.items()} == counts
    assert [s.code for s in again.slots] == [s.code for s in world.slots]


def test_same_seed_same_traffic_other_seed_other_traffic() -> None:
    plan = Plan(days=7, events=20_000, seed=3, end_ms=END_MS)

    def run(p: Plan, world: World) -> Counter:
        traffic = Traffic(world, p)
        for _ in traffic.days():
            pass
        return traffic.stats.by_type + Counter(traffic.stats.rejects)

    # Another world (other ids and codes) with the same seed: the same traffic.
    first = run(plan, offline_world())
    assert run(plan, offline_world()) == first
    assert run(Plan(days=7, events=20_000, seed=4, end_ms=END_MS), offline_world()) != first
    assert (
        17_000 < sum(first[t] for t in ("impression", "click", "visit", "event", "order")) < 23_000
    )


# -- bulk: the store after a fortnight ------------------------------------------------------
def test_bulk_loads_about_the_target_with_all_event_types(bulk) -> None:
    result, store, _ = bulk
    counts = dict(store.query("SELECT event_type, count() FROM events GROUP BY event_type"))
    assert set(counts) == {"impression", "click", "visit", "event", "order"}
    assert 0.85 * PLAN.events < sum(counts.values()) < 1.15 * PLAN.events
    assert sum(counts.values()) == result.loaded == result.stored
    days = _one(store, "SELECT uniqExact(toDate(ts, 'Asia/Shanghai')) FROM events")
    assert days == PLAN.days
    names = {
        r[0]
        for r in store.query("SELECT DISTINCT event_name FROM events WHERE event_type = 'event'")
    }
    assert {"signup", "login"} <= names


def test_bulk_rates_are_the_playbooks(bulk) -> None:
    _, store, _ = bulk
    impressions, clicks, orders, refunds = store.query(
        "SELECT countIf(event_type = 'impression'), countIf(event_type = 'click'), "
        "countIf(event_type = 'order' AND order_status = 'approved'), "
        "countIf(event_type = 'order' AND order_status = 'refunded') FROM events"
    )[0]
    assert 0.005 < clicks / impressions < 0.03
    assert 0.01 < orders / clicks < 0.08  # click-to-order: a few percent
    assert 0 < refunds < orders * 0.2
    by_channel = dict(
        store.query(
            "SELECT channel, countIf(event_type = 'click') / countIf(event_type = 'impression') "
            "FROM events WHERE channel NOT IN ('owned', '') GROUP BY channel"
        )
    )
    assert by_channel["search"] > 2 * by_channel["national_portal"]  # CTR varies by channel
    low, high, median = store.query(
        "SELECT min(amount), max(amount), median(amount) FROM events WHERE event_type = 'order'"
    )[0]
    assert low >= 5 and high <= 2000 and 20 <= median <= 200


def test_bulk_orders_and_visits_are_tied_to_their_clicks(bulk) -> None:
    _, store, _ = bulk
    orphans = _one(
        store,
        """
        SELECT count() FROM events
        WHERE event_type IN ('order', 'visit', 'event') AND click_id != ''
          AND click_id NOT IN (SELECT click_id FROM events WHERE event_type = 'click')""",
    )
    assert orphans == 0
    mismatched = _one(
        store,
        """
        SELECT count() FROM events AS o
        INNER JOIN (SELECT click_id, partner_id, link_code FROM events
                    WHERE event_type = 'click') AS c ON o.click_id = c.click_id
        WHERE o.event_type != 'click'
          AND (o.partner_id != c.partner_id OR o.link_code != c.link_code)""",
    )
    assert mismatched == 0
    # Click ids are <link code>-<random>, and most orders came through a click.
    assert (
        _one(
            store,
            "SELECT countIf(splitByChar('-', click_id)[1] != link_code) FROM events "
            "WHERE event_type = 'click'",
        )
        == 0
    )
    with_click, total = store.query(
        "SELECT countIf(click_id != ''), count() FROM events WHERE event_type = 'order'"
    )[0]
    assert with_click >= 0.8 * total
    assert (
        _one(
            store,
            "SELECT count() FROM events WHERE event_type = 'order' AND props['postback_ip'] != ''",
        )
        > 0
    )


def test_bulk_geo_devices_and_time_look_real(bulk) -> None:
    _, store, _ = bulk
    filled, humans = store.query(
        "SELECT countIf(province != ''), count() FROM events WHERE is_bot = 0"
    )[0]
    assert filled >= 0.9 * humans
    top = [
        r[0]
        for r in store.query(
            "SELECT province FROM events WHERE is_bot = 0 AND province != '' "
            "GROUP BY province ORDER BY count() DESC LIMIT 7"
        )
    ]
    assert {"广东", "北京市", "上海", "浙江省", "江苏省"} <= set(top)
    cities = {
        r[0]
        for r in store.query("SELECT DISTINCT city FROM events WHERE province = '内蒙古自治区'")
    }
    assert {"呼和浩特市", "包头市"} <= cities
    assert _one(store, "SELECT uniqExact(province) FROM events") >= 25
    browsers = {r[0] for r in store.query("SELECT DISTINCT browser FROM events")}
    assert {
        "WeChat",
        "QQ",
        "UC Browser",
        "Baidu App",
        "Mobile Safari",
        "Chrome",
        "Edge",
        "Baiduspider",
        "Bytespider",
        "Googlebot",
    } <= browsers
    bot_types = {
        r[0] for r in store.query("SELECT DISTINCT event_type FROM events WHERE is_bot = 1")
    }
    assert bot_types == {"impression", "visit"}
    hours = dict(
        store.query(
            "SELECT toHour(ts, 'Asia/Shanghai'), count() FROM events "
            "WHERE event_type = 'impression' GROUP BY 1"
        )
    )
    assert max(hours, key=hours.get) in (20, 21, 22)  # the evening peak
    assert hours[21] > 1.4 * hours[10] > 5 * hours[4]  # and quiet small hours
    weekday = dict(
        store.query(
            "SELECT toDayOfWeek(ts, 0, 'Asia/Shanghai'), countIf(event_type = 'impression') "
            "FROM events GROUP BY 1"
        )
    )
    assert weekday[6] == min(weekday.values())  # Saturday the weakest


def test_bulk_has_new_and_returning_visitors(bulk) -> None:
    _, store, _ = bulk
    returning, visitors = store.query("""
        SELECT countIf(days > 1), count() FROM (
            SELECT visitor_id, uniqExact(toDate(ts, 'Asia/Shanghai')) AS days FROM events
            WHERE event_type = 'visit' AND visitor_id != '' GROUP BY visitor_id)""")[0]
    assert 0.05 * visitors < returning < 0.5 * visitors


def test_bulk_funnel_runs_from_impression_to_order_and_referrals_spread(bulk) -> None:
    from datetime import date

    from app.attribution import funnel, funnel_steps, referral
    from app.attribution.filters import Filter

    _, store, _ = bulk
    flt = Filter(date(2026, 11, 6), date(2026, 11, 19))
    [row] = funnel.run(store, flt, funnel_steps.DEFAULT_STEPS).rows
    people = [f.entries for f in row.steps]  # impression → click → visit → order
    assert people[0] > people[1] > people[2] > people[3] > 0
    report = referral.referral_report(store, flt)
    assert report["shares"] > 0 and report["invitees"] > 0 and report["sharers"] > 0
    assert report["max_depth"] >= 1 and report["ignored"]["self_referrals"] == 0


def test_bulk_rejects_are_only_the_intended_ones(bulk) -> None:
    result, store, _ = bulk
    reasons = dict(store.query("SELECT reason, count() FROM rejects GROUP BY reason"))
    assert set(reasons) <= INTENDED
    assert sum(reasons.values()) == result.rejected
    assert reasons.get("duplicate_order", 0) == result.stats.reloads


def test_bulk_rerun_of_the_same_plan_adds_nothing(bulk) -> None:
    result, store, settings = bulk
    before = _one(store, "SELECT count() FROM events")
    again = run_bulk(settings, PLAN, chunk_rows=15_000, store=store)
    assert again.stats.by_type == result.stats.by_type
    assert again.stored == 0
    assert _one(store, "SELECT count() FROM events") == before


def _bulk_elsewhere(
    data_dirs: list[Path], geo: Path, plan: Plan = PLAN, chunk_rows: int = 15_000
) -> list[dict[str, Any]]:
    """run_bulk of `plan` into each data dir, each in a child process of its own (run side by
    side): chDB admits one data dir per process, and this one's is the module's store."""
    code = (
        "import json, sys; from pathlib import Path\n"
        "from app.demo.bulk import StoreBusy, run_bulk\n"
        "from app.demo.traffic import Plan\n"
        "from app.settings import load_settings\n"
        "d, geo, port, plan, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), "
        "json.loads(sys.argv[4]), int(sys.argv[5])\n"
        "settings = load_settings(data_dir=Path(d), geoip_db=Path(geo), port=port)\n"
        "try:\n"
        "    r = run_bulk(settings, Plan(**plan), chunk_rows=rows)\n"
        "except StoreBusy as exc:\n"
        "    print(json.dumps({'error': str(exc)})); sys.exit(0)\n"
        "print(json.dumps({'loaded': r.loaded, 'rejected': r.rejected,\n"
        "                  'by_type': dict(r.stats.by_type)}))\n"
    )
    fields = {"days": plan.days, "events": plan.events, "seed": plan.seed, "end_ms": plan.end_ms}
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                str(data_dir),
                str(geo),
                str(free_port()),
                json.dumps(fields),
                str(chunk_rows),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for data_dir in data_dirs
    ]
    answers = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


def test_bulk_same_seed_fresh_store_same_counts(
    tmp_path: Path, geolite_path: Path, migrated_template: Path
) -> None:
    # Two processes, each on an empty store of its own: the same seed gives the same counts.
    # A few thousand events in chunks, among them both kinds of orders and an edge reject.
    events = 3000
    plan = Plan(days=2, events=events, seed=_seed_with_orders(events, rejects=True), end_ms=END_MS)
    stores = [copy_of(migrated_template, tmp_path / name) for name in ("a", "b")]
    first, second = _bulk_elsewhere(stores, geolite_path, plan, chunk_rows=1000)
    assert first == second
    assert set(first["by_type"]) == {"impression", "click", "visit", "event", "order"}
    assert first["rejected"] > 0 and first["loaded"] > 0.85 * events


# -- http: through a real server ------------------------------------------------------------
def _seed_with_orders(events: int, *, rejects: bool = False, end_ms: int = END_MS) -> int:
    """The first seed whose two days of traffic have both kinds of orders (and edge rejects,
    if asked for): generation only, no store."""
    world = offline_world()
    for seed in range(200):
        traffic = Traffic(world, Plan(days=2, events=events, seed=seed, end_ms=end_ms))
        records = [r for day, _ in traffic.days() for r in day if r["event_type"] == "order"]
        if (
            any(r.get("_src") for r in records)
            and any(not r.get("_src") for r in records)
            and (traffic.stats.rejects or not rejects)
        ):
            return seed
    raise AssertionError("no seed gives orders")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geolite_path: Path) -> Iterator[ServerProcess]:
    """One server on the real GeoLite2 database: the http demo's target, and the holder of
    the store that bulk must refuse (which writes nothing to it)."""
    env = {"ADTRACK_GEOIP_DB": str(geolite_path), "ADTRACK_DEMO_CLOCK": "true"}
    proc = ServerProcess(tmp_path_factory.mktemp("demo-server") / "data", env).start()
    yield proc
    proc.stop()


def _local_midnight_ms(now: datetime | None = None) -> int:
    """The start of today in UTC+8 (the demo's days): the end of a period of whole days
    before now, which the server's demo clock accepts (never the future)."""
    local = (now or datetime.now(UTC)) + timedelta(hours=8)
    midnight = datetime(local.year, local.month, local.day, tzinfo=UTC) - timedelta(hours=8)
    return int(midnight.timestamp() * 1000)


def test_http_mode_through_a_real_server(server: ServerProcess) -> None:
    events = 1500
    end_ms = _local_midnight_ms()
    seed = _seed_with_orders(events, end_ms=end_ms)
    plan = Plan(days=2, events=events, seed=seed, end_ms=end_ms)
    result = run_http(server.base_url, ADMIN_TOKEN, plan, concurrency=8, rate=0)
    stats = result.stats
    assert not result.failed and not result.warning
    # The demo clock: every event on its own day of the period, both days full, none today.
    days = [_local_day(plan.start_ms + i * 86_400_000) for i in range(plan.days + 1)]
    with server.admin() as http:
        answers = [
            http.get("/api/v1/stats/traffic", params={"start": d, "end": d, "include_bots": True})
            for d in days
        ]
    impressions = [sum(r["impressions"] for r in a.json()["rows"]) for a in answers]
    assert impressions[-1] == 0  # today, after the period
    assert all(n > 0.2 * stats.by_type["impression"] for n in impressions[:-1]), impressions
    assert sum(impressions) == stats.by_type["impression"]
    expected = stats.events - stats.reloads
    rows = server.wait_events(1000)  # the API's page limit; the totals come from the status
    status = server.wait_drained()
    loaded = status["events_by_type"]
    assert sum(loaded.values()) == expected
    assert loaded["order"] == stats.by_type["order"] - stats.reloads
    assert set(loaded) == {"impression", "click", "visit", "event", "order"}
    # Geo from X-Forwarded-For (the fixture's server trusts loopback), device from the UA.
    humans = [r for r in rows if not r["is_bot"]]
    assert sum(1 for r in humans if r["province"]) >= 0.9 * len(humans)
    assert {r["device_type"] for r in rows} >= {"mobile", "desktop"}
    # Postbacks were signed with the advertiser's secret and accepted, tied to the click.
    orders = server.events(event_type="order")
    by_postback = [o for o in orders if "postback_ip" in (o["props"] or {})]
    assert len(by_postback) == stats.postbacks > 0
    clicks = {c["click_id"]: c for c in server.events(event_type="click")}
    for order in orders:
        if order["click_id"]:
            click = clicks[order["click_id"]]
            assert (order["partner_id"], order["link_code"]) == (
                click["partner_id"],
                click["link_code"],
            )
    rejects = server.rejects()["by_reason"]
    assert set(rejects) <= INTENDED
    assert sum(rejects.values()) == result.intended_rejects + stats.reloads


# The demo clock's wire contract (app/tracker/demo_clock.py), spelt out.
TIME_HEADER, KEY_HEADER = "X-Adtrack-Demo-Time", "X-Adtrack-Demo-Key"


def demo_key(admin_token: str) -> str:
    return hmac.new(admin_token.encode(), b"adtrack demo clock v1", hashlib.sha256).hexdigest()


def _local_day(ms: int) -> str:
    return (datetime.fromtimestamp(ms / 1000, UTC) + timedelta(hours=8)).date().isoformat()


def _pixel_time(server: ServerProcess, site: str, visitor: str, headers: dict[str, str]) -> int:
    """A pixel hit's stored time (epoch ms) for these request headers."""
    with server.client() as http:
        assert http.get("/p.gif", params={"s": site, "vid": visitor}, headers=headers).is_success
    [row] = server.wait_events(1, visitor_id=visitor)
    return int(datetime.fromisoformat(row["ts"]).replace(tzinfo=UTC).timestamp() * 1000)


def _demo_site(server: ServerProcess) -> str:
    with server.admin() as http:
        return http.get("/api/v1/sites").json()[0]["site_key"]


def test_the_demo_clock_takes_a_time_only_with_the_key_and_within_bounds(
    server: ServerProcess, make_server
) -> None:
    site = _demo_site(server)
    now = int(time.time() * 1000)
    two_days_ago = now - 2 * 86_400_000
    key = demo_key(ADMIN_TOKEN)
    cases = {
        "ordinary": {TIME_HEADER: str(two_days_ago)},  # a page sending a time: ignored
        "wrong-key": {TIME_HEADER: str(two_days_ago), KEY_HEADER: demo_key("guessed")},
        "the-token": {TIME_HEADER: str(two_days_ago), KEY_HEADER: ADMIN_TOKEN},
        "too-old": {TIME_HEADER: str(now - 91 * 86_400_000), KEY_HEADER: key},
        "future": {TIME_HEADER: str(now + 3_600_000), KEY_HEADER: key},
        "not-a-time": {TIME_HEADER: "yesterday", KEY_HEADER: key},
    }
    for visitor, headers in cases.items():
        before = int(time.time() * 1000)
        stored = _pixel_time(server, site, f"clock-{visitor}", headers)
        assert before - 1000 <= stored <= int(time.time() * 1000), visitor  # arrival time
    assert _pixel_time(server, site, "clock-demo", {TIME_HEADER: str(two_days_ago),
                                                    KEY_HEADER: key}) == two_days_ago  # fmt: skip
    # A server without ADTRACK_DEMO_CLOCK takes no time even with the key.
    plain = make_server()
    plain_site = plain.seed()["site"]["site_key"]
    headers = {TIME_HEADER: str(two_days_ago), KEY_HEADER: key}
    assert _pixel_time(plain, plain_site, "clock-off", headers) > two_days_ago + 86_400_000


def test_http_mode_refuses_a_period_the_demo_clock_would_not_take() -> None:
    from app.demo.http import check_period

    now = int(time.time() * 1000)
    assert check_period(Plan(days=30, events=1, seed=1, end_ms=now - 3_600_000), now) == ""
    assert check_period(Plan(days=2, events=1, seed=1, end_ms=now + 3_600_000), now).startswith(
        "end:"
    )
    assert check_period(Plan(days=95, events=1, seed=1, end_ms=now), now).startswith("days:")
    # The command refuses before any request (no server listens on this port).
    env = {"ADTRACK_PORT": str(free_port()), "ADTRACK_ADMIN_TOKEN": "x"}
    ahead = adtrack_here(env, "demo", "--mode", "http", "--end", "2999-01-01")
    assert (ahead.returncode, "--end" in ahead.stderr) == (2, True), ahead.stderr
    too_long = adtrack_here(env, "demo", "--mode", "http", "--days", "120")
    assert (too_long.returncode, "--days" in too_long.stderr) == (2, True), too_long.stderr


def test_bulk_refuses_while_a_server_holds_the_store(
    server: ServerProcess, geolite_path: Path
) -> None:
    settings = load_settings(data_dir=server.data_dir, geoip_db=geolite_path, port=server.port)
    with pytest.raises(StoreBusy, match="--mode http"):
        run_bulk(settings, PLAN)
    # Even when the probe misses it (another port), the engine's own lock refuses.
    [answer] = _bulk_elsewhere([server.data_dir], geolite_path)
    assert "server holds it" in answer["error"]


def test_cli_registers_demo_with_its_options() -> None:
    parser = argparse.ArgumentParser(prog="adtrack")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "demo",
            "--mode",
            "http",
            "--events",
            "5,000",
            "--seed",
            "9",
            "--end",
            "2026-11-20T00:00:00+08:00",
        ]
    )
    assert (args.mode, args.events, args.seed, args.days) == ("http", 5000, 9, 30)
    assert args.end == END_MS
    defaults = parser.parse_args(["demo"])
    assert (defaults.mode, defaults.events, defaults.end) == ("bulk", None, 0)
    assert callable(defaults.func)
