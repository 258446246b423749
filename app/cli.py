"""The `adtrack` command line."""

from __future__ import annotations

import argparse
import logging
import sys

from app.settings import load_settings


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()
    if args.workers > 1 and settings.embedded:
        print("adtrack: the embedded engine (chdb://) admits one process; use a ClickHouse "
              "server (ADTRACK_CLICKHOUSE_URL=http://...) for several workers", file=sys.stderr)
        return 2
    uvicorn.run(
        "app.server:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_level="info",
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is handled by ADTRACK_TRUSTED_PROXIES
        server_header=False,
    )
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from app.store.client import open_store
    from app.store.migrate import migrate

    settings = load_settings()
    store = open_store(settings.clickhouse_url)
    applied = migrate(store)
    for migration in applied:
        print(f"applied {migration.version:04d}_{migration.name}")
    if not applied:
        print("schema up to date")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adtrack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the tracker server")
    serve.add_argument("--host", default="")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)
    mig = sub.add_parser("migrate", help="apply pending schema migrations")
    mig.set_defaults(func=cmd_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
