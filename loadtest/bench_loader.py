"""Loader benchmark: spool segments -> enrichment -> Arrow -> embedded ClickHouse, on one core.

    .venv/bin/python loadtest/bench_loader.py [--events 500000] [--segment-mb 16]

Generates realistic spool records (impressions, clicks, visits on the advertiser's landing
page, postback orders; Chinese carrier IPs; a few thousand distinct real-looking user agents,
bots included) into spool segment files the way the edge writes them, then, pinned to core 0:

  (a) end to end: `Loader.drain_once` over the spool, as the running loader does (segments
      batched up to --batch-rows records; read, JSON parse, enrichment steps, Arrow build,
      insert) into a fresh embedded store;
  (b) insert alone: `Store.insert_arrow` of the Arrow tables the loader inserted in (a),
      kept, into `events` emptied first.

Reports events/s for each, per second of the process's CPU (all threads: the loader and
chDB's insert and merge threads) and of the loader thread's own CPU; the per-step enrichment
seconds from the pipeline, and the other stages (timed by wrapping the loader's calls from
here; nothing in app/ is changed), by wall clock or, with `--clock thread`, by the loader
thread's CPU time (steadier on a shared machine). Writes
loadtest/results/loader-<timestamp>.json. Targets: >= 50k events/s per core end to end,
>= 200k events/s for the insert alone.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "loadtest" / "results"
GEOIP = REPO / ".cache" / "geoip" / "GeoLite2-City.mmdb"
TARGET_END_TO_END = 50_000
TARGET_INSERT = 200_000

# Carrier and regional blocks in mainland China (China Mobile, Unicom, Telecom; Inner
# Mongolia weighted up, since that is where the portals are).
CN_BLOCKS = [
    ("1.24.0.0/13", 4),
    ("110.16.0.0/14", 4),
    ("116.112.0.0/14", 4),
    ("222.74.0.0/16", 3),
    ("39.128.0.0/10", 3),
    ("111.0.0.0/10", 3),
    ("117.128.0.0/10", 3),
    ("120.192.0.0/10", 2),
    ("183.0.0.0/10", 2),
    ("112.0.0.0/10", 2),
    ("223.64.0.0/11", 2),
    ("36.96.0.0/11", 2),
    ("14.16.0.0/12", 1),
    ("27.8.0.0/13", 1),
    ("58.16.0.0/13", 1),
    ("60.0.0.0/11", 1),
    ("61.128.0.0/10", 1),
    ("113.0.0.0/13", 1),
    ("114.80.0.0/12", 1),
    ("115.192.0.0/11", 1),
    ("123.112.0.0/12", 1),
    ("125.64.0.0/11", 1),
    ("180.96.0.0/11", 1),
    ("218.0.0.0/11", 1),
]

ANDROID_MODELS = [
    "V2227A",
    "V2199A",
    "PGT-AN10",
    "NOH-AN00",
    "ANA-AN00",
    "M2012K11AC",
    "22081212C",
    "2211133C",
    "PHB110",
    "PFZM10",
    "RMX3350",
    "SM-S9080",
    "LIO-AN00",
    "JAD-AL50",
    "ALN-AL00",
    "CDY-AN90",
    "V2301A",
    "PJD110",
    "23049RAD8C",
    "MI 9",
]
IOS_VERSIONS = ["15_7", "16_1_2", "16_6", "17_0_3", "17_2_1", "17_5", "18_0", "18_1"]
ANDROID_VERSIONS = ["10", "11", "12", "13", "14"]


def user_agents(rng: random.Random, count: int) -> list[str]:
    """A few thousand distinct, real-looking UAs: in-app browsers, vendors', desktop, bots."""
    out: list[str] = []
    for _ in range(count):
        kind = rng.random()
        android = rng.choice(ANDROID_VERSIONS)
        model = rng.choice(ANDROID_MODELS)
        chrome = f"{rng.randint(86, 126)}.0.{rng.randint(4000, 6500)}.{rng.randint(10, 200)}"
        ios = rng.choice(IOS_VERSIONS)
        if kind < 0.30:  # WeChat on Android
            out.append(
                f"Mozilla/5.0 (Linux; Android {android}; {model} Build/TP1A.220624.014; wv) "
                f"AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{chrome} "
                f"Mobile Safari/537.36 XWEB/{rng.randint(1100, 1300)}0 MMWEBSDK/20240301 "
                f"MMWEBID/{rng.randint(1000, 9999)} MicroMessenger/8.0.{rng.randint(30, 50)}."
                f"{rng.randint(2000, 2600)}(0x28003{rng.randint(100, 999)}) WeChat/arm64 "
                "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
            )
        elif kind < 0.45:  # WeChat on iOS
            out.append(
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
                f"(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.{rng.randint(30, 50)}"
                f"(0x1800{rng.randint(1000, 9999)}) NetType/4G Language/zh_CN"
            )
        elif kind < 0.55:  # Vendor browsers
            vendor = rng.choice(
                [
                    "VivoBrowser/14.6.1.0",
                    "HeyTapBrowser/40.8.26.1",
                    "XiaoMi/MiuiBrowser/18.1.30305",
                    "HuaweiBrowser/14.0.6.302",
                ]
            )
            out.append(
                f"Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36 (KHTML, "
                f"like Gecko) Version/4.0 Chrome/{chrome} Mobile Safari/537.36 {vendor}"
            )
        elif kind < 0.63:  # Baidu app
            out.append(
                f"Mozilla/5.0 (Linux; Android {android}; {model} Build/SP1A.210812.016; wv) "
                f"AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{chrome} Mobile "
                f"Safari/537.36 T7/13.{rng.randint(30, 60)} SP-engine/2.{rng.randint(60, 90)}.0 "
                f"baiduboxapp/13.{rng.randint(30, 60)}.0.10 (Baidu; P1 {android})"
            )
        elif kind < 0.70:  # UC / QQ browser
            out.append(
                f"Mozilla/5.0 (Linux; U; Android {android}; zh-CN; {model} Build/TP1A.220624.014)"
                f" AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{chrome} "
                f"{rng.choice(['UCBrowser/16.4.2.1232', 'MQQBrowser/14.6'])} Mobile Safari/537.36"
            )
        elif kind < 0.80:  # Safari on iPhone
            out.append(
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
                f"(KHTML, like Gecko) Version/{ios.split('_')[0]}.0 Mobile/15E148 Safari/604.1"
            )
        elif kind < 0.93:  # Desktop: Chrome, Edge, 360
            suffix = rng.choice(["", f" Edg/{chrome}", " QIHU 360SE", " SE 2.X MetaSr 1.0"])
            out.append(
                f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                f"Gecko) Chrome/{chrome} Safari/537.36{suffix}"
            )
        elif kind < 0.97:  # Mac
            out.append(
                f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                f"(KHTML, like Gecko) Version/17.{rng.randint(0, 6)} Safari/605.1.15"
            )
        else:  # crawlers
            out.append(
                rng.choice(
                    [
                        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
                        "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
                        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) "
                        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile "
                        "Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                        "Mozilla/5.0 (compatible; YisouSpider/5.0; +http://www.yisou.com/help.html)",
                    ]
                )
            )
    return out


def chinese_ips(rng: random.Random, count: int) -> list[str]:
    nets = [ipaddress.ip_network(cidr) for cidr, _ in CN_BLOCKS]
    weights = [w for _, w in CN_BLOCKS]
    out = []
    for net in rng.choices(nets, weights=weights, k=count):
        out.append(str(net.network_address + rng.randrange(1, net.num_addresses - 1)))
    return out


# -- catalog and records ----------------------------------------------------------------
def seed_catalog(store: Any, rng: random.Random) -> dict[str, Any]:
    from app.catalog import entities as cat
    from app.catalog import rows as catalog_rows

    advertisers = [
        catalog_rows.save(store, cat.new_advertiser(n))
        for n in ("China Mobile Inner Mongolia", "Yili Dairy Shop", "Mengniu Online")
    ]
    campaigns = [
        catalog_rows.save(store, cat.new_campaign(f"Campaign {i}", rng.choice(advertisers).id))
        for i in range(12)
    ]
    channels = ["local_portal", "news", "gov_service", "classifieds", "video"]
    sites = [
        catalog_rows.save(
            store,
            cat.new_site(
                f"Portal {i}",
                f"partner-{i % 8}",
                f"portal{i}.example.cn",
                channels[i % len(channels)],
            ),
        )
        for i in range(30)
    ]
    landing = catalog_rows.save(
        store, cat.new_site("Advertiser shop", "advertiser", "shop.example.cn", "owned")
    )
    links = [
        catalog_rows.save(
            store,
            cat.new_link(
                c.id,
                rng.choice(sites).site_key,
                f"https://shop.example.cn/promo/{i}?from=portal",
                placement_id=rng.choice(["home-banner", "article-inline", "sidebar", "feed-3"]),
                creative_id=rng.choice(
                    ["banner-300x250", "banner-728x90", "native-card", "video-6s"]
                ),
            ),
        )
        for i, c in enumerate(campaigns * 5)
    ]
    return {
        "advertisers": advertisers,
        "campaigns": campaigns,
        "sites": sites,
        "landing_site": landing,
        "links": links,
    }


class RecordFactory:
    """Spool records shaped as the edge writes them (see app/tracker/hit_app.py)."""

    def __init__(self, catalog: dict[str, Any], rng: random.Random, visitors: int) -> None:
        from app.ingest.record import EventIds

        self.cat = catalog
        self.rng = rng
        self.ids = EventIds()
        uas = user_agents(rng, 4000)
        ips = chinese_ips(rng, visitors)
        self.visitors = [
            (
                f"v.{rng.getrandbits(48):012x}",
                ips[i],
                rng.choice(uas),
                rng.choice(
                    ["1080x2340", "1170x2532", "1920x1080", "1440x3200", "828x1792", "2560x1440"]
                ),
            )
            for i in range(visitors)
        ]
        self.clicks: list[dict[str, Any]] = []
        self.orders: list[str] = []
        self.now = int(time.time() * 1000)

    def visitor(self) -> tuple[str, str, str, str]:
        # Skewed: a minority of visitors make most of the hits.
        return self.visitors[int(len(self.visitors) * self.rng.random() ** 2)]

    def _base(self, event_type: str, site_key: str, visitor: tuple) -> dict[str, Any]:
        vid, ip, ua, _ = visitor
        return {
            "event_type": event_type,
            "site_key": site_key,
            "visitor_id": vid,
            "event_id": self.ids.next(),
            "ts": self.now - self.rng.randrange(3_600_000),
            "ip": ip,
            "user_agent": ua,
        }

    def impression(self) -> dict[str, Any]:
        link = self.rng.choice(self.cat["links"])
        v = self.visitor()
        record = self._base("impression", link.site_key, v)
        record.update(
            {
                "campaign_id": link.campaign_id,
                "placement_id": link.placement_id,
                "creative_id": link.creative_id,
                "url": f"https://portal.example.cn/news/2024/{self.rng.randint(1, 12):02d}/"
                f"{self.rng.randint(1, 9999)}.html",
                "referrer": self.rng.choice(
                    [
                        "https://www.baidu.com/",
                        "https://m.sogou.com/",
                        "",
                        "https://portal.example.cn/",
                    ]
                ),
                "screen": v[3],
                "language": "zh-CN",
            }
        )
        if self.rng.random() < 0.4:
            record.update(
                {"utm_source": "portal", "utm_medium": "display", "utm_campaign": "q4-data-plan"}
            )
        return record

    def click(self) -> dict[str, Any]:
        link = self.rng.choice(self.cat["links"])
        v = self.visitor()
        click_id = f"{link.code}-{self.rng.getrandbits(96):024x}"
        record = self._base("click", link.site_key, v)
        url = f"{link.landing_url}&utm_source=portal&adt_cid={click_id}"
        record.update(
            {
                "campaign_id": link.campaign_id,
                "placement_id": link.placement_id,
                "creative_id": link.creative_id,
                "link_code": link.code,
                "click_id": click_id,
                "url": url,
                "referrer": "https://portal.example.cn/news/2024/11/07.html",
                "utm_source": "portal",
            }
        )
        self.clicks.append({"click_id": click_id, "link": link, "visitor": v, "url": url})
        if len(self.clicks) > 50_000:
            del self.clicks[:10_000]
        return record

    def visit(self) -> dict[str, Any]:
        if not self.clicks:
            return self.click()
        click = self.rng.choice(self.clicks)
        record = self._base("visit", self.cat["landing_site"].site_key, click["visitor"])
        record.update(
            {
                "url": click["url"],
                "referrer": "https://portal.example.cn/",
                "screen": click["visitor"][3],
                "language": "zh-CN",
                "duration_ms": self.rng.randint(500, 120_000),
            }
        )
        return record

    def order(self) -> dict[str, Any]:
        if not self.clicks:
            return self.click()
        click = self.rng.choice(self.clicks)
        link = click["link"]
        campaign = next(c for c in self.cat["campaigns"] if c.id == link.campaign_id)
        if self.orders and self.rng.random() < 0.02:  # a retried postback
            order_id = self.rng.choice(self.orders)
        else:
            order_id = f"SO{self.rng.getrandbits(40):012d}"
            self.orders.append(order_id)
        record = self._base("order", link.site_key, ("", "47.92.0.10", "okhttp/4.9.3", ""))
        record.pop("visitor_id")
        record.update(
            {
                "advertiser_id": campaign.advertiser_id,
                "campaign_id": link.campaign_id,
                "placement_id": link.placement_id,
                "creative_id": link.creative_id,
                "link_code": link.code,
                "click_id": click["click_id"],
                "order_id": order_id,
                "order_status": "approved",
                "amount": f"{self.rng.randint(9, 2999)}.00",
                "currency": "CNY",
                "_src": "postback",
                "props": {"sku": f"plan-{self.rng.randint(1, 40)}", "channel": "h5"},
            }
        )
        return record


def write_segments(
    spool_root: Path, factory: RecordFactory, events: int, mix: dict[str, float], segment_bytes: int
) -> tuple[list[Any], dict[str, int]]:
    """Append records as the edge does (orjson + newline) and seal a segment at the size."""
    import orjson

    from app.ingest.spool import SEALED_SUFFIX, Segment

    writer = "wbench"
    directory = spool_root / writer
    directory.mkdir(parents=True)
    makers: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        (name, getattr(factory, name)) for name in mix
    ]
    weights = [mix[name] for name, _ in makers]
    counts: dict[str, int] = {}
    segments, chunk, size, seq = [], [], 0, 0

    def seal() -> None:
        nonlocal chunk, size, seq
        seq += 1
        path = directory / f"{seq:012d}{SEALED_SUFFIX}"
        path.write_bytes(b"".join(chunk))
        segments.append(Segment(writer, seq, path))
        chunk, size = [], 0

    for _name, make in factory.rng.choices(makers, weights=weights, k=events):
        record = make()
        counts[record["event_type"]] = counts.get(record["event_type"], 0) + 1
        line = orjson.dumps(record) + b"\n"
        chunk.append(line)
        size += len(line)
        if size >= segment_bytes:
            seal()
    if chunk:
        seal()
    return segments, counts


# -- stage timing -----------------------------------------------------------------------
class Stopwatch:
    """Accumulates seconds per stage for wrapped callables, by `clock`."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.seconds: dict[str, float] = {}
        self.clock = clock

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        clock = self.clock

        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + clock() - started

        return timed

    def wrap_attr(self, owner: Any, attr: str, name: str) -> bool:
        func = getattr(owner, attr, None)
        if not callable(func):
            return False
        setattr(owner, attr, self.wrap(name, func))
        return True


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.catalog.cache import CatalogCache
    from app.ingest import loader as loader_mod
    from app.ingest.enrich import pipeline as pipeline_mod
    from app.ingest.loader import Loader, build_enricher
    from app.metrics import Metrics
    from app.settings import load_settings
    from app.store.client import open_store
    from app.store.migrate import migrate

    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="adtrack-loader-"))
    overrides: dict[str, Any] = {"data_dir": tmp, "loader_batch_rows": args.batch_rows}
    if GEOIP.is_file():
        overrides["geoip_db"] = GEOIP
    settings = load_settings(**overrides)
    try:
        store = open_store(settings.clickhouse_url)
        migrate(store)
        catalog_data = seed_catalog(store, rng)
        catalog = CatalogCache(store, refresh_s=3600).start()
        factory = RecordFactory(catalog_data, rng, args.visitors)
        mix = dict(item.split("=") for item in args.mix.split(","))
        mix_w = {k: float(v) for k, v in mix.items()}
        started = time.perf_counter()
        segments, counts = write_segments(
            settings.spool_dir, factory, args.events, mix_w, args.segment_mb * 1024 * 1024
        )
        gen_s = time.perf_counter() - started
        # Write the spool out now, so the kernel's writeback does not run during (a).
        os.sync()
        spool_bytes = sum(s.path.stat().st_size for s in segments)
        _say(
            f"generated {args.events:,} records ({counts}) in {len(segments)} segments, "
            f"{spool_bytes / 1e6:.0f} MB, in {gen_s:.1f} s"
        )

        enricher = build_enricher(settings, catalog, store)
        metrics = Metrics()
        loader = Loader(
            store, enricher, metrics, settings.spool_dir, batch_rows=settings.loader_batch_rows
        )
        clock = time.thread_time if args.clock == "thread" else time.perf_counter
        watch = Stopwatch(clock)
        if args.clock == "thread":  # the pipeline times its steps with time.perf_counter
            pipeline_mod.time = types.SimpleNamespace(perf_counter=time.thread_time)
        tables: list[Any] = []

        def keep_events(table: str, data: Any, token: str) -> Any:
            if table == "events":
                tables.append(data)
            return original_insert(table, data, token)

        original_insert = loader._insert
        loader._insert = keep_events
        # Stages the pipeline does not time itself, measured by wrapping the calls.
        # The loader's internals move while it is optimised: wrap what exists, skip the rest.
        watch.wrap_attr(loader_mod, "given_rows", "arrow_build(given_rows)")
        watch.wrap_attr(loader_mod, "events_table_of", "arrow_build(events_table_of)")
        watch.wrap_attr(loader_mod, "rejects_table", "arrow_build(rejects_table)")
        watch.wrap_attr(loader, "_insert", "insert")
        watch.wrap_attr(loader, "load_lines", "load_lines(all)")
        watch.wrap_attr(enricher.clicks, "prefetch", "clicks.prefetch")
        watch.wrap_attr(enricher.orders, "prefetch", "orders.prefetch")
        watch.wrap_attr(enricher.pipeline, "run", "pipeline.run")
        watch.wrap_attr(enricher.pipeline, "run_columns", "pipeline.run_columns")
        from app.ingest.spool import Segment

        # read_records is a generator: time the reading, not the generator's creation.
        read_records = Segment.read_records
        Segment.read_records = watch.wrap("segment.read", lambda seg: list(read_records(seg)))
        results: list[Any] = []
        load_batch = loader.load_batch

        def counted_batch(*a: Any, **kw: Any) -> Any:
            results.append(load_batch(*a, **kw))
            return results[-1]

        loader.load_batch = counted_batch

        # (a) end to end: the loader's own drain (segments batched up to --batch-rows)
        cpu0, wall0, thread0 = time.process_time(), time.perf_counter(), time.thread_time()
        drained = loader.drain_once()
        assert drained == len(segments), (drained, len(segments))
        loaded_events = sum(r.events for r in results)
        loaded_rejects = sum(r.rejects for r in results)
        wall_a = time.perf_counter() - wall0
        cpu_a = time.process_time() - cpu0
        thread_a = time.thread_time() - thread0
        if args.clock == "thread":
            pipeline_mod.time = time
        stored = store.query("SELECT count() FROM events")[0][0]
        stage = dict(watch.seconds)
        steps = dict(enricher.pipeline.seconds)
        inside = stage.get("load_lines(all)", 0.0)
        accounted = sum(
            stage.get(k, 0.0)
            for k in (
                "arrow_build(given_rows)",
                "arrow_build(events_table_of)",
                "arrow_build(rejects_table)",
                "insert",
                "clicks.prefetch",
                "orders.prefetch",
                "pipeline.run",
                "pipeline.run_columns",
            )
        )
        stage["json_parse_and_rest"] = max(0.0, inside - accounted)
        a = {
            "events_in": args.events,
            "events_loaded": loaded_events,
            "rejects_loaded": loaded_rejects,
            "rows_in_events": stored,
            "wall_s": round(wall_a, 3),
            "cpu_s": round(cpu_a, 3),
            "loader_thread_cpu_s": round(thread_a, 3),
            "events_per_s": round(args.events / wall_a),
            "events_per_cpu_s": round(args.events / cpu_a),
            "events_per_loader_cpu_s": round(args.events / thread_a),
            "stage_clock": args.clock,
            "stage_seconds": {k: round(v, 3) for k, v in sorted(stage.items())},
            "pipeline_step_seconds": {k: round(v, 3) for k, v in steps.items()},
            "pipeline_drops": {f"{k[0]}:{k[1]}": v for k, v in enricher.pipeline.drops.items()},
        }
        _say(
            f"(a) end to end: {args.events:,} records in {wall_a:.2f} s = "
            f"{a['events_per_s']:,} events/s (CPU {cpu_a:.2f} s, loader thread {thread_a:.2f} s); "
            f"{stored:,} rows stored"
        )

        # (b) the insert alone, the tables (a) inserted, into an emptied events table
        store.command("TRUNCATE TABLE events")
        rows = sum(t.num_rows for t in tables)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        # The same insert settings as the loader's, where it has any.
        extra = {}
        if getattr(loader_mod, "INSERT_SETTINGS", None) is not None:
            extra["settings"] = loader_mod.INSERT_SETTINGS
        for index, table in enumerate(tables):
            store.insert_arrow("events", table, dedup_token=f"bench-insert:{index}", **extra)
        wall_b = time.perf_counter() - wall0
        cpu_b = time.process_time() - cpu0
        stored_b = store.query("SELECT count() FROM events")[0][0]
        b = {
            "tables": len(tables),
            "rows": rows,
            "rows_in_events": stored_b,
            "wall_s": round(wall_b, 3),
            "cpu_s": round(cpu_b, 3),
            "events_per_s": round(rows / wall_b),
            "events_per_cpu_s": round(rows / cpu_b),
            "mean_rows_per_insert": round(rows / max(1, len(tables))),
        }
        _say(
            f"(b) insert alone: {rows:,} rows in {len(tables)} inserts, {wall_b:.2f} s = "
            f"{b['events_per_s']:,} events/s"
        )
        catalog.stop()
        store.close()
        return {
            "generated": {
                "counts": counts,
                "segments": len(segments),
                "spool_bytes": spool_bytes,
                "seconds": round(gen_s, 1),
            },
            "end_to_end": a,
            "insert_only": b,
        }
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def markdown(result: dict[str, Any], args: argparse.Namespace) -> str:
    a, b = result["end_to_end"], result["insert_only"]
    clock = "the loader thread's CPU time" if a["stage_clock"] == "thread" else "wall clock"
    lines = [
        f"Loader on one core (core {args.core}), {args.events:,} records, "
        f"{result['generated']['segments']} segments of ≤ {args.segment_mb} MB, "
        f"batch {args.batch_rows:,} rows, mix {args.mix}.",
        "",
        "| measure | events/s | events/CPU-s | events/loader-CPU-s | target | wall s | CPU s |",
        "|---|---|---|---|---|---|---|",
        f"| (a) end to end (`Loader.drain_once`) | {a['events_per_s']:,} | "
        f"{a['events_per_cpu_s']:,} | {a['events_per_loader_cpu_s']:,} | "
        f"≥ {TARGET_END_TO_END:,} | {a['wall_s']} | {a['cpu_s']} |",
        f"| (b) insert alone (`Store.insert_arrow`) | {b['events_per_s']:,} | "
        f"{b['events_per_cpu_s']:,} | – | ≥ {TARGET_INSERT:,} | {b['wall_s']} | {b['cpu_s']} |",
        "",
        f"Stages of (a), timed by {clock}:",
        "",
        "| stage (a) | seconds | share of wall | µs/event |",
        "|---|---|---|---|",
    ]
    rows = {
        **{f"step {k}": v for k, v in a["pipeline_step_seconds"].items()},
        **{
            k: v
            for k, v in a["stage_seconds"].items()
            if k not in ("load_lines(all)", "pipeline.run", "pipeline.run_columns")
        },
    }
    for name, seconds in sorted(rows.items(), key=lambda kv: -kv[1]):
        lines.append(
            f"| {name} | {seconds:.2f} | {100 * seconds / a['wall_s']:.1f}% | "
            f"{1e6 * seconds / args.events:.2f} |"
        )
    return "\n".join(lines)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument(
        "--segment-mb",
        type=int,
        default=16,
        help="segment size (ADTRACK_SPOOL_SEGMENT_BYTES default: 16 MB)",
    )
    parser.add_argument("--batch-rows", type=int, default=100_000, help="ADTRACK_LOADER_BATCH_ROWS")
    parser.add_argument("--mix", default="impression=0.70,click=0.15,visit=0.12,order=0.03")
    parser.add_argument("--visitors", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--core", type=int, default=0, help="the one core to run on")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--clock",
        choices=["wall", "thread"],
        default="wall",
        help="time stages by wall clock or by the loader thread's CPU time",
    )
    args = parser.parse_args(argv)
    # Pin before chDB starts its threads: they inherit the affinity (as under taskset -c 0).
    os.sched_setaffinity(0, {args.core})
    started = time.strftime("%Y%m%d-%H%M%S")
    result = run(args)
    table = markdown(result, args)
    report = {
        "started": started,
        "args": vars(args),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        **result,
        "table_md": table,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"loader-{started}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(table)
    print(f"\nwrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
