"""`python -m app.geo fetch-isp --dest DIR`: fetch ip2region.db alone.

`adtrack geoip fetch` fetches every reference database (`--only isp`: this one). This entry
stays for the Makefile's ip2region targets, whose command tests/test_makefile.py checks.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from app.geo.isp_db import NPM_PACKAGE, IspFetchError, fetch_ip2region


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.geo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser(
        "fetch-isp", help=f"fetch ip2region.db from the npm package {NPM_PACKAGE} (idempotent)"
    )
    fetch.add_argument("--dest", type=Path, required=True, help="directory to put it in")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = fetch_ip2region(args.dest)
    except IspFetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
