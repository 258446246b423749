"""The analytics routes (/api/v1/stats/…): one GET route per declared report
(`app.attribution.reports`), its parameters, bounds and summary taken from the declaration,
the common filter one dependency (`report_filter`), every refusal a 422 naming its field.

A query parameter the report does not declare (nor the common filter, for a filtered report)
is refused too: FastAPI would ignore it, and `?window=60` on a report that has no window
would answer as if it had been read."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from app.attribution import periods
from app.attribution.filters import (
    DEFAULT_TZ,
    LIST_COLUMNS,
    MAX_RETURNING_DAYS,
    RETURNING_DAYS,
    Filter,
    FilterError,
)
from app.attribution.report import Param, Report, split_values
from app.attribution.reports import REPORTS
from app.http.deps import StoreDep, TeamDep

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])

ListParam = Annotated[list[str], Query()]


def _refused(exc: FilterError) -> RequestValidationError:
    """The 422 of a refusal, at the query parameter it names."""
    return RequestValidationError(
        [{"loc": ("query", exc.field or "filter"), "msg": str(exc), "type": "value_error"}]
    )


def report_filter(
    start: date | None = None,
    end: date | None = None,
    last: Annotated[str | None, Query(description="the N whole days before today, e.g. 7d")] = None,
    month: Annotated[str | None, Query(description="a calendar month, e.g. 2026-11")] = None,
    yesterday: Annotated[bool, Query(description="the day before today")] = False,
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
    """The common filter of every report, from the query string: its days given one way
    (start and end, last, month or yesterday; `app.attribution.periods`), today's clock."""
    given = locals()
    lists = {name: split_values(given[name]) for name in (*LIST_COLUMNS, "channel_type")}
    try:
        first, final = periods.resolve(
            start=start, end=end, last=last, month=month, yesterday=yesterday, tz=tz,
            now=datetime.now(UTC),
        )  # fmt: skip
        return Filter.asked(
            start=first, end=final, tz=tz, include_bots=include_bots, visitor=visitor or "",
            returning_days=returning_days, **lists,
        )  # fmt: skip
    except FilterError as exc:
        raise _refused(exc) from None


FilterDep = Annotated[Filter, Depends(report_filter)]
# The query parameters of the common filter.
FILTER_PARAMS = frozenset(inspect.signature(report_filter).parameters)


def declared_params(report: Report) -> frozenset[str]:
    """The query parameters `report` reads: its own, and the common filter's if it takes it."""
    own = frozenset(p.name for p in report.params)
    return own | FILTER_PARAMS if report.filtered else own


def _only_declared(report: Report) -> Callable[[Request], None]:
    """A dependency refusing, with a 422 at each, the query parameters `report` does not
    read."""
    allowed = declared_params(report)

    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", name),
                        "msg": f"{report.name} takes no parameter {name}",
                        "type": "value_error",
                    }
                    for name in unknown
                ]
            )

    return check


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
        # After the role check (a stranger gets 401, not a 422), before anything is read.
        inspect.Parameter(
            "_declared", keyword, annotation=Annotated[None, Depends(_only_declared(report))]
        ),
        inspect.Parameter("store", keyword, annotation=StoreDep),
    ]
    if report.filtered:
        fixed.append(inspect.Parameter("flt", keyword, annotation=FilterDep))
    own = [
        inspect.Parameter(
            p.name,
            keyword,
            annotation=_annotation(p),
            # FastAPI copies a default per request: one shared [] is safe.
            default=inspect.Parameter.empty if p.required else [] if p.type is list else p.default,
        )
        for p in report.params
    ]
    return inspect.Signature([*fixed, *own], return_annotation=dict[str, Any])


def _route(report: Report) -> None:
    # No docstring: FastAPI would publish it as the route's description.
    def endpoint(**given: Any) -> dict[str, Any]:
        given.pop("_")  # the role check, done by its dependency
        given.pop("_declared")  # the undeclared-parameter check, likewise
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
