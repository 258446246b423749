"""Analytics benchmark: the funnel and the channel ranking over 30 days, from the rollups
against the raw events, at 10 M (and 100 M) events on the embedded engine.

    .venv/bin/python loadtest/bench_rollups.py [--events 10000000] [--days 30] [--no-raw]
                                               [--data-dir DIR] [--keep]

1. Generates journeys straight into `events` with one `INSERT … SELECT FROM numbers()` per
   million rows (the materialized view fills `daily_counts` as the loader's inserts do):
   an impression on one of 1,000 partner sites (200 partners, 22 channel types, 5,000
   placements, 20,000 creatives, 50 campaigns), then a click (20%), a landing visit under the
   landing site's own visitor id carrying the click id (80% of clicks) and an order (10% of
   visits, 1% refunded), people on 340 cities in 34 provinces and 3 device types, about three
   journeys a person, spread over `--days` Asia/Shanghai days.
2. Times the rollup refresh of every day (what the rollup job does once after an import),
   then adds a day's worth of traffic on the last day and times the refresh the job then
   runs (only the days whose reach changed).
3. Times, best of three, on the last 30 days:
   - the reference queries the issue quotes: a raw `windowFunnel` per channel over every row,
     daily uniques per channel, a one-day per-channel count;
   - the funnel by channel from the rollup, and from the events (our raw path, the reference
     the rollup must equal: stitching, entries per day, medians), checking both agree;
   - the channel ranking (`stats ranking`: counts from `daily_counts`, or from the events).
Prints a markdown table; writes loadtest/results/rollups-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.attribution import counts, funnel, ranking  # noqa: E402
from app.attribution.filters import Filter  # noqa: E402
from app.rollups import funnels  # noqa: E402
from app.store.client import Store, open_store  # noqa: E402
from app.store.migrate import migrate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_DAY = date(2026, 10, 1)
CHANNELS = [
    "national_portal", "search", "community", "ecommerce", "download", "game", "literature",
    "music", "video", "dating", "mobile", "flash", "finance", "travel", "blog", "forum",
    "niche", "local_portal", "campus", "internet_cafe", "referral", "owned",
]  # fmt: skip
PROVINCES = [
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000",
    "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000",
    "440000", "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000",
    "620000", "630000", "640000", "650000", "710000", "810000", "820000",
]  # fmt: skip
EVENTS_PER_JOURNEY = 1 + 0.2 + 0.2 * 0.8 + 0.2 * 0.8 * 0.1
BATCH_JOURNEYS = 700_000

# One batch of journeys [offset, offset + n): every random draw is a hash of the journey
# number, so a run is reproducible and batches are independent.
GENERATE = """
INSERT INTO events (event_id, event_type, ts, site_key, partner_id, channel, advertiser_id,
    campaign_id, placement_id, creative_id, click_id, visitor_id, province_code, city_code,
    device_type, os, browser, order_id, order_status, amount, currency, url)
SELECT
    generateUUIDv4(tuple(j, ev.1)) AS event_id,
    ev.1 AS event_type,
    addMilliseconds(toDateTime64({first:DateTime}, 3, 'UTC'), t0 + ev.2) AS ts,
    if(ev.1 IN ('visit', 'order'), 'shop', concat('s', toString(site))) AS site_key,
    concat('p', toString(site % 200)) AS partner_id,
    {channels:Array(String)}[site % 22 + 1] AS channel,
    'adv1' AS advertiser_id,
    concat('cmp', toString(h4 % 50)) AS campaign_id,
    concat('pl', toString(placement)) AS placement_id,
    concat('cr', toString(placement * 4 + h3 % 4)) AS creative_id,
    if(ev.1 = 'impression', '', concat('c', toString(j))) AS click_id,
    concat(if(ev.1 IN ('visit', 'order'), 'l', 'v'), toString(person)) AS visitor_id,
    {provinces:Array(String)}[person % 34 + 1] AS province_code,
    concat(substring(province_code, 1, 2), leftPad(toString(person % 10 + 1), 2, '0'), '00')
        AS city_code,
    ['desktop', 'mobile', 'tablet'][person % 3 + 1] AS device_type,
    ['Windows', 'Android', 'iOS'][person % 3 + 1] AS os,
    ['Chrome', 'Chrome Mobile', 'Mobile Safari'][person % 3 + 1] AS browser,
    if(ev.1 = 'order', concat('o', toString(j)), '') AS order_id,
    if(ev.1 = 'order', if(h5 % 100 = 0, 'refunded', 'approved'), '') AS order_status,
    if(ev.1 = 'order', toDecimal64(10 + h5 % 490, 2), toDecimal64(0, 2)) AS amount,
    if(ev.1 = 'order', 'CNY', '') AS currency,
    if(ev.1 = 'visit', concat('https://shop.example/p/', toString(h3 % 20)), '') AS url
FROM (
    SELECT
        number AS j,
        cityHash64(number, 1) AS h1, cityHash64(number, 2) AS h2,
        cityHash64(number, 3) AS h3, cityHash64(number, 4) AS h4,
        cityHash64(number, 5) AS h5,
        h1 % {people:UInt64} AS person,
        intDiv(h1, 7) % 1000 AS site,
        site * 5 + h2 % 5 AS placement,
        h2 % {span_ms:UInt64} AS t0,
        60000 + h3 % 1800000 AS g1,
        1000 + h4 % 20000 AS g2,
        60000 + h5 % 86400000 AS g3
    FROM numbers({offset:UInt64}, {n:UInt64})
)
ARRAY JOIN arrayConcat(
    [('impression', toUInt64(0))],
    if(h2 % 100 < 20, [('click', g1)], []),
    if(h2 % 100 < 16, [('visit', g1 + g2)], []),
    if(h2 % 1000 < 16, [('order', g1 + g2 + g3)], [])
) AS ev
"""


def best(action: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    timings, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - began)
    return min(timings), result


def generate(
    store: Store,
    events: int,
    days: int,
    *,
    first: date = FIRST_DAY,
    start: int = 0,
    people: int | None = None,
) -> float:
    """Journeys numbered from `start` (new numbers, new ids) over `days` from `first`."""
    journeys = int(events / EVENTS_PER_JOURNEY)
    people = people or max(1, journeys // 3)
    began = time.perf_counter()
    for offset in range(start, start + journeys, BATCH_JOURNEYS):
        store.command(GENERATE, {
            "first": f"{first.isoformat()} 00:00:00", "channels": CHANNELS,
            "provinces": PROVINCES, "people": people, "span_ms": days * 86_400_000,
            "offset": offset, "n": min(BATCH_JOURNEYS, start + journeys - offset),
        })  # fmt: skip
    return time.perf_counter() - began


REFERENCE = {
    "windowFunnel per channel, all raw rows": """
SELECT channel, level, count() FROM (
    SELECT channel, visitor_id, windowFunnel(604800000)(toUInt64(toUnixTimestamp64Milli(ts)),
        event_type = 'impression', event_type = 'click', event_type = 'visit',
        event_type = 'order') AS level
    FROM events GROUP BY channel, visitor_id)
GROUP BY channel, level""",
    "daily uniques per channel, 30 days": """
SELECT toDate(ts, 'Asia/Shanghai') AS day, channel, uniq(visitor_id) FROM events
WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
GROUP BY day, channel""",
    "one-day per-channel count": """
SELECT channel, count() FROM events
WHERE ts >= {day_start:DateTime64(3, 'UTC')} AND ts < {day_end:DateTime64(3, 'UTC')}
GROUP BY channel""",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--no-raw", action="store_true", help="skip our raw funnel (slow)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="adtrack-bench-rollups-"))
    store = open_store(f"chdb://{data_dir}/clickhouse")
    results: dict[str, Any] = {
        "events_asked": args.events, "days": args.days, "machine": platform.machine(),
        "python": platform.python_version(),
    }  # fmt: skip
    try:
        migrate(store)
        [(have,)] = store.query("SELECT count() FROM events")
        if not have:
            results["generate_s"] = generate(store, args.events, args.days)
            store.command("OPTIMIZE TABLE daily_counts FINAL")
        [(stored,)] = store.query("SELECT count() FROM events")
        [(rollup_rows,)] = store.query("SELECT count() FROM daily_counts")
        results.update(events=stored, daily_counts_rows=rollup_rows)
        print(f"{stored:,} events, {rollup_rows:,} daily_counts rows", flush=True)
        began = time.perf_counter()
        done = funnels.refresh(store)
        results["refresh_all_s"] = time.perf_counter() - began
        results["refreshed_days"] = sum(len(r.days) for r in done)
        [(funnel_rows,)] = store.query("SELECT count() FROM funnel_daily")
        results["funnel_daily_rows"] = funnel_rows
        print(f"refresh: {results['refresh_all_s']:.1f} s, {funnel_rows:,} rows", flush=True)
        last = FIRST_DAY + timedelta(days=args.days - 1)
        # Steady state: a day's worth of new traffic on the last day (the same people), then
        # the refresh the job would run: the days whose reach changed.
        journeys = int(args.events / EVENTS_PER_JOURNEY)
        generate(store, args.events // args.days, 1, first=last, start=journeys,
                 people=max(1, journeys // 3))  # fmt: skip
        began = time.perf_counter()
        done = funnels.refresh(store)
        results["refresh_after_a_day_s"] = time.perf_counter() - began
        results["refresh_after_a_day_days"] = sum(len(r.days) for r in done)
        print(f"refresh after a day of traffic: {results['refresh_after_a_day_s']:.1f} s, "
              f"{results['refresh_after_a_day_days']} funnel-days", flush=True)  # fmt: skip
        flt = Filter(last - timedelta(days=29), last)
        start, end = flt.utc_range()
        day_start, day_end = Filter(last, last).utc_range()
        params = {"start": start, "end": end, "day_start": day_start, "day_end": day_end}
        timings: dict[str, float] = {}
        for name, sql in REFERENCE.items():
            timings[name], _ = best(lambda sql=sql: store.query(sql, params))
            print(f"{name}: {timings[name]:.3f} s", flush=True)
        timings["funnel by channel, rollup"], rolled = best(
            lambda: funnel.run(store, flt, by="channel", source="rollup")
        )
        timings["funnel, no split, rollup"], _ = best(
            lambda: funnel.run(store, flt, source="rollup")
        )
        timings["ranking by channel, rollup"], ranked = best(
            lambda: ranking.scoreboard_report(store, flt, "channel")
        )
        timings["ranking by placement, rollup"], _ = best(
            lambda: ranking.scoreboard_report(store, flt, "placement_id")
        )
        timings["counts by channel, raw"], raw_counts = best(
            lambda: counts.counts(store, flt, "channel", source="raw")
        )
        assert raw_counts == counts.counts(store, flt, "channel", source="rollup")
        assert ranked["rows"], "the ranking is empty"
        if not args.no_raw:
            timings["funnel by channel, raw (reference)"], raw = best(
                lambda: funnel.run(store, flt, by="channel", source="raw"), runs=1
            )
            results["rollup_equals_raw"] = raw.rows == rolled.rows
            assert raw.rows == rolled.rows, "the rollup and the events disagree"
        results["timings_s"] = timings
        for name, seconds in timings.items():
            print(f"{name}: {seconds:.3f} s", flush=True)
    finally:
        store.close()
        if not args.keep and args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"rollups-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    ref = timings.get("funnel by channel, raw (reference)")
    print("\n| query (30 days) | seconds | vs raw funnel |\n|---|---:|---:|")
    for name, seconds in timings.items():
        print(
            f"| {name} | {seconds:.3f} | {seconds / ref:.3f}× |"
            if ref
            else f"| {name} | {seconds:.3f} | |"
        )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
