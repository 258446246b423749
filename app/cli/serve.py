"""`adtrack serve|edge|migrate|loader`: the processes and the schema."""

from __future__ import annotations

import argparse
import logging
import sys

from app.settings import load_settings


def cmd_serve(args: argparse.Namespace) -> int:
    """The core process (store, loader, admin API) on a loopback port it picks, which then
    starts the edge process(es) on the public host and port."""
    import os
    import secrets
    import socket

    import uvicorn

    if args.host:
        os.environ["ADTRACK_HOST"] = args.host
    if args.port:
        os.environ["ADTRACK_PORT"] = str(args.port)
    if args.workers:
        os.environ["ADTRACK_EDGE_WORKERS"] = str(args.workers)
    if args.http:
        os.environ["ADTRACK_HTTP_SERVER"] = args.http
    load_settings()  # fail fast, with the variable named, before anything starts
    core = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    core.bind(("127.0.0.1", 0))
    os.environ["ADTRACK_CORE_URL"] = f"http://127.0.0.1:{core.getsockname()[1]}"
    # One secret per start, inherited by the core and the edges it starts (never logged).
    os.environ["ADTRACK_EDGE_SECRET"] = secrets.token_urlsafe(32)
    config = uvicorn.Config(
        "app.serve.core:create_core_app",
        factory=True,
        log_level="warning",
        access_log=False,
        # Every request reaches the core from the edge on loopback; the client address is
        # the one the edge vouches for (app/http/deps.py), never a header uvicorn believes.
        proxy_headers=False,
        server_header=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run(sockets=[core])
    return 0


def cmd_edge(_: argparse.Namespace) -> int:
    """The public port alone (started by `adtrack serve`; needs ADTRACK_CORE_URL)."""
    settings = load_settings()
    if not settings.core_url:
        print("adtrack: the edge needs ADTRACK_CORE_URL (use `adtrack serve`)", file=sys.stderr)
        return 2
    if settings.http_server == "granian":
        from granian import Granian
        from granian.constants import HTTPModes, Interfaces

        Granian(
            "app.serve.edge:create_edge_app",
            factory=True,
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=settings.edge_workers,
            http=HTTPModes.http1,
            websockets=False,
            log_access=False,
            respawn_failed_workers=True,
        ).serve()
        return 0
    import uvicorn

    uvicorn.run(
        "app.serve.edge:create_edge_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.edge_workers,
        log_level="info",
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is handled by ADTRACK_TRUSTED_PROXIES
        server_header=False,
        lifespan="on",
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


def cmd_loader(_: argparse.Namespace) -> int:
    """Run the loader alone: for edges started with ADTRACK_LOADER_IN_PROCESS=false against
    a ClickHouse server, one loader process owns the inserts (no API, no edge)."""
    import signal
    import threading

    from app.serve.core import CoreRuntime

    runtime = CoreRuntime(load_settings(loader_in_process=True))
    runtime.start()
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    logging.getLogger("adtrack").info("loader running on %s", runtime.settings.spool_dir)
    stopped.wait()
    runtime.stop()
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the tracker server")
    serve.add_argument("--host", default="")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument(
        "--workers",
        type=int,
        default=0,
        help="edge processes taking hits (default 1, ADTRACK_EDGE_WORKERS)",
    )
    serve.add_argument(
        "--http",
        choices=("uvicorn", "granian"),
        default="",
        help="HTTP server of the edge (default granian, ADTRACK_HTTP_SERVER)",
    )
    serve.set_defaults(func=cmd_serve)
    edge = sub.add_parser("edge", help="run the public hit edge alone (started by serve)")
    edge.set_defaults(func=cmd_edge)
    mig = sub.add_parser("migrate", help="apply pending schema migrations")
    mig.set_defaults(func=cmd_migrate)
    load = sub.add_parser("loader", help="run the spool loader alone (multi-worker set-ups)")
    load.set_defaults(func=cmd_loader)
