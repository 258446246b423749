"""The analytics routes (/api/v1/stats/…): one GET route per declared report
(`app.attribution.reports`), its parameters, bounds and summary taken from the declaration,
the common filter one dependency (`report_filter`), every refusal a 422 naming its field."""

from __future__ import annotations

import inspect
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError

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
    MAX_RETURNING_DAYS,
    RETURNING_DAYS,
    Filter,
    FilterError,
    check_day,
    check_range,
)
from app.attribution.funnel import DEFAULT_WINDOW_SECONDS
from app.attribution.report import Param, Report, split_values
from app.attribution.reports import REPORTS
from app.http.deps import StoreDep, TeamDep
from app.rollups import rankings

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])

ListParam = Annotated[list[str], Query()]


def _values(raw: list[str]) -> tuple[str, ...]:
    return split_values(raw)


def _invalid(field: str, exc: Exception) -> RequestValidationError:
    """A 422 naming the parameter the refusal knows (FilterError.field), else `field`."""
    named = getattr(exc, "field", "") or field
    return RequestValidationError(
        [{"loc": ("query", named), "msg": str(exc), "type": "value_error"}]
    )


def _refused(exc: FilterError) -> RequestValidationError:
    """The 422 of a report's refusal, at the parameter it names."""
    return RequestValidationError(
        [{"loc": ("query", exc.field or "filter"), "msg": str(exc), "type": "value_error"}]
    )


def report_filter(
    start: date,
    end: date,
    tz: str = DEFAULT_TZ,
    channel_type: ListParam = [],  # noqa: B006 (FastAPI copies defaults per request)
    channel: ListParam = [],  # noqa: B006
    partner_id: ListParam = [],  # noqa: B006
    site_key: ListParam = [],  # noqa: B006
    campaign_id: ListParam = [],  # noqa: B006
    placement_id: ListParam = [],  # noqa: B006
    creative_id: ListParam = [],  # noqa: B006
    link_code: ListParam = [],  # noqa: B006
    province_code: ListParam = [],  # noqa: B006
    city_code: ListParam = [],  # noqa: B006
    device_type: ListParam = [],  # noqa: B006
    os: ListParam = [],  # noqa: B006
    browser: ListParam = [],  # noqa: B006
    isp: ListParam = [],  # noqa: B006
    include_bots: bool = False,
    visitor: Annotated[
        Literal["new", "returning"] | None,
        Query(description="new: no visit in the `returning_days` before `start`; returning: one"),
    ] = None,
    returning_days: Annotated[int, Query(ge=1, le=MAX_RETURNING_DAYS)] = RETURNING_DAYS,
) -> Filter:
    """The common filter of every report, from the query string."""
    given = locals()
    lists = {name: _values(given[name]) for name in (*LIST_COLUMNS, "channel_type")}
    try:
        return Filter.asked(
            start=start, end=end, tz=tz, include_bots=include_bots, visitor=visitor or "",
            returning_days=returning_days, **lists,
        )  # fmt: skip
    except FilterError as exc:
        raise _invalid("end", exc) from None


FilterDep = Annotated[Filter, Depends(report_filter)]
Window = Annotated[int, Query(ge=1, le=90 * 86400, description="conversion window, seconds")]


@router.get("/funnel", summary="Funnel: entries per step, conversion, median time between")
def funnel(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    steps: ListParam = [],  # noqa: B006
    window: Window = DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
    source: Literal["auto", "raw", "rollup"] = "auto",
) -> dict[str, Any]:
    try:
        return stats.funnel_report(
            store, flt, _values(steps), window_seconds=window, by=by, source=source
        )
    except FilterError as exc:
        raise _invalid("by" if by and "dimension" in str(exc) else "steps", exc) from None


def _field(exc: FilterError, names: tuple[str, ...]) -> str:
    """The query parameter a report's refusal names (the first given otherwise)."""
    text = str(exc)
    return next((n for n in names if n in text), names[0])


@router.get("/ranking", summary="Rank channels, partners, sites, … by traffic, rates and cost")
def ranking(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    by: str = "channel",
    sort: str = "conversion_rate",
    min_trials: Annotated[int, Query(ge=0, le=1_000_000)] = 30,
    compare: Literal["previous"] | None = None,
    compare_start: date | None = None,
    compare_end: date | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    try:
        if compare_start and compare_end:
            check_range(compare_start, compare_end, ("compare_start", "compare_end"))
        for name, day in (("compare_start", compare_start), ("compare_end", compare_end)):
            if day is not None:
                check_day(name, day)
        return scoreboard.scoreboard_report(
            store, flt, by, sort, min_trials, compare, compare_start=compare_start,
            compare_end=compare_end, currency=currency,
        )  # fmt: skip
    except FilterError as exc:
        names = ("by", "sort", "compare_start", "compare_end", "compare", "currency")
        raise _invalid(_field(exc, names), exc) from None


@router.get("/ranking/history", summary="Rank and verdict per day, from the daily snapshots")
def ranking_history(
    _: TeamDep,
    store: StoreDep,
    start: date,
    end: date,
    by: str = "partner_id",
    value: ListParam = [],  # noqa: B006
) -> dict[str, Any]:
    try:
        check_range(start, end)
        return rankings.history(store, by, start, end, _values(value))
    except FilterError as exc:
        raise _invalid("by" if "kept" in str(exc) else "end", exc) from None


@router.get(
    "/conversion-ranking", summary="Rank a dimension by a funnel step-to-step rate (people)"
)
def conversion_ranking(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    by: str = "channel",
    trials_step: str = "click",
    success_step: str = "order",
    window: Window = DEFAULT_WINDOW_SECONDS,
    min_trials: Annotated[int, Query(ge=0, le=1_000_000)] = 30,
) -> dict[str, Any]:
    try:
        return stats.ranking_report(
            store, flt, by, trials_step=trials_step, success_step=success_step,
            window_seconds=window, min_trials=min_trials,
        )  # fmt: skip
    except FilterError as exc:
        raise _invalid(_field(exc, ("by", "trials_step", "success_step")), exc) from None


@router.get("/paths", summary="Top page paths of sessions, optionally per dimension value")
def paths(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    by: str | None = None,
    top: Annotated[int, Query(ge=1, le=10_000)] = 20,
    max_depth: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    try:
        return trajectories.paths_report(store, flt, by, top=top, max_depth=max_depth)
    except FilterError as exc:
        raise _invalid(_field(exc, ("by", "top", "max_depth")), exc) from None


@router.get("/pages", summary="Per page: views, entries, exits, exit rate, bounce rate")
def pages(
    _: TeamDep, store: StoreDep, flt: FilterDep, top: Annotated[int, Query(ge=1, le=10_000)] = 50
) -> dict[str, Any]:
    try:
        return trajectories.pages_report(store, flt, top=top)
    except FilterError as exc:
        raise _invalid("top", exc) from None


@router.get("/dropoff", summary="Where people leave a funnel: drops per step")
def dropoff(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    steps: ListParam = [],  # noqa: B006
    window: Window = DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
) -> dict[str, Any]:
    try:
        return trajectories.dropoff_report(store, flt, _values(steps), window_seconds=window, by=by)
    except FilterError as exc:
        raise _invalid("by" if by and "dimension" in str(exc) else "steps", exc) from None


@router.get("/silence", summary="Silence time (days since last activity), activity tiers")
def silence(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    lookback_days: Annotated[int, Query(ge=1, le=366)] = 90,
    high_active_days: Annotated[int, Query(ge=2, le=366)] = 3,
) -> dict[str, Any]:
    try:
        return engagement.silence_report(
            store, flt, lookback_days, high_active_days=high_active_days
        )
    except FilterError as exc:
        raise _invalid(_field(exc, ("lookback_days", "high_active_days")), exc) from None


@router.get("/touchpoints", summary="Per placement, creative or link: seen, clicked, converted")
def touchpoints_(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    by: Literal["placement_id", "creative_id", "link_code"] = "placement_id",
    top: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> dict[str, Any]:
    try:
        return touchpoints.touchpoints_report(store, flt, by, top=top)
    except FilterError as exc:
        raise _invalid(_field(exc, ("by", "top")), exc) from None


@router.get("/referral", summary="Referral: invitees, sharers, depth, viral coefficient, …")
def referral_(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    top: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> dict[str, Any]:
    try:
        return referral.referral_report(store, flt, top)
    except FilterError as exc:
        raise _invalid("top", exc) from None


@router.get("/referral/tree", summary="The invite tree below one sharer")
def referral_tree(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    root: str,
    max_nodes: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    try:
        return referral.invite_tree(store, flt, root, max_nodes)
    except FilterError as exc:
        raise _invalid(_field(exc, ("root", "max_nodes")), exc) from None


@router.get("/attribution", summary="Attributed conversions and revenue, every model side by side")
def attribution(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    by: str = "channel",
    models: ListParam = [],  # noqa: B006
    click_lookback_days: Annotated[int, Query(ge=0, le=366)] = 30,
    view_lookback_days: Annotated[int, Query(ge=0, le=366)] = 1,
    half_life_days: Annotated[float, Query(gt=0, le=366)] = 7.0,
    markov_order: Annotated[int, Query(ge=1, le=3)] = 1,
) -> dict[str, Any]:
    chosen = _values(models) or stats.ATTRIBUTION_MODELS
    try:
        return stats.attribution_report(
            store, flt, by, chosen, click_lookback_days=click_lookback_days,
            view_lookback_days=view_lookback_days, half_life_days=half_life_days,
            markov_order=markov_order,
        )  # fmt: skip
    except FilterError as exc:
        text = str(exc)
        field = (
            "by" if "dimension" in text else "models" if "model" in text else "view_lookback_days"
        )
        raise _invalid(field, exc) from None


@router.get("/distribution", summary="Visits per local hour or weekday")
def distribution(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    unit: Literal["hour", "weekday"] = "hour",
) -> dict[str, Any]:
    try:
        return stats.distribution_report(store, flt, unit)
    except FilterError as exc:
        raise _invalid("unit", exc) from None


# -- the routes generated from the declarations ---------------------------------------------


def _annotation(param: Param) -> Any:
    """The parameter's type as FastAPI reads it: Literal for choices, `| None` when it may be
    left out without a default, Query(...) carrying bounds, help and list-ness."""
    kind: Any = list[str] if param.type is list else param.type
    if param.choices:
        kind = Literal[param.choices]
    if param.default is None and not param.required and param.type is not list:
        kind = kind | None
    query = {k: getattr(param, k) for k in ("ge", "le", "gt") if getattr(param, k) is not None}
    if param.help:
        query["description"] = param.help
    if query or param.type is list:
        return Annotated[kind, Query(**query)]
    return kind


def _signature(report: Report) -> inspect.Signature:
    keyword = inspect.Parameter.KEYWORD_ONLY
    fixed = [
        inspect.Parameter("_", keyword, annotation=TeamDep),
        inspect.Parameter("store", keyword, annotation=StoreDep),
    ]
    if report.filtered:
        fixed.append(inspect.Parameter("flt", keyword, annotation=FilterDep))
    own = [
        inspect.Parameter(
            p.name,
            keyword,
            annotation=_annotation(p),
            default=inspect.Parameter.empty if p.required else [] if p.type is list else p.default,
        )  # fmt: skip
        for p in report.params
    ]
    return inspect.Signature([*fixed, *own], return_annotation=dict[str, Any])


def _route(report: Report) -> None:
    def endpoint(**given: Any) -> dict[str, Any]:
        given.pop("_")
        store, flt = given.pop("store"), given.pop("flt", None)
        try:
            return report.answer(store, flt, given)
        except FilterError as exc:
            raise _refused(exc) from None

    # FastAPI reads the parameters, their types and bounds from the signature.
    endpoint.__signature__ = _signature(report)  # type: ignore[attr-defined]
    endpoint.__name__ = report.name.replace("-", "_")
    router.add_api_route(
        f"/{report.path}", endpoint, methods=["GET"], summary=report.summary,
        name=endpoint.__name__,
    )  # fmt: skip


for _report in REPORTS:
    _route(_report)
