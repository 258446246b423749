"""The hit handlers alone: CPU per hit through the ASGI app, no HTTP server, no loader.

    .venv/bin/python loadtest/bench_edge.py [--hits 50000] [--profile] [--fsync-ms 200]
                                            [--concurrency 1]

Seeds a site and link into a fresh store (leaving the catalog file the edge reads), runs
the edge app's lifespan, then calls the app directly with prebuilt ASGI scopes for /p.gif
and /c/CODE (plain, and geo-targeted with rules and a split, each hit from a new Chinese
address), and /serve/PLACEMENT (targeted creatives, weights, frequency cap), timing CPU per
hit (time.process_time, so other load on the machine barely moves it). The spool is real
(a temp dir); no loader runs (it lives in the core process), so only the request path
counts. What a server (uvicorn, granian) adds on top is the difference to bench_hits.py's
req/CPU-s. With --profile, prints the cProfile top functions for each endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
GEOIP = REPO / ".cache" / "geoip" / "GeoLite2-City.mmdb"
ISP = REPO / ".cache" / "geoip" / "ip2region.db"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "loadtest"))

import bench_hits as bench  # noqa: E402 (a sibling script, not a package)


def scope_for(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    headers = [(b"host", parts.netloc.encode())]
    for line in bench.HEADERS:
        name, _, value = line.partition(": ")
        headers.append((name.lower().encode(), value.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.7", 51234),
        "server": ("127.0.0.1", 8080),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class Lifespan:
    """Drives the ASGI lifespan protocol, as a server would."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def start(self) -> None:
        self.task = asyncio.create_task(
            self.app(
                {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                self.inbox.get,
                self.outbox.put,
            )
        )
        await self.inbox.put({"type": "lifespan.startup"})
        message = await self.outbox.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {message}")

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        await self.task


def seed(settings: Any) -> dict[str, Any]:
    """Create the catalog in the store and leave the catalog file the edge reads, as the
    core process would; the store is closed again before the edge starts."""
    from app.catalog import entities as cat
    from app.catalog import rows as catalog_rows
    from app.catalog.cache import CatalogCache
    from app.store.client import open_store
    from app.store.migrate import migrate

    store = open_store(settings.clickhouse_url)
    migrate(store)
    adv = catalog_rows.save(store, cat.new_advertiser("China Mobile Inner Mongolia"))
    cmp_ = catalog_rows.save(store, cat.new_campaign("Data plan Q4", adv.id))
    site = catalog_rows.save(
        store, cat.new_site("Hohhot City Portal", "nmg-portal", "portal.example.cn", "local_portal")
    )
    link = catalog_rows.save(
        store,
        cat.new_link(
            cmp_.id,
            site.site_key,
            "https://shop.example.cn/q4/data?from=portal",
            placement_id="home-banner",
            creative_id="banner-300x250",
        ),
    )
    # A geo-targeted link as a media buyer sets one up: national campaign, a province rule,
    # a city rule, a device rule, an A/B split on the default landing.
    targeted = catalog_rows.save(
        store,
        cat.new_link(
            cmp_.id,
            site.site_key,
            "",
            targeting={"countries": ["CN"]},
            fallback_url="https://shop.example.cn/elsewhere",
            variants=[
                {"id": "A", "url": "https://shop.example.cn/a", "weight": 1},
                {"id": "B", "url": "https://shop.example.cn/b", "weight": 1},
            ],
            rules=[
                {
                    "id": "nmg",
                    "targeting": {"regions": ["150000"]},
                    "landing_url": "https://shop.example.cn/nmg",
                    "variants": [],
                },
                {
                    "id": "hohhot",
                    "targeting": {"regions": ["150100"]},
                    "landing_url": "https://shop.example.cn/hohhot",
                    "variants": [],
                },
                {
                    "id": "gd-android",
                    "targeting": {"regions": ["440000"], "os": ["android"]},
                    "landing_url": "https://shop.example.cn/gd",
                    "variants": [],
                },
                {
                    "id": "unicom",
                    "targeting": {"carriers": ["china_unicom"]},
                    "landing_url": "https://shop.example.cn/unicom",
                    "variants": [],
                },
            ],
        ),
    )
    capped = catalog_rows.save(
        store,
        cat.new_campaign(
            "Banner flight", adv.id, frequency_cap=1000, targeting={"countries": ["CN"]}
        ),
    )
    creatives = [
        catalog_rows.save(
            store,
            cat.new_creative(
                capped.id,
                f"Banner {n}",
                "image",
                "https://shop.example.cn/banner",
                width=300,
                height=250,
                weight=n + 1,
                image_url=f"https://cdn.example.cn/{n}.png",
            ),
        )
        for n in range(3)
    ]
    placement = catalog_rows.save(
        store,
        cat.new_placement(
            site.site_key, "Home top", width=300, height=250, campaign_ids=[capped.id]
        ),
    )
    CatalogCache(store, backup_path=settings.catalog_file).refresh()
    store.close()
    return {
        "advertiser": vars(adv),
        "campaign": vars(cmp_),
        "site": vars(site),
        "link": vars(link),
        "targeted": vars(targeted),
        "placement": vars(placement),
        "creatives": [vars(c) for c in creatives],
    }


def visitor_scopes(url: str, n: int = 2000) -> list[dict[str, Any]]:
    """The same request from `n` random addresses in Chinese carrier blocks (the targeted
    paths look each visitor up), half with an Android user agent, half an iPhone's."""
    import ipaddress
    import random

    import bench_loader

    rng = random.Random(7)
    nets = [ipaddress.ip_network(net) for net, _ in bench_loader.CN_BLOCKS]
    scopes = []
    for i in range(n):
        net = rng.choice(nets)
        address = str(net[rng.randrange(net.num_addresses)])
        scope = scope_for(url)
        scope["client"] = (address, 40000 + i % 20000)
        if i % 2:
            scope["headers"] = [
                (k, v) if k != b"user-agent" else (k, ANDROID_UA) for k, v in scope["headers"]
            ]
        scopes.append(scope)
    return scopes


ANDROID_UA = (
    b"Mozilla/5.0 (Linux; Android 14; V2227A) AppleWebKit/537.36 (KHTML, like Gecko)"
    b" Chrome/120.0 Mobile Safari/537.36"
)


async def hit_loop(
    app: Any, scope: dict[str, Any] | list[dict[str, Any]], hits: int, concurrency: int = 1
) -> tuple[float, dict[int, int]]:
    """`hits` calls, `concurrency` at a time (as from that many connections: with
    ADTRACK_SPOOL_FSYNC_MS=0 concurrent hits share one fsync)."""
    statuses: dict[int, int] = {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    scopes = scope if isinstance(scope, list) else [scope]
    count = len(scopes)
    started = time.process_time()
    if concurrency <= 1:
        for i in range(hits):
            await app(dict(scopes[i % count]), _receive, send)
    else:
        for start in range(0, hits, concurrency):
            await asyncio.gather(
                *(
                    app(dict(scopes[(start + j) % count]), _receive, send)
                    for j in range(min(concurrency, hits - start))
                )
            )
    return time.process_time() - started, statuses


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.serve.edge import create_edge_app
    from app.settings import load_settings

    tmp = Path(tempfile.mkdtemp(prefix="adtrack-edge-"))
    os.environ.update(
        {"ADTRACK_ADMIN_TOKEN": bench.ADMIN_TOKEN, "ADTRACK_CATALOG_REFRESH_S": "0.2"}
    )
    settings = load_settings(
        data_dir=tmp,
        loader_in_process=False,
        geoip_db=GEOIP,
        isp_db=ISP,
        spool_fsync_ms=args.fsync_ms,
        trusted_proxies=(),
    )
    catalog = seed(settings)
    app = create_edge_app(settings)
    lifespan = Lifespan(app)
    await lifespan.start()
    results: dict[str, Any] = {}
    try:
        fake = bench.Adtrack(tmp, "direct", args.fsync_ms)
        fake.catalog = catalog
        deadline = time.monotonic() + 10
        code = catalog["link"]["code"]
        while code not in app.catalog.snapshot.links and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        base = fake.redirect_url().split("/c/")[0]
        # Every timed hit from an address not seen before: no lookup is served from a cache.
        distinct = args.hits + min(2000, args.hits)
        targets = (
            ("pixel", scope_for(fake.pixel_url())),
            ("redirect", scope_for(fake.redirect_url())),
            # The plain link again, from many addresses: the like-for-like reference.
            ("redirect_many_ips", visitor_scopes(fake.redirect_url(), distinct)),
            (
                "redirect_targeted",
                visitor_scopes(f"{base}/c/{catalog['targeted']['code']}", distinct),
            ),
            ("serve_json", visitor_scopes(f"{base}/serve/{catalog['placement']['id']}", distinct)),
        )
        for endpoint, scope in targets:
            await hit_loop(app, scope, min(2000, args.hits), args.concurrency)  # warm caches
            cpu_s, statuses = await hit_loop(app, scope, args.hits, args.concurrency)
            results[endpoint] = {
                "hits": args.hits,
                "cpu_us_per_hit": round(1e6 * cpu_s / args.hits, 2),
                "hits_per_cpu_s": round(args.hits / cpu_s),
                "statuses": statuses,
            }
            print(
                f"{endpoint}: {1e6 * cpu_s / args.hits:.1f} µs CPU per hit "
                f"= {args.hits / cpu_s:,.0f} hits/CPU-s (app only), statuses {statuses}"
            )
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await hit_loop(app, scope, args.hits, args.concurrency)
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out).strip_dirs()
                stats.sort_stats("tottime").print_stats(args.top)
                print(out.getvalue().split("\n", 4)[-1])
    finally:
        await lifespan.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=50_000)
    parser.add_argument("--fsync-ms", type=int, default=200)
    parser.add_argument(
        "--concurrency", type=int, default=1, help="hits in flight at once (64 = wrk's connections)"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
