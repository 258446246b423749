"""The reports the API, the CLI and (later) the dashboard share: one function per question,
each returning plain JSON-able data built from the query layer, so every surface shows the
same figure for the same question."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from app.attribution import funnel, paths, traffic
from app.attribution import models as am
from app.attribution.filters import Filter, FilterError
from app.attribution.models.markov import MAX_ORDER as MARKOV_MAX_ORDER
from app.attribution.ranking import RateRow, rank_rates
from app.store.client import Store


def funnel_report(
    store: Store,
    flt: Filter,
    steps: Sequence[str] = (),
    *,
    window_seconds: int = funnel.DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
    source: str = "auto",
) -> dict[str, Any]:
    """Entries per step (a person entering on a day, see `app.attribution.funnel`), step and
    overall conversion, median seconds between steps; from the rollup when it covers the
    question (`source` says which was read, `computed_at` how fresh the rollup is)."""
    chosen = tuple(funnel.Step.parse(s) for s in steps) or funnel.DEFAULT_STEPS
    result = funnel.run(store, flt, chosen, window_seconds=window_seconds, by=by, source=source)
    return {
        "steps": [s.label for s in result.steps],
        "window_seconds": result.window_seconds,
        "by": result.dimension,
        "source": result.source,
        "computed_at": result.computed_at.isoformat() if result.computed_at else None,
        "rows": [
            {
                "value": row.value,
                "steps": [
                    {
                        "step": f.step.label,
                        "entries": f.entries,
                        "conversion": f.conversion,
                        "overall": f.overall,
                        "median_seconds": f.median_seconds,
                    }
                    for f in row.steps
                ],
            }
            for row in result.rows
        ],
    }


def ranking_report(
    store: Store,
    flt: Filter,
    by: str,
    *,
    trials_step: str = "click",
    success_step: str = "order",
    window_seconds: int = funnel.DEFAULT_WINDOW_SECONDS,
    min_trials: int = 30,
) -> dict[str, Any]:
    """Rank the values of `by` by the rate from one funnel step to another (default: click
    to order, the transaction success rate), with intervals and verdicts."""
    steps = (funnel.Step.parse(trials_step), funnel.Step.parse(success_step))
    if steps[0] == steps[1]:
        raise FilterError("trials_step and success_step must differ")
    result = funnel.run(store, flt, steps, window_seconds=window_seconds, by=by)
    rows = [
        RateRow(row.value or "", row.steps[1].entries, row.steps[0].entries) for row in result.rows
    ]
    return {
        "by": by,
        "rate": f"{steps[0].label} -> {steps[1].label}",
        "rows": [r.__dict__ for r in rank_rates(rows, min_trials=min_trials)],
    }


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
        raise FilterError(f"unknown models {unknown}; any of: {', '.join(ATTRIBUTION_MODELS)}")
    if half_life_days <= 0:
        raise FilterError("half_life_days must be positive")
    if not 1 <= markov_order <= MARKOV_MAX_ORDER:
        raise FilterError(f"markov_order must be 1 to {MARKOV_MAX_ORDER}")
    found = paths.journeys(
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


def distribution_report(store: Store, flt: Filter, unit: str = "hour") -> dict[str, Any]:
    """Visits and visitors per local hour (0-23) or ISO weekday (1 = Monday) in `flt.tz`."""
    rows = traffic.distribution(store, flt, unit)
    return {
        "unit": unit,
        "tz": flt.tz,
        "rows": [{"slot": slot, "visits": v, "visitors": u} for slot, v, u in rows],
    }
