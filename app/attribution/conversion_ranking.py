"""The conversion ranking (/stats/conversion-ranking): the values of a dimension ranked by
the rate from one funnel step to another (default click to order, the transaction success
rate), with Wilson intervals and verdicts (`app.attribution.rates`)."""

from __future__ import annotations

from typing import Any

from app.attribution import funnel, funnel_steps
from app.attribution.filters import Filter, FilterError
from app.attribution.funnel_report import WINDOW
from app.attribution.rates import MIN_TRIALS, RateRow, rank_rates
from app.attribution.report import Column, Param, Report
from app.store.client import Store


def _step(text: str, name: str) -> funnel_steps.Step:
    """The step `text` names; FilterError naming the parameter `name` that gave it."""
    try:
        return funnel_steps.Step.parse(text)
    except FilterError as exc:
        raise FilterError(str(exc), name) from None


def conversion_ranking_report(
    store: Store,
    flt: Filter,
    by: str,
    *,
    trials_step: str = "click",
    success_step: str = "order",
    window_seconds: int = funnel_steps.DEFAULT_WINDOW_SECONDS,
    min_trials: int = 30,
) -> dict[str, Any]:
    """Rank the values of `by` by the rate from one funnel step to another (default: click
    to order, the transaction success rate), with intervals and verdicts."""
    steps = (_step(trials_step, "trials_step"), _step(success_step, "success_step"))
    if steps[0] == steps[1]:
        raise FilterError("trials_step and success_step must differ", "trials_step")
    result = funnel.run(store, flt, steps, window_seconds=window_seconds, by=by)
    rows = [
        RateRow(row.value or "", row.steps[1].entries, row.steps[0].entries) for row in result.rows
    ]
    return {
        "by": by,
        "rate": f"{steps[0].label} -> {steps[1].label}",
        "rows": [r.__dict__ for r in rank_rates(rows, min_trials=min_trials)],
    }


def table_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The ranked rows with the interval as one column."""
    return [{**r, "interval": (r["low"], r["high"])} for r in answer["rows"]]


REPORT = Report(
    name="conversion-ranking",
    summary="Rank a dimension by a funnel step-to-step rate (people)",
    counts=("funnel entries per value: those reaching success_step ÷ those reaching trials_step"),
    run=conversion_ranking_report,
    params=(
        Param("by", str, "channel", "channel, partner_id, site_key, …"),
        Param("trials_step", str, "click"),
        Param("success_step", str, "order"),
        WINDOW,
        Param("min_trials", int, MIN_TRIALS, ge=0, le=1_000_000),
    ),
    columns=(
        Column("rank", "Rank"),
        Column("key", "Value", "text"),
        Column("successes", "Successes"),
        Column("trials", "Trials"),
        Column("rate", "Rate", "percent"),
        Column("interval", "Rate, 95% interval", "percent_range"),
        Column("verdict", "Verdict", "text"),
    ),
    rows=table_rows,
)
