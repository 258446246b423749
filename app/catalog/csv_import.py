"""Bulk import of partners, sites and links from CSV: every row is checked first, and either
all rows are saved or none (a list of row/field/reason errors comes back instead)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.catalog import entities as cat
from app.catalog import service
from app.csv_safety import UnreadableCsv, read_dicts
from app.store.client import Store

IMPORTABLE = ("partners", "sites", "links")
MAX_ROWS = 10_000
# Columns a file may have; others are refused so a typo in a header is not silently lost.
COLUMNS: dict[str, tuple[str, ...]] = {
    "partners": ("id", "name", "contact_name", "contact_email"),
    "sites": ("name", "partner", "advertiser_id", "domain", "channel"),
    "links": ("campaign_id", "site_key", "landing_url", "placement_id", "creative_id",
              "fallback_url"),
}  # fmt: skip


@dataclass
class ImportResult:
    created: list[Any] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, field, reason)


def _rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    header, records = read_dicts(text)
    return header, [(line, {k: (v or "").strip() for k, v in row.items() if k})
                    for line, row in records]  # fmt: skip


def import_csv(
    store: Store, plural: str, text: str, actor: service.Actor, *, dry_run: bool = False
) -> ImportResult:
    if plural not in IMPORTABLE:
        raise KeyError(plural)
    result = ImportResult()
    try:
        header, rows = _rows(text)
    except UnreadableCsv as exc:  # a cell too long for the reader
        result.errors.append((exc.line, exc.column, exc.reason))
        return result
    unknown = [h for h in header if h not in COLUMNS[plural]]
    if not header:
        result.errors.append((1, "header", "the file is empty or has no header line"))
    elif unknown:
        allowed = ", ".join(COLUMNS[plural])
        result.errors.append((1, unknown[0], f"unknown column; use {allowed}"))
    elif len(rows) > MAX_ROWS:
        result.errors.append((1, "rows", f"at most {MAX_ROWS} rows per file"))
    if result.errors:
        return result
    rules = service.ENTITIES[plural]
    checked: list[cat.Entity] = []
    seen: set[str] = set()
    for line, row in rows:
        values = {k: v for k, v in row.items() if v != ""}
        try:
            body = rules.model_in.model_validate(values)
            entity = service.check_new(store, plural, body)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "row"
                result.errors.append((line, where, err["msg"]))
            continue
        except service.CatalogError as exc:
            result.errors.extend((line, f, r) for f, r, _ in exc.errors)
            continue
        key = cat.key_of(entity)
        if plural == "partners" and key in seen:
            result.errors.append((line, "id", "this id is in the file twice"))
            continue
        seen.add(key)
        checked.append(entity)
    if result.errors or dry_run:
        result.created = [] if result.errors else checked
        return result
    result.created = [service.save_new(store, plural, e, actor) for e in checked]
    return result
