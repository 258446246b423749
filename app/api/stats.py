"""Analytics routes: funnels, rankings and attribution over the query layer (`app.attribution`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError

from app.api.deps import StoreDep, TeamDep
from app.attribution import stats
from app.attribution.filters import DEFAULT_TZ, LIST_COLUMNS, Filter, FilterError
from app.attribution.funnel import DEFAULT_WINDOW_SECONDS

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])

ListParam = Annotated[list[str], Query()]


def _values(raw: list[str]) -> tuple[str, ...]:
    """Repeated (?os=ios&os=android) or comma-separated (?os=ios,android) values."""
    return tuple(v.strip() for item in raw for v in item.split(",") if v.strip())


def _invalid(field: str, exc: Exception) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", field), "msg": str(exc), "type": "value_error"}]
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
    province_code: ListParam = [],  # noqa: B006
    city_code: ListParam = [],  # noqa: B006
    device_type: ListParam = [],  # noqa: B006
    os: ListParam = [],  # noqa: B006
    browser: ListParam = [],  # noqa: B006
    isp: ListParam = [],  # noqa: B006
    include_bots: bool = False,
) -> Filter:
    """The common filter of every report, from the query string."""
    given = locals()
    lists = {name: _values(given[name]) for name in (*LIST_COLUMNS, "channel_type")}
    try:
        return Filter(start=start, end=end, tz=tz, include_bots=include_bots, **lists)
    except FilterError as exc:
        field = "tz" if "zone" in str(exc) else "end"
        raise _invalid(field, exc) from None


FilterDep = Annotated[Filter, Depends(report_filter)]
Window = Annotated[int, Query(ge=1, le=90 * 86400, description="conversion window, seconds")]


@router.get("/funnel", summary="Funnel: visitors per step, conversion, median time between")
def funnel(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    steps: ListParam = [],  # noqa: B006
    window: Window = DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
) -> dict[str, Any]:
    try:
        return stats.funnel_report(store, flt, _values(steps), window_seconds=window, by=by)
    except FilterError as exc:
        raise _invalid("by" if by and "dimension" in str(exc) else "steps", exc) from None


@router.get("/ranking", summary="Rank a dimension by a step-to-step rate, with intervals")
def ranking(
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
        raise _invalid("by", exc) from None


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


@router.get("/traffic", summary="Traffic: impressions, clicks, CTR, visits, UV, PV, sessions, …")
def traffic(
    _: TeamDep,
    store: StoreDep,
    flt: FilterDep,
    by: str | None = None,
    returning_days: Annotated[int, Query(ge=1, le=366)] = 90,
) -> dict[str, Any]:
    try:
        return stats.traffic_report(store, flt, by, returning_days=returning_days)
    except FilterError as exc:
        raise _invalid("by", exc) from None


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
