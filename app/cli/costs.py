"""`adtrack costs import|list`: media spend on the command line, through the running
server's API when one answers, else straight on the store (see `app.cli.common`)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

from app.cli.common import (
    BadInput,
    Target,
    call_api,
    common_options,
    emit,
    post_csv,
    print_json,
    read_csv_file,
    routed,
    run_command,
)
from app.settings import Settings

if TYPE_CHECKING:
    from app.store.client import Store

_CLI_ACTOR_NAME = "cli"  # local store access is operator access
_COLUMNS = ("day", "campaign_id", "channel", "partner_id", "site_key", "placement_id", "spend",
            "currency", "source")  # fmt: skip


def _import(args: argparse.Namespace) -> int:
    from app.costs import service

    text = read_csv_file(args.file)

    def via_store(store: Store, _: Settings) -> Any:
        actor = service.Actor(_CLI_ACTOR_NAME, "admin")
        result = service.import_csv(store, text, actor, dry_run=args.dry_run)
        if result.errors:
            raise BadInput([(f"line {n}: {f}", r) for n, f, r in result.errors])
        return result.as_json()

    def via_api(target: Target) -> Any:
        return post_csv(target, "/api/v1/import/costs", text, args.dry_run)

    answer = routed(args, via_api, via_store)
    if args.format == "json":
        print_json(answer)
    else:
        verb = "would import" if answer["dry_run"] else "imported"
        print(f"{verb} {answer['count']} cost rows, spend {answer['spend']}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from app.costs import service

    if args.end < args.start:
        raise BadInput([("--end", "end is before start")])
    params = {"start": args.start.isoformat(), "end": args.end.isoformat(),
              "campaign_id": args.campaign}  # fmt: skip

    def via_store(store: Store, _: Settings) -> Any:
        rows = service.list_rows(store, args.start, args.end, args.campaign)
        return {"rows": [service.row_json(r) for r in rows]}

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/costs", params=params), via_store)
    emit(args, answer["rows"], _COLUMNS, "cost rows")
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add `adtrack costs import|list`."""
    common = common_options()
    costs = subparsers.add_parser("costs", help="media spend (for CPC, CPA, ROI)")
    actions = costs.add_subparsers(dest="action", required=True)
    imp = actions.add_parser(
        "import", parents=[common], help="add or replace spend from a CSV file (all rows or none)"
    )
    imp.add_argument(
        "file",
        help="CSV with a header: day, spend and any of campaign_id, channel, partner_id, "
        "site_key, placement_id, currency",
    )
    imp.add_argument("--dry-run", action="store_true", help="check only, save nothing")
    imp.set_defaults(func=run_command(_import))
    listing = actions.add_parser("list", parents=[common], help="spend rows of a range of days")
    listing.add_argument("--start", type=_day, required=True, help="first day, YYYY-MM-DD")
    listing.add_argument("--end", type=_day, required=True, help="last day, YYYY-MM-DD")
    listing.add_argument("--campaign", default=None, help="only this campaign id")
    listing.set_defaults(func=run_command(_list))
