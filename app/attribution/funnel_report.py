"""The funnel report (/stats/funnel): entries per step, step and overall conversion and the
median time between steps, as JSON, over `app.attribution.funnel`; and the steps and window
parameters every funnel-based report (drop-off, conversion ranking) declares alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.attribution import funnel, funnel_steps
from app.attribution.filters import Filter
from app.attribution.report import Column, Param, Report
from app.store.client import Store

STEPS = Param(
    "steps", list, None, "comma-separated, e.g. impression,click,visit,event:signup,order"
)
WINDOW = Param(
    "window", int, funnel_steps.DEFAULT_WINDOW_SECONDS, "conversion window, seconds (7 days)",
    ge=1, le=90 * 86400, arg="window_seconds",
)  # fmt: skip


def funnel_report(
    store: Store,
    flt: Filter,
    steps: Sequence[str] = (),
    *,
    window_seconds: int = funnel_steps.DEFAULT_WINDOW_SECONDS,
    by: str | None = None,
    source: str = "auto",
) -> dict[str, Any]:
    """Entries per step (a person entering on a day, see `app.attribution.funnel`), step and
    overall conversion, median seconds between steps; from the rollup when it covers the
    question (`source` says which was read, `computed_at` how fresh the rollup is)."""
    chosen = tuple(funnel_steps.Step.parse(s) for s in steps) or funnel_steps.DEFAULT_STEPS
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


def table_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per (value, step)."""
    return [
        {"value": row["value"], "step": s["step"], "entries": s["entries"],
         "conversion": s["conversion"], "overall": s["overall"], "median_s": s["median_seconds"]}
        for row in answer["rows"]
        for s in row["steps"]
    ]  # fmt: skip


REPORT = Report(
    name="funnel",
    summary="Funnel: entries per step, conversion, median time between",
    counts=(
        "entries: a person entering step 1 on a day (per value), followed within the window "
        "until their next entry day; the order step is reached by an order that counts "
        "(approved, by its latest status), whatever click it carries — so its orders are "
        "converted entries, not all orders"
    ),
    run=funnel_report,
    params=(
        STEPS,
        WINDOW,
        Param("by", str, None, "split by a dimension, e.g. channel"),
        Param(
            "source",
            str,
            "auto",
            "read the daily rollup when it covers the question "
            "(auto), always the events (raw), or only the rollup",
            choices=("auto", "raw", "rollup"),
        ),
    ),  # fmt: skip
    columns=(
        Column("value", "Value", "text", empty="(all)"),
        Column("step", "Step", "text"),
        Column("entries", "Entries"),
        Column("conversion", "Conversion from the previous step", "percent"),
        Column("overall", "Conversion from the first step", "percent"),
        Column("median_s", "Median time from the previous step", "seconds"),
    ),
    rows=table_rows,
)
