"""The `adtrack` command line: one module per command group in this package, each adding
its commands to the parser. A command module imports what its commands need when they run,
so `adtrack` starts quickly whatever it is asked."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from app.cli import catalog, costs, demo, geo, rollups, serve, stats, users
from app.settings import setting_errors

GROUPS = (serve, geo, catalog, users, stats, costs, rollups)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adtrack", description="The adtrack tracker: its server, catalog, users and reports."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    demo.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per proxied request
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValidationError as exc:
        problems = setting_errors(exc)
        if not problems:
            raise
        for problem in problems:  # a bad setting stops the process, the variable named
            print(f"adtrack: bad setting {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
