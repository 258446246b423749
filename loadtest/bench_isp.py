"""Carrier lookups per second on the real ip2region database, one core.

    .venv/bin/python loadtest/bench_isp.py [--lookups 100000] [--runs 5] [--core 0] [--db PATH]

Times `IspLookup.lookup` over random addresses in blocks Chinese carriers hold (the same
addresses, seed 7, that tests/geo/test_isp.py checks for correctness), and in the same run
two references: parsing the addresses alone (`socket.inet_pton` + `int.from_bytes`, the
floor under any lookup) and GeoLite2-City's `maxminddb` reader (a C extension, as the
loader's geo step uses it) when `.cache/geoip/GeoLite2-City.mmdb` is there. Prints a
markdown table; writes loadtest/results/isp-<timestamp>.json. Target: >= 100,000 lookups/s
(the loader's whole per-event budget at 50,000 events/s is 20 µs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.geo.isp import IspLookup  # noqa: E402

RESULTS = REPO / "loadtest" / "results"
CACHE = REPO / ".cache" / "geoip"
TARGET = 100_000
FIRST_OCTETS = (1, 36, 39, 58, 60, 101, 112, 117, 120, 123, 180, 183, 202, 220, 223)


def addresses(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(count)
    ]


def per_second(fn: Callable[[str], Any], ips: list[str], runs: int) -> list[float]:
    """Lookups per second of `fn` over `ips`, once per run."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for ip in ips:
            fn(ip)
        rates.append(len(ips) / (time.perf_counter() - started))
    return rates


def parse_only(ip: str) -> int:
    return int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--core", type=int, default=0, help="the one core to run on")
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("ADTRACK_ISP_DB") or CACHE / "ip2region.db"),
        help="the ip2region database (make test-setup fetches it to .cache/geoip)",
    )
    args = parser.parse_args(argv)
    if not args.db.is_file():
        print(
            f"{args.db} is missing: run `make test-setup`, or "
            ".venv/bin/adtrack geoip fetch --only isp --dest .cache/geoip",
            file=sys.stderr,
        )
        return 1
    os.sched_setaffinity(0, {args.core})
    started_at = time.strftime("%Y%m%d-%H%M%S")
    loaded = time.perf_counter()
    isp = IspLookup.open(args.db)
    load_s = time.perf_counter() - loaded
    ips = addresses(args.lookups, args.seed)

    rows: dict[str, list[float]] = {
        "ip2region carrier (IspLookup.lookup)": per_second(isp.lookup, ips, args.runs),
        "reference: parse the address only": per_second(parse_only, ips, args.runs),
    }
    geolite = CACHE / "GeoLite2-City.mmdb"
    if geolite.is_file():
        import maxminddb

        with maxminddb.open_database(str(geolite), maxminddb.MODE_AUTO) as reader:
            rows["reference: GeoLite2-City reader.get"] = per_second(reader.get, ips, args.runs)

    lines = [
        f"ip2region: {isp.ranges:,} ranges, loaded in {load_s:.2f} s; {args.lookups:,} "
        f"addresses x {args.runs} runs on core {args.core}",
        "",
        "| lookup | lookups/s median (min–max) | µs per lookup |",
        "|---|---:|---:|",
    ]
    for name, rates in rows.items():
        median = statistics.median(rates)
        lines.append(
            f"| {name} | {median:,.0f} ({min(rates):,.0f}–{max(rates):,.0f}) | {1e6 / median:.2f} |"
        )
    carrier = statistics.median(rows["ip2region carrier (IspLookup.lookup)"])
    lines.append(f"\ntarget >= {TARGET:,} lookups/s: {'met' if carrier >= TARGET else 'NOT MET'}")
    table = "\n".join(lines)
    print(table)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"isp-{started_at}.json"
    report = {
        "started": started_at,
        "args": {**vars(args), "db": str(args.db)},
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "ranges": isp.ranges,
        "load_s": load_s,
        "lookups_per_s": rows,
        "target": TARGET,
        "table_md": table,
    }
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
