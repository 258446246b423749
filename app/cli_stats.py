"""`adtrack stats funnel|ranking|attribution|traffic|distribution`: the stats API on the
command line (table, CSV, JSON).

Routed like the catalog commands: through the running server's API, else on the store
directly with the same report functions (`app.attribution.stats`), so both print the same.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from app.attribution import stats
from app.attribution.filters import DEFAULT_TZ, LIST_COLUMNS, Filter, FilterError
from app.attribution.funnel import DEFAULT_WINDOW_SECONDS
from app.cli_common import BadInput, call_api, common_options, emit, print_json, routed, run_command
from app.settings import Settings
from app.store.client import Store

_FILTER_FLAGS = (*LIST_COLUMNS, "channel_type")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"start": args.start.isoformat(), "end": args.end.isoformat(),
                              "tz": args.tz, "include_bots": args.include_bots or None}  # fmt: skip
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
        return Filter(args.start, args.end, args.tz, include_bots=args.include_bots, **lists)
    except FilterError as exc:
        raise BadInput([("filter", str(exc))]) from exc


def _checked(action: Any) -> Any:
    try:
        return action()
    except FilterError as exc:
        raise BadInput([("report", str(exc))]) from exc


def _funnel(args: argparse.Namespace) -> int:
    params = {**_params(args), "steps": args.steps, "window": args.window, "by": args.by}

    def via_store(store: Store, _: Settings) -> Any:
        steps = [s for s in (args.steps or "").split(",") if s]
        return _checked(lambda: stats.funnel_report(
            store, _filter(args), steps, window_seconds=args.window, by=args.by))  # fmt: skip

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/stats/funnel", params=params),
                     via_store)  # fmt: skip
    if args.format == "json":
        print_json(answer)
        return 0
    rows = [
        {"value": row["value"] or "(all)", "step": s["step"], "visitors": s["visitors"],
         "conversion": _pct(s["conversion"]), "overall": _pct(s["overall"]),
         "median_s": s["median_seconds"]}
        for row in answer["rows"] for s in row["steps"]
    ]  # fmt: skip
    emit(args, rows, ("value", "step", "visitors", "conversion", "overall", "median_s"), "rows")
    return 0


def _ranking(args: argparse.Namespace) -> int:
    params = {**_params(args), "by": args.by, "trials_step": args.trials_step,
              "success_step": args.success_step, "window": args.window,
              "min_trials": args.min_trials}  # fmt: skip

    def via_store(store: Store, _: Settings) -> Any:
        return _checked(lambda: stats.ranking_report(
            store, _filter(args), args.by, trials_step=args.trials_step,
            success_step=args.success_step, window_seconds=args.window,
            min_trials=args.min_trials))  # fmt: skip

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/stats/ranking", params=params),
                     via_store)  # fmt: skip
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


def _traffic(args: argparse.Namespace) -> int:
    params = {**_params(args), "by": args.by, "returning_days": args.returning_days}

    def via_store(store: Store, _: Settings) -> Any:
        return _checked(lambda: stats.traffic_report(
            store, _filter(args), args.by, returning_days=args.returning_days))  # fmt: skip

    answer = routed(args, lambda t: call_api(t, "GET", "/api/v1/stats/traffic", params=params),
                     via_store)  # fmt: skip
    if args.format == "json":
        print_json(answer)
        return 0
    rows = [
        {**r, "value": r["value"] or "(all)", "ctr": _pct(r["ctr"]),
         "bounce_rate": _pct(r["bounce_rate"]),
         "pv_per_visitor": "" if r["pv_per_visitor"] is None else f"{r['pv_per_visitor']:.2f}",
         "avg_duration_s": "" if r["avg_visit_duration_s"] is None
         else f"{r['avg_visit_duration_s']:.1f}", "amount": f"{r['amount']:.2f}"}
        for r in answer["rows"]
    ]  # fmt: skip
    columns = ("value", "impressions", "clicks", "ctr", "visits", "visitors", "pv_per_visitor",
               "sessions", "bounce_rate", "avg_duration_s", "new_visitors",
               "returning_visitors", "orders", "amount")  # fmt: skip
    emit(args, rows, columns, "rows")
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


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    common = common_options()
    report = argparse.ArgumentParser(add_help=False)
    report.add_argument("--start", type=_date, required=True, help="first day (YYYY-MM-DD)")
    report.add_argument("--end", type=_date, required=True, help="last day, included")
    report.add_argument("--tz", default=DEFAULT_TZ, help=f"the days' time zone ({DEFAULT_TZ})")
    report.add_argument("--include-bots", action="store_true", help="count bot traffic too")
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
    funnel.set_defaults(func=run_command(_funnel))
    ranking = actions.add_parser("ranking", parents=[common, report],
                                 help="rank a dimension by a step-to-step rate")  # fmt: skip
    ranking.add_argument("--by", default="channel", help="channel, partner_id, site_key, …")
    ranking.add_argument("--trials-step", default="click")
    ranking.add_argument("--success-step", default="order")
    ranking.add_argument("--min-trials", type=int, default=30)
    ranking.set_defaults(func=run_command(_ranking))
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
    traffic = actions.add_parser(
        "traffic", parents=[common, report], help="impressions, clicks, visits, UV, PV, …"
    )
    traffic.add_argument("--by", default=None, help="split by a dimension, e.g. channel")
    traffic.add_argument("--returning-days", type=int, default=90,
                         help="a visit this many days before the start makes a returning "
                              "visitor (90)")  # fmt: skip
    traffic.set_defaults(func=run_command(_traffic))
    distribution = actions.add_parser(
        "distribution", parents=[common, report], help="visits per local hour or weekday"
    )
    distribution.add_argument("--unit", choices=("hour", "weekday"), default="hour")
    distribution.set_defaults(func=run_command(_distribution))
