"""`adtrack advertisers|campaigns|sites|links|events|rejects`: the admin API on the command line.

Routing: a command goes through the running server's admin API when a server answers, and
opens the store itself only when none does (the embedded engine admits one process per data
directory, so while a server runs, the server is the only way in). Input is validated with
the API's own pydantic models on both paths, so both accept and refuse the same things.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import json
import socket
import sys
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from app.catalog import service
from app.settings import Settings, load_settings
from app.store.client import Store, StoreError

_LIMIT_MAX = 1000  # the API's bound on ?limit=
_CELL_MAX = 60  # table cells longer than this are shortened; --json and --csv carry all


class _BadInput(Exception):
    """Input refused: (field, reason) pairs. Exit status 2."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


class _Failure(Exception):
    """Anything else that stops a command. Exit status 1."""


class _NoServer(Exception):
    """Nothing listens at the server URL."""


# -- the HTTP client ----------------------------------------------------------------------


def _http(
    method: str,
    url: str,
    token: str,
    body: Any = None,
    timeout: float = 30,
    *,
    raw: bytes | None = None,
    kind: str = "application/json",
) -> tuple[int, Any]:
    """One JSON request: (status, decoded body). Raises _NoServer when the connection is
    refused or the host does not resolve (nothing was sent), _Failure on other network errors.

    The stdlib client, not httpx: four JSON calls do not justify a runtime dependency.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise _Failure(f"server URL must be http:// or https://: {url}")
    headers = {"Accept": "application/json"}
    data = raw
    if body is not None:
        data = json.dumps(body).encode("utf-8")
    if data is not None:
        headers["Content-Type"] = kind
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _decode(exc.read())
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
            raise _NoServer(str(exc.reason)) from exc
        raise _Failure(f"cannot reach the server at {url}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:  # after the request went out
        raise _Failure(f"no answer from the server at {url}: {exc}") from exc


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")[:500]


# -- routing: the server's API, or the store ----------------------------------------------


@dataclass
class _Target:
    settings: Settings
    url: str
    token: str
    explicit_url: bool


def _target(args: argparse.Namespace) -> _Target:
    try:
        settings = load_settings()
    except ValidationError as exc:
        raise _BadInput(
            [
                (f"ADTRACK_{name.upper()}" if name else "settings", m)
                for name, m in _pydantic_errors(exc)
            ]
        ) from exc
    url = args.url or settings.local_url()
    token = args.token or settings.admin_token
    token_file = settings.data_dir / "admin_token"
    if not token:
        with contextlib.suppress(OSError):  # unreadable: the server's 401 then says what to do
            token = token_file.read_text("utf-8").strip()
    return _Target(settings, url.rstrip("/"), token, explicit_url=bool(args.url))


def _api(
    target: _Target, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
) -> Any:
    """Call the admin API; map its refusals onto _BadInput (422) and _Failure (the rest)."""
    query = {k: v for k, v in (params or {}).items() if v is not None}
    url = target.url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
    status, answer = _http(method, url, target.token, body)
    if 200 <= status < 300:
        return answer
    detail = answer.get("detail") if isinstance(answer, dict) else answer
    if status == 422 and isinstance(detail, list):
        raise _BadInput(
            [
                (".".join(str(p) for p in e.get("loc", [])[1:]) or "request", str(e.get("msg", "")))
                for e in detail
            ]
        )
    if status == 401:
        why = detail.get("detail", "") if isinstance(detail, dict) else str(detail)
        hint = (
            "pass --token, set ADTRACK_ADMIN_TOKEN, or run where the data dir's "
            "admin_token file is readable"
        )
        raise _Failure(f"the server at {target.url} refused the admin token ({why}); {hint}")
    raise _Failure(f"the server at {target.url} answered {status} to {method} {path}: {detail}")


def _routed(
    args: argparse.Namespace,
    via_api: Callable[[_Target], Any],
    via_store: Callable[[Store, Settings], Any],
) -> Any:
    target = _target(args)
    try:
        return via_api(target)
    except _NoServer as exc:
        if target.explicit_url:
            raise _Failure(f"no server answers at {target.url} ({exc})") from exc
    print(f"adtrack: no server at {target.url}; using the store directly", file=sys.stderr)
    with _open_store(target.settings) as store:
        return via_store(store, target.settings)


@contextlib.contextmanager
def _open_store(settings: Settings) -> Iterator[Store]:
    from app.store.client import open_store
    from app.store.migrate import migrate

    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        store = open_store(settings.clickhouse_url)
    except StoreError as exc:
        hint = (
            " (is a server using this data dir at another address? pass --url)"
            if settings.embedded
            else ""
        )
        raise _Failure(f"{exc}{hint}") from exc
    try:
        migrate(store)
        yield store
    finally:
        store.close()


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
            raise _BadInput([(flag, f"not JSON: {exc}")]) from exc
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
        raise _BadInput(_pydantic_errors(exc)) from exc


def _pydantic_errors(exc: ValidationError) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]) or "input", e["msg"]) for e in exc.errors()]


def _out(plural: str, entity: Any, settings: Settings) -> dict[str, Any]:
    from app.api.catalog import OUT

    return json.loads(json.dumps(OUT[plural][1](entity, settings.base_url), default=str))


def _service_call(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except service.CatalogError as exc:
        raise _BadInput([(f, r) for f, r, _ in exc.errors]) from exc
    except service.NotFound as exc:
        raise _Failure(str(exc)) from exc


def _add(plural: str, args: argparse.Namespace) -> int:
    body = _body(service.ENTITIES[plural].model_in, args)

    def via_store(store: Store, settings: Settings) -> Any:
        entity = _service_call(lambda: service.create(store, plural, body, _CLI_ACTOR))
        return _out(plural, entity, settings)

    payload = body.model_dump(mode="json")
    row = _routed(args, lambda t: _api(t, "POST", f"/api/v1/{plural}", payload), via_store)
    _emit_one(args, row)
    return 0


def _set(plural: str, args: argparse.Namespace, status: str | None = None) -> int:
    model = service.ENTITIES[plural].model_patch
    body = model.model_validate({"status": status}) if status else _body(model, args)
    if not body.model_fields_set:
        raise _BadInput([("input", "nothing to change: give at least one --field")])
    key = args.key

    def via_store(store: Store, settings: Settings) -> Any:
        entity = _service_call(lambda: service.update(store, plural, key, body, _CLI_ACTOR))
        return _out(plural, entity, settings)

    payload = body.model_dump(mode="json", exclude_unset=True)
    path = f"/api/v1/{plural}/{urllib.parse.quote(key, safe='')}"
    row = _routed(args, lambda t: _api(t, "PATCH", path, payload), via_store)
    _emit_one(args, row)
    return 0


def _show(plural: str, args: argparse.Namespace) -> int:
    def via_store(store: Store, settings: Settings) -> Any:
        return _out(plural, _service_call(lambda: service.get(store, plural, args.key)), settings)

    path = f"/api/v1/{plural}/{urllib.parse.quote(args.key, safe='')}"
    _emit_one(args, _routed(args, lambda t: _api(t, "GET", path), via_store))
    return 0


def _list(plural: str, args: argparse.Namespace) -> int:
    state = getattr(args, "status", None)

    def via_store(store: Store, settings: Settings) -> Any:
        rows = service.list_all(store, plural, lambda r: state is None or r.status == state)
        return [_out(plural, r, settings) for r in rows]

    params = {"status": state}
    rows = _routed(args, lambda t: _api(t, "GET", f"/api/v1/{plural}", params=params), via_store)
    _emit(args, rows, _COLUMNS[plural], plural)
    return 0


def _import(plural: str, args: argparse.Namespace) -> int:
    from app.catalog import csv_import

    try:
        with open(args.file, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Failure(f"cannot read {args.file}: {exc}") from exc

    def via_store(store: Store, settings: Settings) -> Any:
        result = csv_import.import_csv(store, plural, text, _CLI_ACTOR, dry_run=args.dry_run)
        if result.errors:
            raise _BadInput([(f"line {n}: {f}", r) for n, f, r in result.errors])
        created = [_out(plural, e, settings) for e in result.created]
        return {"dry_run": args.dry_run, "count": len(created), "created": created}

    def via_api(target: _Target) -> Any:
        query = "?dry_run=true" if args.dry_run else ""
        url = f"{target.url}/api/v1/import/{plural}{query}"
        status, answer = _http("POST", url, target.token, raw=text.encode(), kind="text/csv")
        if 200 <= status < 300:
            return answer
        detail = answer.get("detail") if isinstance(answer, dict) else answer
        if status == 422 and isinstance(detail, list):
            raise _BadInput(
                [(f"line {e['loc'][1]}: {e['loc'][2]}" if len(e["loc"]) > 2 else "file",
                  e["msg"]) for e in detail]
            )  # fmt: skip
        raise _Failure(f"the server answered {status}: {detail}")

    answer = _routed(args, via_api, via_store)
    if args.format == "json":
        _print_json(answer)
    else:
        verb = "would create" if answer["dry_run"] else "created"
        print(f"{verb} {answer['count']} {plural}")
        if answer["created"]:
            _emit(args, answer["created"], _COLUMNS[plural], plural)
    return 0


# -- events and rejects -------------------------------------------------------------------
# The direct path calls the API's handlers as plain functions so both paths run one query.

_EVENT_COLUMNS = (
    "ts",
    "event_type",
    "site_key",
    "campaign_id",
    "link_code",
    "click_id",
    "visitor_id",
    "country_code",
    "device_type",
    "is_bot",
)
_REJECT_COLUMNS = ("ts", "reason", "field", "endpoint", "site_key", "detail")


def _events_tail(args: argparse.Namespace) -> int:
    from app.api import events

    params = {"event_type": args.type, "limit": args.limit}
    answer = _routed(
        args,
        lambda t: _api(t, "GET", "/api/v1/events", params=params),
        lambda store, _: events.list_events("admin", store, event_type=args.type, limit=args.limit),
    )
    rows = list(reversed(answer["events"]))  # like tail: the newest last
    _emit(args, rows, _EVENT_COLUMNS, "events")
    return 0


def _rejects(args: argparse.Namespace) -> int:
    from app.api import events

    params = {"reason": args.reason, "limit": args.limit}
    answer = _routed(
        args,
        lambda t: _api(t, "GET", "/api/v1/rejects", params=params),
        lambda store, _: events.list_rejects("admin", store, reason=args.reason, limit=args.limit),
    )
    rows = list(reversed(answer["rejects"]))
    if args.format == "json":
        _print_json({"rejects": rows, "by_reason": answer["by_reason"]})
        return 0
    _emit(args, rows, _REJECT_COLUMNS, "rejects")
    if args.format == "table" and answer["by_reason"]:
        counts = ", ".join(f"{k}={v}" for k, v in answer["by_reason"].items())
        print(f"\nall rejects by reason: {counts}")
    return 0


# -- output -------------------------------------------------------------------------------


def _emit(
    args: argparse.Namespace, rows: list[dict[str, Any]], columns: Sequence[str], what: str
) -> None:
    if args.format == "json":
        _print_json(rows)
    elif args.format == "csv":
        _print_csv(rows)
    elif not rows:
        print(f"(no {what})")
    else:
        print(_table(rows, columns))


def _emit_one(args: argparse.Namespace, row: dict[str, Any]) -> None:
    if args.format == "json":
        _print_json(row)
    elif args.format == "csv":
        _print_csv([row])
    else:
        width = max(len(k) for k in row)
        for key, value in row.items():
            print(f"{key.ljust(width)}  {_text(value)}")


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _print_csv(rows: list[dict[str, Any]]) -> None:
    names = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_text(row.get(name)) for name in names])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(_width(c), *(_width(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True))

    return "\n".join(line(v).rstrip() for v in [list(columns), *cells])


def _cell(value: Any) -> str:
    text = _text(value).replace("\n", " ")
    if isinstance(value, str) and len(text) >= 19 and text[10:11] == "T" and text[:4].isdigit():
        text = text[:19].replace("T", " ")  # an ISO timestamp, to the second (UTC)
    return text if len(text) <= _CELL_MAX else text[: _CELL_MAX - 1] + "…"


def _width(text: str) -> int:
    """Display width: CJK names take two columns a character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# -- the argument parsers -----------------------------------------------------------------


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= _LIMIT_MAX:
        raise argparse.ArgumentTypeError(f"must be between 1 and {_LIMIT_MAX}")
    return value


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default="",
        help="the server's base URL (default: ADTRACK_PUBLIC_URL, else "
        "http://ADTRACK_HOST:ADTRACK_PORT); when given, never falls back "
        "to opening the store",
    )
    common.add_argument(
        "--token",
        default="",
        help="admin token (default: ADTRACK_ADMIN_TOKEN, else the data dir's admin_token file)",
    )
    out = common.add_mutually_exclusive_group()
    out.add_argument("--json", dest="format", action="store_const", const="json", help="print JSON")
    out.add_argument("--csv", dest="format", action="store_const", const="csv", help="print CSV")
    common.set_defaults(format="table")
    return common


def _run(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except _BadInput as exc:
            for name, message in exc.errors:
                flag = _flag_for(args, name)
                print(f"adtrack: {name}{f' ({flag})' if flag else ''}: {message}", file=sys.stderr)
            return 2
        except (_Failure, StoreError) as exc:
            print(f"adtrack: {exc}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # `adtrack links list | head`
            return 1

    return run


def _flag_for(args: argparse.Namespace, name: str) -> str:
    if getattr(args, "command", "") not in service.ENTITIES or name.startswith("line "):
        return ""
    return "NAME" if name == "name" else _flag(name.split(".")[0])


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the catalog, `events` and `rejects` commands to the `adtrack` parser."""
    common = _common()
    for plural, rules in service.ENTITIES.items():
        group = subparsers.add_parser(plural, help=f"manage {plural}")
        actions = group.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", parents=[common], help=f"add one of the {plural}")
        _add_arguments(plural, rules.model_in, add, positional_name=plural in _POSITIONAL_NAME)
        add.set_defaults(func=_run(lambda a, p=plural: _add(p, a)))
        listing = actions.add_parser("list", parents=[common], help=f"list {plural}")
        listing.add_argument("--status", choices=("active", "paused", "archived"))
        listing.set_defaults(func=_run(lambda a, p=plural: _list(p, a)))
        show = actions.add_parser("show", parents=[common], help="one, with every field")
        show.add_argument("key")
        show.set_defaults(func=_run(lambda a, p=plural: _show(p, a)))
        edit = actions.add_parser("set", parents=[common], help="change fields of one")
        edit.add_argument("key")
        _add_arguments(plural, rules.model_patch, edit, positional_name=False)
        edit.set_defaults(func=_run(lambda a, p=plural: _set(p, a)))
        for verb, state in _STATUS_ACTIONS.items():
            act = actions.add_parser(verb, parents=[common], help=f"set status to {state}")
            act.add_argument("key")
            act.set_defaults(func=_run(lambda a, p=plural, s=state: _set(p, a, s)))
        if plural in ("partners", "sites", "links"):
            imp = actions.add_parser(
                "import", parents=[common], help="add many from a CSV file (all rows or none)"
            )
            imp.add_argument("file", help="CSV with a header line")
            imp.add_argument("--dry-run", action="store_true", help="check only, save nothing")
            imp.set_defaults(func=_run(lambda a, p=plural: _import(p, a)))

    events = subparsers.add_parser("events", help="the stored events")
    actions = events.add_subparsers(dest="action", required=True)
    tail = actions.add_parser(
        "tail", parents=[common], help="the most recent events, the newest last"
    )
    tail.add_argument("--type", default=None, help="only this event type, e.g. click")
    tail.add_argument("--limit", type=_limit, default=20, help="how many (1-1000, default 20)")
    tail.set_defaults(func=_run(_events_tail))

    rejects = subparsers.add_parser(
        "rejects", parents=[common], help="the most recent rejected hits, the newest last"
    )
    rejects.add_argument("--reason", default=None, help="only this reason, e.g. unknown_link")
    rejects.add_argument("--limit", type=_limit, default=20, help="how many (1-1000, default 20)")
    rejects.set_defaults(func=_run(_rejects))


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
