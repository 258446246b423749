"""`adtrack rollups status|refresh`: the funnel rollup's state, and a refresh on demand
(after a bulk import, say), through the running server or straight on the store."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from app.cli.common import call_api, common_options, emit, print_json, routed, run_command
from app.settings import Settings

if TYPE_CHECKING:
    from app.store.client import Store


def _status(args: argparse.Namespace) -> int:
    def via_store(store: Store, _: Settings) -> Any:
        from app.rollups import funnels

        return {"job": None, "funnels": funnels.computed(store)}

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/rollups"), via_store)
    if args.format == "json":
        print_json(answer)
        return 0
    columns = ("funnel", "days", "first_day", "last_day", "oldest_computation",
               "newest_computation")  # fmt: skip
    emit(args, answer["funnels"], columns, "funnels")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    def via_store(store: Store, _: Settings) -> Any:
        from app.rollups import funnels, rankings

        done = funnels.refresh(store)
        taken = rankings.take_due(store)
        return {"refreshed": [r.as_json() for r in done],
                "ranking_snapshots": [d.isoformat() for d in taken]}  # fmt: skip

    answer = routed(args, lambda t: call_api(t, "POST", "/api/v1/rollups/refresh"), via_store)
    if args.format == "json":
        print_json(answer)
        return 0
    rows = [{"funnel": r["funnel"], "days": len(r["days"]),
             "first": r["days"][0], "last": r["days"][-1]}
            for r in answer["refreshed"]]  # fmt: skip
    emit(args, rows, ("funnel", "days", "first", "last"), "refreshed")
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    common = common_options()
    group = subparsers.add_parser("rollups", help="the funnel rollup: state, refresh")
    actions = group.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", parents=[common], help="days computed per funnel")
    status.set_defaults(func=run_command(_status))
    refresh = actions.add_parser("refresh", parents=[common], help="recompute changed days now")
    refresh.set_defaults(func=run_command(_refresh))
