"""`adtrack advertisers|campaigns|sites|links|events|rejects`: the admin API on the command line.

Routing: a command goes through the running server's admin API when a server answers, and
opens the store itself only when none does (the embedded engine admits one process per data
directory, so while a server runs, the server is the only way in). Input is validated with
the API's own pydantic models on both paths, so both accept and refuse the same things.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from app.catalog import service
from app.catalog.published import row_out
from app.cli.common import (
    BadInput,
    Failure,
    Target,
    call_api,
    common_options,
    emit,
    emit_one,
    limit_arg,
    post_csv,
    print_json,
    pydantic_errors,
    read_csv_file,
    routed,
    run_command,
)
from app.errors import Refused
from app.settings import Settings
from app.store import event_log

if TYPE_CHECKING:
    from app.store.client import Store

# -- the catalog entities -----------------------------------------------------------------
# One table drives every entity's commands: the fields come from the API's own input models,
# the direct path runs the API's own service functions, so both paths behave alike.

# Short flags for reference fields, kept from the first CLI.
_FLAG_NAMES = {
    "advertiser_id": "--advertiser",
    "campaign_id": "--campaign",
    "site_key": "--site",
    "landing_url": "--landing",
    "placement_id": "--placement",
    "creative_id": "--creative",
}
_POSITIONAL_NAME = ("advertisers", "campaigns", "sites")  # `adtrack sites add NAME …`
_STATUS_ACTIONS = {"pause": "paused", "activate": "active", "archive": "archived"}
_CLI_ACTOR = service.Actor("cli", "admin")  # local store access is operator access
# Columns shown in the table view; --json and --csv carry every field.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "advertisers": ("id", "name", "status", "created_at"),
    "partners": ("id", "name", "contact_email", "status"),
    "channels": ("id", "name", "type", "tags", "status"),
    "campaigns": ("id", "advertiser_id", "name", "status", "start_date", "end_date"),
    "sites": ("site_key", "name", "partner", "domain", "channel", "status"),
    "placements": ("id", "site_key", "name", "width", "height", "campaign_ids", "status"),
    "creatives": ("id", "campaign_id", "name", "kind", "weight", "status"),
    "links": ("code", "campaign_id", "site_key", "placement_id", "creative_id", "status", "url",
              "landing_url"),
}  # fmt: skip


def _flag(name: str) -> str:
    return _FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def _kind_of(info: Any) -> str:
    """How a field is typed on the command line: json (objects, lists of objects), list
    (comma-separated strings) or text."""
    text = repr(info.annotation)
    if "dict" in text or "RuleIn" in text or "VariantIn" in text:
        return "json"
    if "list" in text:
        return "list"
    return "text"


def _value(info: Any, raw: str, flag: str) -> Any:
    kind = _kind_of(info)
    if kind == "json":
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise BadInput([(flag, f"not JSON: {exc}")]) from exc
    if kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def _body(model: type[BaseModel], args: argparse.Namespace) -> BaseModel:
    values = {}
    for name, info in model.model_fields.items():
        raw = getattr(args, name, None)
        if raw is not None:
            values[name] = _value(info, raw, _flag(name)) if isinstance(raw, str) else raw
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise BadInput(pydantic_errors(exc)) from exc


def _out(plural: str, entity: Any, settings: Settings) -> dict[str, Any]:
    return json.loads(json.dumps(row_out(plural, entity, settings.base_url), default=str))


def _service_call(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except service.CatalogError as exc:
        raise BadInput([(f, r) for f, r, _ in exc.errors]) from exc
    except service.NotFound as exc:
        raise Failure(str(exc)) from exc


def _add(plural: str, args: argparse.Namespace) -> int:
    body = _body(service.ENTITIES[plural].model_in, args)

    def via_store(store: Store, settings: Settings) -> Any:
        entity = _service_call(lambda: service.create(store, plural, body, _CLI_ACTOR))
        return _out(plural, entity, settings)

    payload = body.model_dump(mode="json")
    row = routed(args, lambda t: call_api(t, "POST", f"/api/v1/{plural}", payload), via_store)
    emit_one(args, row)
    return 0


def _set(plural: str, args: argparse.Namespace, status: str | None = None) -> int:
    model = service.ENTITIES[plural].model_patch
    body = model.model_validate({"status": status}) if status else _body(model, args)
    if not body.model_fields_set:
        raise BadInput([("input", "nothing to change: give at least one --field")])
    key = args.key

    def via_store(store: Store, settings: Settings) -> Any:
        entity = _service_call(lambda: service.update(store, plural, key, body, _CLI_ACTOR))
        return _out(plural, entity, settings)

    payload = body.model_dump(mode="json", exclude_unset=True)
    path = f"/api/v1/{plural}/{urllib.parse.quote(key, safe='')}"
    row = routed(args, lambda t: call_api(t, "PATCH", path, payload), via_store)
    emit_one(args, row)
    return 0


def _show(plural: str, args: argparse.Namespace) -> int:
    def via_store(store: Store, settings: Settings) -> Any:
        return _out(plural, _service_call(lambda: service.get(store, plural, args.key)), settings)

    path = f"/api/v1/{plural}/{urllib.parse.quote(args.key, safe='')}"
    emit_one(args, routed(args, lambda t: call_api(t, "GET", path), via_store))
    return 0


def _list(plural: str, args: argparse.Namespace) -> int:
    state = getattr(args, "status", None)

    def via_store(store: Store, settings: Settings) -> Any:
        rows = service.list_all(store, plural, lambda r: state is None or r.status == state)
        return [_out(plural, r, settings) for r in rows]

    params = {"status": state}
    rows = routed(args, lambda t: call_api(t, "GET", f"/api/v1/{plural}", params=params), via_store)
    emit(args, rows, _COLUMNS[plural], plural)
    return 0


def _import(plural: str, args: argparse.Namespace) -> int:
    from app.catalog import csv_import

    text = read_csv_file(args.file)

    def via_store(store: Store, settings: Settings) -> Any:
        result = csv_import.import_csv(store, plural, text, _CLI_ACTOR, dry_run=args.dry_run)
        if result.errors:
            raise BadInput([(f"line {n}: {f}", r) for n, f, r in result.errors])
        created = [_out(plural, e, settings) for e in result.created]
        return {"dry_run": args.dry_run, "count": len(created), "created": created}

    def via_api(target: Target) -> Any:
        return post_csv(target, f"/api/v1/import/{plural}", text, args.dry_run)

    answer = routed(args, via_api, via_store)
    if args.format == "json":
        print_json(answer)
    else:
        verb = "would create" if answer["dry_run"] else "created"
        print(f"{verb} {answer['count']} {plural}")
        if answer["created"]:
            emit(args, answer["created"], _COLUMNS[plural], plural)
    return 0


# -- events and rejects -------------------------------------------------------------------
# The direct path calls the API's handlers as plain functions so both paths run one query.

_EVENT_COLUMNS = (
    "ts",
    "event_type",
    "site_key",
    "partner_id",
    "campaign_id",
    "link_code",
    "click_id",
    "visitor_id",
    "province",
    "city",
    "device_type",
    "os",
    "browser",
    "is_bot",
)
_REJECT_COLUMNS = ("ts", "reason", "field", "endpoint", "site_key", "detail")
# `events tail` flag -> the event log's filter (app/store/event_filters.py).
_TAIL_FILTERS = {
    "type": "event_type",
    "site": "site_key",
    "partner": "partner_id",
    "campaign": "campaign_id",
    "link": "link_code",
    "province": "province",
    "city": "city",
    "device_type": "device_type",
    "os": "os",
    "browser": "browser",
    "since": "since",
}


def _events_tail(args: argparse.Namespace) -> int:
    filters = {name: getattr(args, flag) for flag, name in _TAIL_FILTERS.items()}

    def via_store(store: Store, _: Settings) -> dict[str, Any]:
        try:
            return {"events": event_log.recent_events(store, filters, args.limit, None)}
        except Refused as exc:
            raise BadInput([(f, r) for f, r, _ in exc.errors]) from exc

    answer = routed(
        args,
        lambda t: call_api(t, "GET", "/api/v1/events", params={**filters, "limit": args.limit}),
        via_store,
    )
    rows = list(reversed(answer["events"]))  # like tail: the newest last
    emit(args, rows, _EVENT_COLUMNS, "events")
    return 0


def _rejects(args: argparse.Namespace) -> int:
    params = {"reason": args.reason, "limit": args.limit}
    answer = routed(
        args,
        lambda t: call_api(t, "GET", "/api/v1/rejects", params=params),
        lambda store, _: event_log.recent_rejects(store, args.reason, args.limit, None),
    )
    rows = list(reversed(answer["rejects"]))
    if args.format == "json":
        print_json({"rejects": rows, "by_reason": answer["by_reason"]})
        return 0
    emit(args, rows, _REJECT_COLUMNS, "rejects")
    if args.format == "table" and answer["by_reason"]:
        counts = ", ".join(f"{k}={v}" for k, v in answer["by_reason"].items())
        print(f"\nall rejects by reason: {counts}")
    return 0


def _command(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    return run_command(handler, _flag_for)


def _flag_for(args: argparse.Namespace, name: str) -> str:
    if getattr(args, "command", "") == "events":
        flags = {f: k for k, f in _TAIL_FILTERS.items()}
        return f"--{flags[name].replace('_', '-')}" if name in flags else ""
    if getattr(args, "command", "") not in service.ENTITIES or name.startswith("line "):
        return ""
    return "NAME" if name == "name" else _flag(name.split(".")[0])


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the catalog, `events` and `rejects` commands to the `adtrack` parser."""
    common = common_options()
    for plural, rules in service.ENTITIES.items():
        group = subparsers.add_parser(plural, help=f"manage {plural}")
        actions = group.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", parents=[common], help=f"add one of the {plural}")
        _add_arguments(plural, rules.model_in, add, positional_name=plural in _POSITIONAL_NAME)
        add.set_defaults(func=_command(lambda a, p=plural: _add(p, a)))
        listing = actions.add_parser("list", parents=[common], help=f"list {plural}")
        listing.add_argument("--status", choices=("active", "paused", "archived"))
        listing.set_defaults(func=_command(lambda a, p=plural: _list(p, a)))
        show = actions.add_parser("show", parents=[common], help="one, with every field")
        show.add_argument("key")
        show.set_defaults(func=_command(lambda a, p=plural: _show(p, a)))
        edit = actions.add_parser("set", parents=[common], help="change fields of one")
        edit.add_argument("key")
        _add_arguments(plural, rules.model_patch, edit, positional_name=False)
        edit.set_defaults(func=_command(lambda a, p=plural: _set(p, a)))
        for verb, state in _STATUS_ACTIONS.items():
            act = actions.add_parser(verb, parents=[common], help=f"set status to {state}")
            act.add_argument("key")
            act.set_defaults(func=_command(lambda a, p=plural, s=state: _set(p, a, s)))
        if plural in ("partners", "sites", "links"):
            imp = actions.add_parser(
                "import", parents=[common], help="add many from a CSV file (all rows or none)"
            )
            imp.add_argument("file", help="CSV with a header line")
            imp.add_argument("--dry-run", action="store_true", help="check only, save nothing")
            imp.set_defaults(func=_command(lambda a, p=plural: _import(p, a)))

    events = subparsers.add_parser("events", help="the stored events")
    actions = events.add_subparsers(dest="action", required=True)
    tail = actions.add_parser(
        "tail", parents=[common], help="the most recent events, the newest last"
    )
    tail.add_argument("--type", default=None, help="only this event type, e.g. click")
    for flag, text in (
        ("site", "only hits of this site key"),
        ("partner", "only this partner's traffic"),
        ("campaign", "only this campaign"),
        ("link", "only this tracked link's code"),
        ("province", "only this province: GB/T 2260 code (150000) or name as stored"),
        ("city", "only this city: GB/T 2260 code (150100) or name as stored"),
        ("device-type", "only desktop, mobile, tablet, bot or other"),
        ("os", "only this operating system, e.g. Android"),
        ("browser", "only this browser, e.g. Chrome"),
        ("since", "only events at or after: ISO date or time (UTC), or 15m, 2h, 7d back"),
    ):
        tail.add_argument(f"--{flag}", default=None, help=text)
    tail.add_argument("--limit", type=limit_arg, default=20, help="how many (1-1000, default 20)")
    tail.set_defaults(func=_command(_events_tail))

    rejects = subparsers.add_parser(
        "rejects", parents=[common], help="the most recent rejected hits, the newest last"
    )
    rejects.add_argument("--reason", default=None, help="only this reason, e.g. unknown_link")
    rejects.add_argument(
        "--limit", type=limit_arg, default=20, help="how many (1-1000, default 20)"
    )
    rejects.set_defaults(func=_command(_rejects))


def _add_arguments(
    plural: str, model: type[BaseModel], parser: argparse.ArgumentParser, *, positional_name: bool
) -> None:
    for name, info in model.model_fields.items():
        text = info.description or name.replace("_", " ")
        kind = _kind_of(info)
        if kind == "json":
            text += " (JSON)"
        elif kind == "list":
            text += " (comma-separated)"
        if name == "name" and positional_name:
            parser.add_argument(name, metavar="NAME", help=text)
        elif name == "status":
            continue  # pause / activate / archive
        else:
            parser.add_argument(
                _flag(name),
                dest=name,
                metavar=name.rsplit("_", 1)[-1].upper(),
                required=info.is_required(),
                help=text,
            )
