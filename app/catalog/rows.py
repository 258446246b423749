"""Catalog rows in ClickHouse: each change of an entity inserts a new versioned row
(ReplacingMergeTree), read back with FINAL.

Structured settings (targeting, routing rules, split variants) are JSON text columns: the
hit path reads them from the snapshot, never from SQL.
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from app.catalog.entities import KINDS, E, key_of, kind_of, now
from app.catalog.snapshot import CatalogSnapshot
from app.store.client import Store

# Stored as JSON text; everything else maps to a native column type.
_JSON_FIELDS = frozenset({"targeting", "variants", "rules"})


def _version() -> int:
    return time.time_ns()


def _columns(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def save(store: Store, entity: E) -> E:
    """Insert a new version of `entity` (create or update)."""
    kind = kind_of(type(entity))
    entity = replace(entity, updated_at=now())
    values = asdict(entity)
    columns = _columns(kind.cls)
    row = [orjson.dumps(values[c]).decode() if c in _JSON_FIELDS else values[c] for c in columns]
    store.insert_rows(kind.table, [[*row, _version()]], [*columns, "version"])
    return entity


def load_all(store: Store, cls: type[E]) -> list[E]:
    kind = kind_of(cls)
    cols = _columns(cls)
    sql = f"SELECT {', '.join(cols)} FROM {kind.table} FINAL ORDER BY {kind.key}"  # noqa: S608
    return [cls(**_clean(row)) for row in store.query_dicts(sql)]


def get(store: Store, cls: type[E], key: str) -> E | None:
    kind = kind_of(cls)
    cols = _columns(cls)
    sql = (
        f"SELECT {', '.join(cols)} FROM {kind.table} FINAL "  # noqa: S608 (allow-list)
        f"WHERE {kind.key} = {{key:String}}"
    )
    rows = store.query_dicts(sql, {"key": key})
    return cls(**_clean(rows[0])) if rows else None


def catalog_version(store: Store) -> int:
    """A number that changes whenever any catalog row changes (for cache refresh)."""
    parts = [f"(SELECT max(version) FROM {k.table})" for k in KINDS]  # noqa: S608
    sql = f"SELECT greatest({', '.join(parts)})"  # noqa: S608 (allow-list)
    return int(store.query(sql)[0][0] or 0)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        elif key in _JSON_FIELDS:
            value = orjson.loads(value) if value else ([] if key != "targeting" else {})
        elif key == "tags" or key == "campaign_ids":
            value = list(value)
        out[key] = value
    return out


def load_snapshot(store: Store) -> CatalogSnapshot:
    version = catalog_version(store)
    tables = {k.table: {key_of(e): e for e in load_all(store, k.cls)} for k in KINDS}
    return CatalogSnapshot(version=version, **tables)
