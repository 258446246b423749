"""Names beside codes and ids: the label of each value a report is split by (`by`).

A report row keeps the code or id in `value` (what filters and scripts match on) and gets a
`name` beside it: a region's GB/T 2260 name in its one official form (北京市, 广东省, never 北京
or 广东 as the geo databases spell them), a catalog entity's name (campaign, placement,
creative, channel, partner, site), a channel type's label. Every report with `by` is labelled
here, in one place (`Report.answer`), so the API, the CLI and the files show the same names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.catalog.models import CHANNEL_TYPES
from app.geo import regions
from app.store.client import Store

# Dimension -> (catalog table, key column): names read with FINAL, values bound.
CATALOG: dict[str, tuple[str, str]] = {
    "channel": ("channels", "id"),
    "partner_id": ("partners", "id"),
    "campaign_id": ("campaigns", "id"),
    "placement_id": ("placements", "id"),
    "creative_id": ("creatives", "id"),
    "site_key": ("sites", "site_key"),
}
PROVINCES = ("province", "province_code")
CITIES = ("city", "city_code")
LABELLED = (*CATALOG, *PROVINCES, *CITIES, "channel_type")
# The row field that holds the split value (conversion-ranking calls it `key`).
VALUE_FIELDS = ("value", "key")


def region_name(code: str, level: str) -> str:
    """The GB/T 2260 name of a province or city code; "" for anything else (a place abroad
    the geo database names in its own words keeps those as its value)."""
    if level == "province":
        division = regions.province(code)
    else:  # a municipality's city code is its province code: regions.city knows both
        division = regions.city(code) or regions.province(code)
    return division.name if division else ""


def names(store: Store, by: str, values: Iterable[str]) -> dict[str, str]:
    """Value -> name for the values of dimension `by` that have one."""
    wanted = sorted({v for v in values if isinstance(v, str) and v})
    if not wanted or by not in LABELLED:
        return {}
    if by in PROVINCES or by in CITIES:
        level = "province" if by in PROVINCES else "city"
        found = {v: region_name(v, level) for v in wanted}
        return {v: n for v, n in found.items() if n}
    if by == "channel_type":
        return {v: CHANNEL_TYPES[v]["name_zh"] for v in wanted if v in CHANNEL_TYPES}
    table, key = CATALOG[by]
    sql = (
        f"SELECT {key}, name FROM {table} FINAL "  # noqa: S608 (table and key from CATALOG)
        f"WHERE {key} IN {{values:Array(String)}}"
    )
    return {str(k): str(n) for k, n in store.query(sql, {"values": wanted}) if n}


def label_answer(store: Store, answer: Any) -> None:
    """Add `name` beside the value of every row of a report answer split `by` a labelled
    dimension (in place); a value without a name (none, unknown) gets "". No split, no names."""
    if not isinstance(answer, dict) or answer.get("by") not in LABELLED:
        return
    rows = [r for r in answer.get("rows") or () if isinstance(r, dict)]
    found = names(store, answer["by"], (_value(r) for r in rows))
    for row in rows:
        value = _value(row)
        if value is not None:
            row["name"] = found.get(value, "")


def _value(row: dict[str, Any]) -> Any:
    for field in VALUE_FIELDS:
        if field in row:
            return row[field]
    return None
