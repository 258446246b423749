"""What every `adtrack` command that talks to the admin API shares: the HTTP client, routing
(the running server's API when one answers, else the store opened directly: the embedded
engine admits one process per data directory), output as a table, CSV or JSON, the common
options and exit statuses. Used by the catalog, users and stats commands.
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
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.csv_safety import safe_cell
from app.settings import Settings, load_settings
from app.store.errors import StoreError

if TYPE_CHECKING:
    from app.store.client import Store

_LIMIT_MAX = 1000  # the API's bound on ?limit=
_CELL_MAX = 60  # table cells longer than this are shortened; --json and --csv carry all


class BadInput(Exception):
    """Input refused: (field, reason) pairs. Exit status 2."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


class Failure(Exception):
    """Anything else that stops a command. Exit status 1."""


class NoServer(Exception):
    """Nothing listens at the server URL."""


def pydantic_errors(exc: ValidationError) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]) or "input", e["msg"]) for e in exc.errors()]


# -- the HTTP client ----------------------------------------------------------------------


def http_json(
    method: str,
    url: str,
    token: str,
    body: Any = None,
    timeout: float = 30,
    *,
    raw: bytes | None = None,
    kind: str = "application/json",
) -> tuple[int, Any]:
    """One JSON request: (status, decoded body). Raises NoServer when the connection is
    refused or the host does not resolve (nothing was sent), Failure on other network errors.

    The stdlib client, not httpx: four JSON calls do not justify a runtime dependency.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise Failure(f"server URL must be http:// or https://: {url}")
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
            raise NoServer(str(exc.reason)) from exc
        raise Failure(f"cannot reach the server at {url}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:  # after the request went out
        raise Failure(f"no answer from the server at {url}: {exc}") from exc


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")[:500]


# -- routing: the server's API, or the store ----------------------------------------------


@dataclass
class Target:
    settings: Settings
    url: str
    token: str
    explicit_url: bool


def _target(args: argparse.Namespace) -> Target:
    try:
        settings = load_settings()
    except ValidationError as exc:
        raise BadInput(
            [
                (f"ADTRACK_{name.upper()}" if name else "settings", m)
                for name, m in pydantic_errors(exc)
            ]
        ) from exc
    url = args.url or settings.local_url()
    token = args.token or settings.admin_token
    token_file = settings.data_dir / "admin_token"
    if not token:
        with contextlib.suppress(OSError):  # unreadable: the server's 401 then says what to do
            token = token_file.read_text("utf-8").strip()
    return Target(settings, url.rstrip("/"), token, explicit_url=bool(args.url))


def call_api(
    target: Target, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
) -> Any:
    """Call the admin API; map its refusals onto BadInput (422) and Failure (the rest)."""
    query = {k: v for k, v in (params or {}).items() if v is not None}
    url = target.url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
    status, answer = http_json(method, url, target.token, body)
    if 200 <= status < 300:
        return answer
    detail = answer.get("detail") if isinstance(answer, dict) else answer
    if status == 422 and isinstance(detail, list):
        raise BadInput(
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
        raise Failure(f"the server at {target.url} refused the admin token ({why}); {hint}")
    raise Failure(f"the server at {target.url} answered {status} to {method} {path}: {detail}")


def routed(
    args: argparse.Namespace,
    via_api: Callable[[Target], Any],
    via_store: Callable[[Store, Settings], Any],
) -> Any:
    target = _target(args)
    try:
        return via_api(target)
    except NoServer as exc:
        if target.explicit_url:
            raise Failure(f"no server answers at {target.url} ({exc})") from exc
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
        raise Failure(f"{exc}{hint}") from exc
    try:
        migrate(store)
        yield store
    finally:
        store.close()


def read_csv_file(path: str) -> str:
    """A CSV file's text (UTF-8, a byte-order mark dropped); Failure when unreadable."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise Failure(f"cannot read {path}: {exc}") from exc


def post_csv(target: Target, route: str, text: str, dry_run: bool) -> Any:
    """POST a CSV body to an all-or-nothing import route; its per-line refusals (422, loc
    `[body, line, field]`) become BadInput."""
    query = "?dry_run=true" if dry_run else ""
    status, answer = http_json(
        "POST", f"{target.url}{route}{query}", target.token, raw=text.encode(), kind="text/csv"
    )
    if 200 <= status < 300:
        return answer
    detail = answer.get("detail") if isinstance(answer, dict) else answer
    if status == 422 and isinstance(detail, list):
        raise BadInput(
            [(f"line {e['loc'][1]}: {e['loc'][2]}" if len(e["loc"]) > 2 else "file",
              e["msg"]) for e in detail]
        )  # fmt: skip
    raise Failure(f"the server answered {status}: {detail}")


# -- output -------------------------------------------------------------------------------


def emit(
    args: argparse.Namespace, rows: list[dict[str, Any]], columns: Sequence[str], what: str
) -> None:
    if args.format == "json":
        print_json(rows)
    elif args.format == "csv":
        _print_csv(rows)
    elif not rows:
        print(f"(no {what})")
    else:
        print(_table(rows, columns))


def emit_one(args: argparse.Namespace, row: dict[str, Any]) -> None:
    if args.format == "json":
        print_json(row)
    elif args.format == "csv":
        _print_csv([row])
    else:
        width = max(len(k) for k in row)
        for key, value in row.items():
            print(f"{key.ljust(width)}  {_text(value)}")


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _print_csv(rows: list[dict[str, Any]]) -> None:
    names = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_csv_cell(row.get(name)) for name in names])


def _csv_cell(value: Any) -> str:
    # Text can come from anyone (a pixel's `c=`): never a formula in a spreadsheet. Numbers,
    # flags and JSON are ours and cannot start one.
    return safe_cell(value) if isinstance(value, str) else _text(value)


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


def limit_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= _LIMIT_MAX:
        raise argparse.ArgumentTypeError(f"must be between 1 and {_LIMIT_MAX}")
    return value


def common_options() -> argparse.ArgumentParser:
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


def run_command(
    handler: Callable[[argparse.Namespace], int],
    flag_for: Callable[[argparse.Namespace, str], str] | None = None,
) -> Callable[[argparse.Namespace], int]:
    """Exit status 2 for refused input (each field named, with its flag when `flag_for`
    knows it), 1 for any other failure, 0 for success."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except BadInput as exc:
            for name, message in exc.errors:
                flag = flag_for(args, name) if flag_for else ""
                print(f"adtrack: {name}{f' ({flag})' if flag else ''}: {message}", file=sys.stderr)
            return 2
        except (Failure, StoreError) as exc:
            print(f"adtrack: {exc}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # `adtrack links list | head`
            return 1

    return run
