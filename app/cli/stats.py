"""`adtrack stats <report>`: every declared report (`app.attribution.reports`) on the
command line, as a table, CSV or JSON; its flags, defaults and columns generated from the
declaration.

A command has only its report's flags and, for a report that takes the common filter, the
filter's; any other (`--window` on a report without a window) exits 2 naming it.

Routed like the catalog commands: through the running server's API, else on the store
directly with the same report functions, so both print the same.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from app.attribution import periods
from app.attribution.filters import (
    DEFAULT_TZ,
    LIST_COLUMNS,
    RETURNING_DAYS,
    VISITOR_KINDS,
    Filter,
    FilterError,
)
from app.attribution.report import Param, Report, split_values
from app.attribution.reports import REPORTS
from app.cli.common import (
    BadInput,
    call_api,
    common_options,
    emit,
    emit_one,
    print_json,
    routed,
    run_command,
)
from app.settings import Settings

if TYPE_CHECKING:
    from app.store.client import Store

_FILTER_FLAGS = (*LIST_COLUMNS, "channel_type")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _params(args: argparse.Namespace) -> dict[str, Any]:
    # The days as given: the server resolves them (app.attribution.periods), as _filter does.
    params: dict[str, Any] = {"start": args.start and args.start.isoformat(),
                              "end": args.end and args.end.isoformat(), "last": args.last,
                              "month": args.month, "yesterday": args.yesterday or None,
                              "tz": args.tz, "include_bots": args.include_bots or None,
                              "visitor": args.visitor,
                              "returning_days": args.returning_days}  # fmt: skip
    for name in _FILTER_FLAGS:
        if getattr(args, name):
            params[name] = getattr(args, name)
    return params


def _filter(args: argparse.Namespace) -> Filter:
    lists = {name: split_values(getattr(args, name)) for name in _FILTER_FLAGS}
    try:
        start, end = periods.resolve(
            start=args.start, end=args.end, last=args.last, month=args.month,
            yesterday=args.yesterday, tz=args.tz, now=datetime.now(UTC),
        )  # fmt: skip
        return Filter.asked(start, end, tz=args.tz, include_bots=args.include_bots,
                            visitor=args.visitor or "", returning_days=args.returning_days,
                            **lists)  # fmt: skip
    except FilterError as exc:
        raise BadInput([(exc.field or "filter", str(exc))]) from exc


def _checked(action: Any) -> Any:
    try:
        return action()
    except FilterError as exc:
        raise BadInput([(exc.field or "report", str(exc))]) from exc


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    common = common_options()
    report = argparse.ArgumentParser(add_help=False)
    # The days, given one way: --start and --end, --last, --month or --yesterday.
    report.add_argument("--start", type=_date, help="first day (YYYY-MM-DD)")
    report.add_argument("--end", type=_date, help="last day, included")
    report.add_argument("--last", help="the N whole days before today, e.g. 7d")
    report.add_argument("--month", help="a calendar month, e.g. 2026-11")
    report.add_argument("--yesterday", action="store_true", help="the day before today")
    report.add_argument("--tz", default=DEFAULT_TZ, help=f"the days' time zone ({DEFAULT_TZ})")
    report.add_argument("--include-bots", action="store_true", help="count bot traffic too")
    report.add_argument("--visitor", choices=VISITOR_KINDS, default=None,
                        help="only new visitors (no visit in the --returning-days before "
                        "--start) or only returning ones")  # fmt: skip
    report.add_argument("--returning-days", type=int, default=RETURNING_DAYS,
                        help=f"a visit this many days before the start makes a returning "
                        f"visitor ({RETURNING_DAYS})")  # fmt: skip
    for name in _FILTER_FLAGS:
        report.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                            help=f"only these {name} values (comma-separated)")  # fmt: skip
    group = subparsers.add_parser("stats", help="funnels, rankings and attribution")
    actions = group.add_subparsers(dest="action", required=True)
    for declared in REPORTS:
        _add_report(actions, declared, [common, report] if declared.filtered else [common])


# -- the commands generated from the declarations -------------------------------------------


def _add_report(actions: argparse._SubParsersAction, report: Report, parents: list) -> None:
    # Only the flags the report reads (its own, the common filter's when it takes it): any
    # other is argparse's usage error naming it, and none is abbreviated, so a misspelt flag
    # is never read as another.
    parser = actions.add_parser(
        report.name, parents=parents, help=report.summary, allow_abbrev=False
    )
    for param in report.params:
        _add_param(parser, param)
    parser.set_defaults(func=run_command(lambda args: _run(report, args)))


def _add_param(parser: argparse.ArgumentParser, param: Param) -> None:
    options: dict[str, Any] = {"dest": param.name, "help": param.help or None}
    if param.type is bool:
        options["action"] = "store_true"
    elif param.type is list:
        options["default"] = None  # comma-separated, as the API takes them
    else:
        options["type"] = {int: int, float: float, date: _date}.get(param.type)
        options["default"] = param.default
        options["choices"] = param.choices or None
        options["required"] = param.required
    parser.add_argument(param.flag, **options)


def _run(report: Report, args: argparse.Namespace) -> int:
    """Ask the server's API (else the store) for the report; print it as asked."""
    given = {p.name: getattr(args, p.name) for p in report.params}
    wire = {
        name: (value or None) if isinstance(value, bool) else value for name, value in given.items()
    }
    if report.filtered:
        wire = {**_params(args), **wire}

    def via_store(store: Store, _: Settings) -> Any:
        flt = _filter(args) if report.filtered else None
        return _checked(lambda: report.answer(store, flt, given))

    path = f"/api/v1/stats/{report.path}"
    answer = routed(args, lambda t: call_api(t, "GET", path, params=wire), via_store)
    if args.format == "json":
        print_json(answer)
        return 0
    if args.format == "csv":  # for machines: plain numbers, ranges in two columns
        emit(args, report.machine_rows(answer), [], report.noun)
        return 0
    rows, columns = report.table(answer)
    if args.format == "table" and report.headline:
        emit_one(args, report.headline_row(answer))
        print()
    emit(args, rows, [c.header for c in columns], report.noun)
    if args.format == "table" and report.footer:
        print(report.footer.format(**answer))
    if args.format == "table" and answer.get("counts"):
        print(f"counts: {answer['counts']}")
    return 0
