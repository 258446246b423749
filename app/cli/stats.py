"""`adtrack stats funnel|ranking|conversion-ranking|attribution|traffic|distribution|paths|
pages|dropoff|silence|touchpoints|referral`: the stats API on the command line (table, CSV,
JSON).

Routed like the catalog commands: through the running server's API, else on the store
directly with the same report functions (`app.attribution.stats`), so both print the same.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

from app.attribution import (
    engagement,
    referral,
    scoreboard,
    stats,
    touchpoints,
    trajectories,
)
from app.attribution.filters import (
    DEFAULT_TZ,
    LIST_COLUMNS,
    RETURNING_DAYS,
    VISITOR_KINDS,
    Filter,
    FilterError,
    check_range,
)
from app.attribution.funnel import DEFAULT_WINDOW_SECONDS
from app.attribution.report import Param, Report
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
from app.rollups import rankings
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
    params: dict[str, Any] = {"start": args.start.isoformat(), "end": args.end.isoformat(),
                              "tz": args.tz, "include_bots": args.include_bots or None,
                              "visitor": args.visitor,
                              "returning_days": args.returning_days}  # fmt: skip
    for name in _FILTER_FLAGS:
        if getattr(args, name):
            params[name] = getattr(args, name)
    return params


def _filter(args: argparse.Namespace) -> Filter:
    lists = {
        name: tuple(v.strip() for v in (getattr(args, name) or "").split(",") if v.strip())
        for name in _FILTER_FLAGS
    }
    try:
        return Filter.asked(args.start, args.end, tz=args.tz, include_bots=args.include_bots,
                            visitor=args.visitor or "", returning_days=args.returning_days,
                            **lists)  # fmt: skip
    except FilterError as exc:
        raise BadInput([(exc.field or "filter", str(exc))]) from exc


def _checked(action: Any) -> Any:
    try:
        return action()
    except FilterError as exc:
        raise BadInput([(exc.field or "report", str(exc))]) from exc


def _funnel(args: argparse.Namespace) -> int:
    params = {**_params(args), "steps": args.steps, "window": args.window, "by": args.by,
              "source": args.source}  # fmt: skip

    def via_store(store: Store, _: Settings) -> Any:
        steps = [s for s in (args.steps or "").split(",") if s]
        return _checked(lambda: stats.funnel_report(
            store, _filter(args), steps, window_seconds=args.window, by=args.by,
            source=args.source))  # fmt: skip

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/stats/funnel", params=params),
                     via_store)  # fmt: skip
    if args.format == "json":
        print_json(answer)
        return 0
    rows = [
        {"value": row["value"] or "(all)", "step": s["step"], "entries": s["entries"],
         "conversion": _pct(s["conversion"]), "overall": _pct(s["overall"]),
         "median_s": s["median_seconds"]}
        for row in answer["rows"] for s in row["steps"]
    ]  # fmt: skip
    emit(args, rows, ("value", "step", "entries", "conversion", "overall", "median_s"), "rows")
    return 0


def _conversion_ranking(args: argparse.Namespace) -> int:
    params = {**_params(args), "by": args.by, "trials_step": args.trials_step,
              "success_step": args.success_step, "window": args.window,
              "min_trials": args.min_trials}  # fmt: skip

    def via_store(store: Store, _: Settings) -> Any:
        return _checked(lambda: stats.ranking_report(
            store, _filter(args), args.by, trials_step=args.trials_step,
            success_step=args.success_step, window_seconds=args.window,
            min_trials=args.min_trials))  # fmt: skip

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/stats/conversion-ranking",
                                          params=params), via_store)  # fmt: skip
    if args.format == "json":
        print_json(answer)
        return 0
    rows = [
        {**r, "rate": _pct(r["rate"]), "interval": f"{_pct(r['low'])}–{_pct(r['high'])}"}
        for r in answer["rows"]
    ]
    emit(args, rows, ("rank", "key", "successes", "trials", "rate", "interval", "verdict"),
          "rows")  # fmt: skip
    return 0


def _attribution(args: argparse.Namespace) -> int:
    params = {**_params(args), "by": args.by, "models": args.models,
              "click_lookback_days": args.click_lookback_days,
              "view_lookback_days": args.view_lookback_days,
              "half_life_days": args.half_life_days, "markov_order": args.markov_order}  # fmt: skip
    chosen = tuple(m for m in (args.models or "").split(",") if m) or stats.ATTRIBUTION_MODELS

    def via_store(store: Store, _: Settings) -> Any:
        return _checked(lambda: stats.attribution_report(
            store, _filter(args), args.by, chosen,
            click_lookback_days=args.click_lookback_days,
            view_lookback_days=args.view_lookback_days,
            half_life_days=args.half_life_days, markov_order=args.markov_order))  # fmt: skip

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/stats/attribution", params=params),
                     via_store)  # fmt: skip
    if args.format == "json":
        print_json(answer)
        return 0
    names = answer["models"]
    rows = [
        {"value": row["value"], **{m: f"{row['conversions'][m]:.2f}" for m in names}}
        for row in answer["rows"]
    ]
    rows.append({"value": "(total)",
                 **{m: f"{answer['totals']['conversions'][m]:.2f}" for m in names}})  # fmt: skip
    emit(args, rows, ("value", *names), "rows")
    return 0


def _distribution(args: argparse.Namespace) -> int:
    params = {**_params(args), "unit": args.unit}

    def via_store(store: Store, _: Settings) -> Any:
        return _checked(lambda: stats.distribution_report(store, _filter(args), args.unit))

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/stats/distribution",
                                          params=params), via_store)  # fmt: skip
    if args.format == "json":
        print_json(answer)
        return 0
    emit(args, answer["rows"], ("slot", "visits", "visitors"), "rows")
    return 0


def _report(args: argparse.Namespace, path: str, params: dict[str, Any], local: Any) -> Any:
    """The answer of `GET path` (or `local(store, filter)` without a server); None once it
    has been printed as JSON."""
    answer = routed(args, lambda t: call_api(t, "GET", path, params=params),
                    lambda store, _: _checked(lambda: local(store, _filter(args))))  # fmt: skip
    if args.format == "json":
        print_json(answer)
        return None
    return answer


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _ranking(args: argparse.Namespace) -> int:
    params = {**_params(args), "by": args.by, "sort": args.sort, "min_trials": args.min_trials,
              "compare": args.compare, "currency": args.currency}  # fmt: skip
    answer = _report(args, "/api/v1/stats/ranking", params, lambda store, flt: (
        scoreboard.scoreboard_report(store, flt, args.by, args.sort, args.min_trials,
                                     args.compare, currency=args.currency)))  # fmt: skip
    if answer is None:
        return 0
    rows = []
    for r in answer["rows"]:
        conv = r["conversion_rate"]
        rows.append({
            "rank": r["rank"], "value": r["value"] or "(none)", "verdict": r["verdict"],
            "clicks": r["clicks"], "ctr": _pct(r["ctr"]["rate"]), "orders": r["orders"],
            "conv": _pct(conv["rate"]), "interval": f"{_pct(conv['low'])}–{_pct(conv['high'])}",
            "revenue": _money(r["revenue"]), "spend": _money(r["spend"]), "cpa": _money(r["cpa"]),
            "roas": _money(r["roas"]),
            "prev_rank": (r.get("previous") or {}).get("rank", ""),
        })  # fmt: skip
    columns = ["rank", "value", "verdict", "clicks", "ctr", "orders", "conv", "interval",
               "revenue", "spend", "cpa", "roas"]  # fmt: skip
    emit(args, rows, (*columns, "prev_rank") if args.compare else columns, "rows")
    return 0


def _ranking_history(args: argparse.Namespace) -> int:
    params = {"start": args.start.isoformat(), "end": args.end.isoformat(), "by": args.by,
              "value": args.value}  # fmt: skip
    values = tuple(v for v in (args.value or "").split(",") if v)
    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/stats/ranking/history",
                                          params=params),
                    lambda store, _: _checked(lambda: _history(store, args, values)))  # fmt: skip
    if args.format == "json":
        print_json(answer)
        return 0
    rows = [{"value": row["value"], **p, "conversion_rate": _pct(p["conversion_rate"])}
            for row in answer["rows"] for p in row["points"]]  # fmt: skip
    emit(args, rows, ("value", "day", "rank", "verdict", "clicks", "orders", "conversion_rate"),
         "snapshots")  # fmt: skip
    return 0


def _history(store: Store, args: argparse.Namespace, values: tuple[str, ...]) -> Any:
    check_range(args.start, args.end)
    return rankings.history(store, args.by, args.start, args.end, values)


def _paths(args: argparse.Namespace) -> int:
    params = {**_params(args), "by": args.by, "top": args.top, "max_depth": args.max_depth}
    answer = _report(args, "/api/v1/stats/paths", params, lambda store, flt: (
        trajectories.paths_report(store, flt, args.by, args.top, args.max_depth)))  # fmt: skip
    if answer is None:
        return 0
    rows = [{"value": row["value"] or "(all)", "path": p["path"], "sessions": p["sessions"],
             "share": _pct(p["share"])}
            for row in answer["rows"] for p in row["paths"]]  # fmt: skip
    emit(args, rows, ("value", "path", "sessions", "share"), "paths")
    return 0


def _pages(args: argparse.Namespace) -> int:
    params = {**_params(args), "top": args.top}
    answer = _report(args, "/api/v1/stats/pages", params, lambda store, flt: (
        trajectories.pages_report(store, flt, args.top)))  # fmt: skip
    if answer is None:
        return 0
    rows = [{**r, "exit_rate": _pct(r["exit_rate"]), "bounce_rate": _pct(r["bounce_rate"])}
            for r in answer["rows"]]  # fmt: skip
    columns = ("page", "page_views", "entries", "exits", "exit_rate", "bounces", "bounce_rate")
    emit(args, rows, columns, "pages")
    return 0


def _dropoff(args: argparse.Namespace) -> int:
    params = {**_params(args), "steps": args.steps, "window": args.window, "by": args.by}
    steps = [s for s in (args.steps or "").split(",") if s]
    answer = _report(args, "/api/v1/stats/dropoff", params, lambda store, flt: (
        trajectories.dropoff_report(store, flt, steps, window_seconds=args.window,
                                    by=args.by)))  # fmt: skip
    if answer is None:
        return 0
    rows = [{"value": row["value"] or "(all)", "step": s["step"], "reached": s["reached"],
             "dropped": "" if s["dropped"] is None else s["dropped"],
             "drop_rate": _pct(s["drop_rate"]), "of_all_drops": _pct(s["share_of_dropoffs"])}
            for row in answer["rows"] for s in row["steps"]]  # fmt: skip
    emit(args, rows, ("value", "step", "reached", "dropped", "drop_rate", "of_all_drops"), "rows")
    return 0


def _silence(args: argparse.Namespace) -> int:
    params = {**_params(args), "lookback_days": args.lookback_days,
              "high_active_days": args.high_active_days}  # fmt: skip
    answer = _report(args, "/api/v1/stats/silence", params, lambda store, flt: (
        engagement.silence_report(store, flt, args.lookback_days,
                                  high_active_days=args.high_active_days)))  # fmt: skip
    if answer is None:
        return 0
    rows = [{"group": "silence", "label": b["label"], "visitors": b["visitors"],
             "share": _pct(b["share"])} for b in answer["buckets"]]  # fmt: skip
    rows += [{"group": "tier", "label": t["tier"], "visitors": t["visitors"],
              "share": _pct(t["share"])} for t in answer["tiers"]]  # fmt: skip
    sticky = answer["stickiness"]
    rows.append({"group": "stickiness", "label": f"retained of {sticky['previous_visitors']}",
                 "visitors": sticky["retained"], "share": _pct(sticky["rate"])})  # fmt: skip
    emit(args, rows, ("group", "label", "visitors", "share"), "rows")
    if args.format == "table":
        print(f"median silence: {answer['median_silence_days']} days as of {answer['as_of']}")
    return 0


def _touchpoints(args: argparse.Namespace) -> int:
    params = {**_params(args), "by": args.by, "top": args.top}
    answer = _report(args, "/api/v1/stats/touchpoints", params, lambda store, flt: (
        touchpoints.touchpoints_report(store, flt, args.by, args.top)))  # fmt: skip
    if answer is None:
        return 0
    rows = [{**r, "ctr": _pct(r["ctr"]), "click_to_order": _pct(r["click_to_order"]),
             "amount": _money(r["amount"])} for r in answer["rows"]]  # fmt: skip
    columns = ("value", "impressions", "unique_viewers", "clicks", "unique_clickers", "ctr",
               "visits", "orders", "amount", "click_to_order")  # fmt: skip
    emit(args, rows, columns, "touch points")
    return 0


def _referral(args: argparse.Namespace) -> int:
    params = {**_params(args), "top": args.top}
    answer = _report(args, "/api/v1/stats/referral", params, lambda store, flt: (
        referral.referral_report(store, flt, args.top)))  # fmt: skip
    if answer is None:
        return 0
    referred, others = answer["referred"], answer["non_referred"]
    summary = {
        "invitees": answer["invitees"], "sharers": answer["sharers"], "seeds": answer["seeds"],
        "shares": answer["shares"], "max_depth": answer["max_depth"],
        "invites_per_sharer": _ratio(answer["invites_per_sharer"]),
        "viral_coefficient": _ratio(answer["viral_coefficient"]),
        "referred_order_rate": _pct(referred["order_rate"]),
        "non_referred_order_rate": _pct(others["order_rate"]),
        "referred_active_rate": _pct(referred["active_rate"]),
    }  # fmt: skip
    if args.format != "table":
        emit(
            args,
            answer["top_by_subtree"],
            ("visitor_id", "direct_invites", "subtree_size", "depth", "shares"),
            "sharers",
        )
        return 0
    emit_one(args, summary)
    print()
    emit(
        args,
        answer["top_by_subtree"],
        ("visitor_id", "direct_invites", "subtree_size", "depth", "shares"),
        "sharers",
    )
    return 0


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    common = common_options()
    report = argparse.ArgumentParser(add_help=False)
    report.add_argument("--start", type=_date, required=True, help="first day (YYYY-MM-DD)")
    report.add_argument("--end", type=_date, required=True, help="last day, included")
    report.add_argument("--tz", default=DEFAULT_TZ, help=f"the days' time zone ({DEFAULT_TZ})")
    report.add_argument("--include-bots", action="store_true", help="count bot traffic too")
    report.add_argument("--visitor", choices=VISITOR_KINDS, default=None,
                        help="only new visitors (no visit in the --returning-days before "
                        "--start) or only returning ones")  # fmt: skip
    report.add_argument("--returning-days", type=int, default=RETURNING_DAYS,
                        help=f"a visit this many days before the start makes a returning "
                        f"visitor ({RETURNING_DAYS})")  # fmt: skip
    report.add_argument("--window", type=int, default=DEFAULT_WINDOW_SECONDS,
                        help="conversion window in seconds (7 days)")  # fmt: skip
    for name in _FILTER_FLAGS:
        report.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                            help=f"only these {name} values (comma-separated)")  # fmt: skip
    group = subparsers.add_parser("stats", help="funnels, rankings and attribution")
    actions = group.add_subparsers(dest="action", required=True)
    funnel = actions.add_parser("funnel", parents=[common, report], help="the conversion funnel")
    funnel.add_argument(
        "--steps",
        default=None,
        help="comma-separated, e.g. impression,click,visit,event:signup,order",
    )
    funnel.add_argument("--by", default=None, help="split by a dimension, e.g. channel")
    funnel.add_argument("--source", choices=("auto", "raw", "rollup"), default="auto",
                        help="read the daily rollup when it covers the question (auto), "
                        "always the events (raw), or only the rollup")  # fmt: skip
    funnel.set_defaults(func=run_command(_funnel))
    ranking = actions.add_parser(
        "ranking", parents=[common, report],
        help="rank a dimension by traffic, rates (with intervals) and cost",
    )  # fmt: skip
    ranking.add_argument("--by", default="channel", help="channel, channel_type, partner_id, …")
    ranking.add_argument("--sort", default="conversion_rate",
                         help="conversion_rate, ctr, clicks, orders, revenue, roas, roi, cpa, "
                         "cpc, …")  # fmt: skip
    ranking.add_argument("--min-trials", type=int, default=30)
    ranking.add_argument("--compare", choices=("previous",), default=None,
                         help="add the previous period of the same length")  # fmt: skip
    ranking.add_argument("--currency", default=None, help="the spend currency, e.g. CNY")
    ranking.set_defaults(func=run_command(_ranking))
    history = actions.add_parser(
        "ranking-history", parents=[common],
        help="rank and verdict per day from the daily ranking snapshots",
    )  # fmt: skip
    history.add_argument("--start", type=_date, required=True, help="first day (YYYY-MM-DD)")
    history.add_argument("--end", type=_date, required=True, help="last day, included")
    history.add_argument("--by", default="partner_id", help="channel_type, channel, partner_id, …")
    history.add_argument("--value", default=None, help="only these values (comma-separated)")
    history.set_defaults(func=run_command(_ranking_history))
    conversion = actions.add_parser(
        "conversion-ranking", parents=[common, report],
        help="rank a dimension by a funnel step-to-step rate",
    )  # fmt: skip
    conversion.add_argument("--by", default="channel", help="channel, partner_id, site_key, …")
    conversion.add_argument("--trials-step", default="click")
    conversion.add_argument("--success-step", default="order")
    conversion.add_argument("--min-trials", type=int, default=30)
    conversion.set_defaults(func=run_command(_conversion_ranking))
    paths = actions.add_parser("paths", parents=[common, report], help="top page paths")
    paths.add_argument("--by", default=None, help="split by a dimension, e.g. channel")
    paths.add_argument("--top", type=int, default=20)
    paths.add_argument("--max-depth", type=int, default=5)
    paths.set_defaults(func=run_command(_paths))
    pages = actions.add_parser("pages", parents=[common, report],
                               help="entries, exits and exit rate per page")  # fmt: skip
    pages.add_argument("--top", type=int, default=50)
    pages.set_defaults(func=run_command(_pages))
    dropoff = actions.add_parser("dropoff", parents=[common, report],
                                 help="where people leave the funnel")  # fmt: skip
    dropoff.add_argument("--steps", default=None, help="as for funnel")
    dropoff.add_argument("--by", default=None, help="split by a dimension")
    dropoff.set_defaults(func=run_command(_dropoff))
    silence = actions.add_parser("silence", parents=[common, report],
                                 help="days since last activity, activity tiers")  # fmt: skip
    silence.add_argument("--lookback-days", type=int, default=90)
    silence.add_argument("--high-active-days", type=int, default=3)
    silence.set_defaults(func=run_command(_silence))
    touch = actions.add_parser("touchpoints", parents=[common, report],
                               help="per placement, creative or link")  # fmt: skip
    touch.add_argument("--by", choices=("placement_id", "creative_id", "link_code"),
                       default="placement_id")  # fmt: skip
    touch.add_argument("--top", type=int, default=100)
    touch.set_defaults(func=run_command(_touchpoints))
    refer = actions.add_parser("referral", parents=[common, report],
                               help="invite tree, viral coefficient, top spreaders")  # fmt: skip
    refer.add_argument("--top", type=int, default=20)
    refer.set_defaults(func=run_command(_referral))
    attribution = actions.add_parser(
        "attribution", parents=[common, report], help="conversions per channel, every model"
    )
    attribution.add_argument("--by", default="channel", help="channel, partner_id, …")
    attribution.add_argument(
        "--models", default=None, help=f"comma-separated: {','.join(stats.ATTRIBUTION_MODELS)}"
    )
    attribution.add_argument("--click-lookback-days", type=int, default=30)
    attribution.add_argument("--view-lookback-days", type=int, default=1)
    attribution.add_argument("--half-life-days", type=float, default=7.0)
    attribution.add_argument("--markov-order", type=int, default=1, choices=(1, 2, 3))
    attribution.set_defaults(func=run_command(_attribution))
    for declared in REPORTS:
        _add_report(actions, declared, [common, report] if declared.filtered else [common])
    distribution = actions.add_parser(
        "distribution", parents=[common, report], help="visits per local hour or weekday"
    )
    distribution.add_argument("--unit", choices=("hour", "weekday"), default="hour")
    distribution.set_defaults(func=run_command(_distribution))


# -- the commands generated from the declarations -------------------------------------------


def _add_report(actions: argparse._SubParsersAction, report: Report, parents: list) -> None:
    parser = actions.add_parser(report.name, parents=parents, help=report.summary)
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
    rows, columns = report.table(answer)
    if args.format == "table" and report.headline:
        emit_one(args, report.headline_row(answer))
        print()
    emit(args, rows, [c.header for c in columns], report.noun)
    if args.format == "table" and report.footer:
        print(report.footer.format(**answer))
    return 0
