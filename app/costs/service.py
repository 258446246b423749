"""Saving and reading spend: each import is checked whole (`importer`), written as new
versions of its rows (the same day and breakdown replaces what was there) and noted once in
the audit log."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from app.catalog import rows as catalog_rows
from app.costs import importer
from app.costs.models import KEY_FIELDS, CostIn
from app.store import audit
from app.store.client import Store

Source = Literal["csv", "api"]
_COLUMNS = ["day", *KEY_FIELDS, "spend", "currency", "source", "imported_by", "imported_at"]


@dataclass(frozen=True)
class Actor:
    """Who imports, as the audit log names them."""

    name: str
    role: str


@dataclass(frozen=True)
class CostRow:
    day: date
    campaign_id: str
    channel: str
    partner_id: str
    site_key: str
    placement_id: str
    spend: Decimal
    currency: str
    source: str
    imported_by: str
    imported_at: datetime


@dataclass
class ImportResult:
    dry_run: bool
    rows: list[CostIn]
    errors: list[tuple[int, str, str]]  # (line of the file / index of the list, field, reason)

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "count": len(self.rows),
            "spend": str(sum((r.spend for r in self.rows), Decimal("0.00"))),
            "rows": [r.model_dump(mode="json") for r in self.rows],
        }


def import_csv(store: Store, text: str, actor: Actor, *, dry_run: bool = False) -> ImportResult:
    """Check every line of a CSV (header: day, spend and any of campaign_id, channel,
    partner_id, site_key, placement_id, currency), then save all or none."""
    items, errors = importer.parse_csv(text)
    if errors:
        return ImportResult(dry_run, [], errors)
    return _import(store, items, actor, "csv", dry_run)


def import_items(
    store: Store, items: Sequence[dict[str, Any]], actor: Actor, *, dry_run: bool = False
) -> ImportResult:
    """The same for a JSON list (errors name the item's index)."""
    if len(items) > importer.MAX_ROWS:
        return ImportResult(dry_run, [], [(0, "rows", f"at most {importer.MAX_ROWS} rows")])
    return _import(store, list(enumerate(items)), actor, "api", dry_run)


def _import(
    store: Store, items: list[tuple[int, Any]], actor: Actor, source: Source, dry_run: bool
) -> ImportResult:
    checked = importer.check(items, catalog_rows.load_snapshot(store))
    if checked.errors:
        return ImportResult(dry_run, [], checked.errors)
    if not dry_run and checked.rows:
        save(store, checked.rows, actor, source)
    return ImportResult(dry_run, checked.rows, [])


def save(store: Store, rows: Sequence[CostIn], actor: Actor, source: Source) -> None:
    """Insert checked rows as one batch (one version: later imports win)."""
    now = datetime.now(UTC)
    version = time.time_ns()
    values = [
        [r.day, *(getattr(r, f) for f in KEY_FIELDS), r.spend, r.currency, source, actor.name,
         now, version]
        for r in rows
    ]  # fmt: skip
    store.insert_rows("costs", values, [*_COLUMNS, "version"])
    days = sorted({r.day for r in rows})
    totals: dict[str, Decimal] = {}
    for r in rows:
        totals[r.currency] = totals.get(r.currency, Decimal(0)) + r.spend
    audit.record(
        store,
        actor=actor.name,
        actor_role=actor.role,
        entity="costs",
        entity_key=f"{days[0]}..{days[-1]}",
        action="import",
        before=None,
        after={
            "source": source,
            "rows": len(rows),
            "spend": {k: str(v) for k, v in totals.items()},
        },
    )


def list_rows(
    store: Store, start: date, end: date, campaign_id: str | None = None
) -> list[CostRow]:
    """The current spend rows of `start`..`end` (inclusive days), in key order."""
    condition = "day >= {start:Date} AND day <= {end:Date}"
    params: dict[str, Any] = {"start": start, "end": end}
    if campaign_id is not None:
        condition += " AND campaign_id = {campaign_id:String}"
        params["campaign_id"] = campaign_id
    sql = (
        f"SELECT {', '.join(_COLUMNS)} FROM costs FINAL WHERE {condition} "  # noqa: S608
        "ORDER BY day, campaign_id, channel, partner_id, site_key, placement_id"
    )
    rows = []
    for found in store.query_dicts(sql, params):
        stamp = found["imported_at"]
        found["imported_at"] = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        found["spend"] = Decimal(str(found["spend"])).quantize(Decimal("0.01"))
        rows.append(CostRow(**found))
    return rows


def row_json(row: CostRow) -> dict[str, Any]:
    out = asdict(row)
    out["day"] = row.day.isoformat()
    out["spend"] = str(row.spend)
    out["imported_at"] = row.imported_at.isoformat()
    return out
