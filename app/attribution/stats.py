"""The reports the API, the CLI and (later) the dashboard share: one function per question,
each returning plain JSON-able data built from the query layer, so every surface shows the
same figure for the same question."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.attribution import funnel
from app.attribution.filters import Filter, FilterError
from app.attribution.ranking import RateRow, rank_rates
from app.store.client import Store


def funnel_report(
    store: Store,
    flt: Filter,
    steps: Sequence[str] = (),
    *,
    window_seconds: int = funnel.DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
) -> dict[str, Any]:
    chosen = tuple(funnel.Step.parse(s) for s in steps) or funnel.DEFAULT_STEPS
    result = funnel.run(store, flt, chosen, window_seconds=window_seconds, by=by)
    return {
        "steps": [s.label for s in result.steps],
        "window_seconds": result.window_seconds,
        "by": result.dimension,
        "rows": [
            {
                "value": row.value,
                "steps": [
                    {
                        "step": f.step.label,
                        "visitors": f.visitors,
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
        RateRow(row.value or "", row.steps[1].visitors, row.steps[0].visitors)
        for row in result.rows
    ]
    return {
        "by": by,
        "rate": f"{steps[0].label} -> {steps[1].label}",
        "rows": [r.__dict__ for r in rank_rates(rows, min_trials=min_trials)],
    }
