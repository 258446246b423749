"""Where a step funnel loses people (/stats/dropoff), per step of `app.attribution.funnel`.

Definitions (counted in the funnel's own unit, entries): after step k, dropped = reached
step k but not step k+1; drop rate = dropped / reached step k; share of drop-offs = dropped
/ all who entered but did not finish. The last step has no drop-off (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.attribution import funnel, funnel_steps
from app.attribution.filters import Filter, FilterError
from app.attribution.funnel_report import STEPS, WINDOW
from app.attribution.report import Column, Param, Report
from app.store.client import Store


def dropoff_report(
    store: Store,
    flt: Filter,
    steps: Sequence[str] = (),
    *,
    window_seconds: int = funnel_steps.DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
) -> dict[str, Any]:
    """Where a step funnel (default impression → click → visit → order) loses people: per
    step, how many reached it, dropped after it, drop rate and share of all drop-offs."""
    if isinstance(steps, str):
        raise FilterError(
            "steps must be a sequence of step names, e.g. ['click', 'order']", "steps"
        )
    chosen = tuple(funnel_steps.Step.parse(s) for s in steps) or funnel_steps.DEFAULT_STEPS
    result = funnel.run(store, flt, chosen, window_seconds=window_seconds, by=by)
    return {
        "steps": [s.label for s in result.steps],
        "window_seconds": result.window_seconds,
        "by": result.dimension,
        "rows": [dropoff_row(row) for row in result.rows],
    }


def dropoff_row(row: funnel.FunnelRow) -> dict[str, Any]:
    """One funnel row's drop-offs: per step, how many reached it, dropped after it, the drop
    rate and the share of all drop-offs; the step losing the most (the first of equals)."""
    counts = [f.entries for f in row.steps]
    lost = counts[0] - counts[-1]
    steps = []
    for i, figures in enumerate(row.steps):
        dropped = counts[i] - counts[i + 1] if i + 1 < len(counts) else None
        steps.append(
            {
                "step": figures.step.label,
                "reached": counts[i],
                "dropped": dropped,
                "drop_rate": dropped / counts[i] if dropped is not None and counts[i] else None,
                "share_of_dropoffs": dropped / lost if dropped is not None and lost else None,
            }
        )
    worst = max((s for s in steps if s["dropped"]), key=lambda s: s["dropped"], default=None)
    return {
        "value": row.value,
        "entered": counts[0],
        "completed": counts[-1],
        "dropped": lost,
        "worst_step": worst["step"] if worst else None,
        "steps": steps,
    }


def table_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per (value, step)."""
    return [
        {"value": row["value"], "step": s["step"], "reached": s["reached"],
         "dropped": s["dropped"], "drop_rate": s["drop_rate"],
         "of_all_drops": s["share_of_dropoffs"]}
        for row in answer["rows"]
        for s in row["steps"]
    ]  # fmt: skip


REPORT = Report(
    name="dropoff",
    summary="Where people leave a funnel: drops per step",
    counts=("funnel entries as the funnel counts them, and the step each one stops at"),
    run=dropoff_report,
    params=(
        STEPS,
        WINDOW,
        Param("by", str, None, "split by a dimension"),
    ),
    columns=(
        Column("value", "Value", "text", empty="(all)"),
        Column("step", "Step", "text"),
        Column("reached", "Reached"),
        Column("dropped", "Dropped after"),
        Column("drop_rate", "Drop rate", "percent"),
        Column("of_all_drops", "Share of all drop-offs", "percent"),
    ),
    rows=table_rows,
)
