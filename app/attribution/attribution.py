"""The attribution report (/stats/attribution): attributed conversions and revenue per value
of a dimension, every model (`app.attribution.models`) side by side over the same journeys
(`app.attribution.journeys_query`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from app.attribution import journeys_query
from app.attribution import models as am
from app.attribution.filters import Filter, FilterError
from app.attribution.models.markov import MAX_ORDER as MARKOV_MAX_ORDER
from app.attribution.report import Column, Param, Report
from app.store.client import Store

ATTRIBUTION_MODELS = (
    "last_click",
    "first_click",
    "linear",
    "time_decay",
    "position_based",
    "markov",
    "shapley",
)


def attribution_report(
    store: Store,
    flt: Filter,
    by: str = "channel",
    models: Sequence[str] = ATTRIBUTION_MODELS,
    *,
    click_lookback_days: int = 30,
    view_lookback_days: int = 1,
    half_life_days: float = 7.0,
    markov_order: int = 1,
) -> dict[str, Any]:
    """Attributed conversions and revenue per value of `by`, every model side by side."""
    unknown = [m for m in models if m not in ATTRIBUTION_MODELS]
    if unknown or not models:
        raise FilterError(
            f"unknown models {unknown}; any of: {', '.join(ATTRIBUTION_MODELS)}", "models"
        )
    if half_life_days <= 0:
        raise FilterError("half_life_days must be positive", "half_life_days")
    if not 1 <= markov_order <= MARKOV_MAX_ORDER:
        raise FilterError(f"markov_order must be 1 to {MARKOV_MAX_ORDER}", "markov_order")
    found = journeys_query.journeys(
        store, flt, by, click_lookback_days=click_lookback_days,
        view_lookback_days=view_lookback_days,
    )  # fmt: skip
    results = {m: _attribute(m, found, half_life_days, markov_order) for m in models}
    values = am.channels_of(found)
    return {
        "by": by,
        "models": list(models),
        "click_lookback_days": click_lookback_days,
        "view_lookback_days": view_lookback_days,
        "orders": sum(j.conversions for j in found),
        "revenue": round(sum(float(j.revenue) for j in found), 2),
        "journeys": len(found),
        "rows": [
            {
                "value": value,
                "conversions": {m: r.conversions.get(value, 0.0) for m, r in results.items()},
                "revenue": {m: r.revenue.get(value, 0.0) for m, r in results.items()},
            }
            for value in values
        ],
        "totals": {
            "conversions": {m: r.total_conversions for m, r in results.items()},
            "revenue": {m: r.total_revenue for m, r in results.items()},
        },
    }


def _attribute(
    model: str, found: list[am.Journey], half_life_days: float, markov_order: int
) -> am.Attribution:
    converting = [j for j in found if j.conversions]
    if model == "markov":
        return am.markov(found, markov_order).attribution if converting else _none(model)
    if model == "shapley":
        return am.shapley(found).attribution
    if model == "time_decay":
        return am.time_decay(found, timedelta(days=half_life_days))
    rules = {
        "last_click": am.last_click,
        "first_click": am.first_click,
        "linear": am.linear,
        "position_based": am.position_based,
    }
    return rules[model](found)


def _none(model: str) -> am.Attribution:
    return am.Attribution(model, {}, {})


def table_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Attributed conversions per value and model, then the totals."""
    rows = [{"value": row["value"], **row["conversions"]} for row in answer["rows"]]
    return [*rows, {"value": "(total)", **answer["totals"]["conversions"]}]


def _shown(answer: dict[str, Any]) -> tuple[str, ...]:
    """The models asked for, in the order asked."""
    return ("value", *answer["models"])


REPORT = Report(
    name="attribution",
    summary="Attributed conversions and revenue, every model side by side",
    counts=(
        "orders placed in the range that count (approved, by their latest status), each "
        "credited 1 over its person's touches (clicks in the click look-back, impressions in "
        "the view look-back); no touch: (direct)"
    ),
    run=attribution_report,
    params=(
        Param("by", str, "channel", "channel, partner_id, …"),
        Param("models", list, None, f"comma-separated: {','.join(ATTRIBUTION_MODELS)}"),
        Param("click_lookback_days", int, 30, ge=0, le=366),
        Param("view_lookback_days", int, 1, ge=0, le=366),
        Param("half_life_days", float, 7.0, gt=0, le=366),
        Param("markov_order", int, 1, ge=1, le=MARKOV_MAX_ORDER),
    ),
    columns=(
        Column("value", "Value", "text"),
        *(Column(m, f"Conversions, {m.replace('_', ' ')}", digits=2) for m in ATTRIBUTION_MODELS),
    ),
    rows=table_rows,
    shown=_shown,
)
