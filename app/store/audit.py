"""The audit log: who changed which catalog or account entity, when, and from what to what.

Writers pass the entity as a dict before and after the change; fields named in `REDACTED`
are replaced by a marker, so secrets never reach the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from app.store.client import Store

REDACTED = frozenset({"postback_secret", "password_hash", "key_hash", "password", "secret"})
_MARK = "<redacted>"
_COLUMNS = ["ts", "actor", "actor_role", "entity", "entity_key", "action", "before", "after"]


@dataclass(frozen=True)
class AuditEntry:
    ts: datetime
    actor: str
    actor_role: str
    entity: str
    entity_key: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _dump(values: dict[str, Any] | None) -> str:
    if values is None:
        return ""
    clean = {k: (_MARK if k in REDACTED and v else v) for k, v in values.items()}
    return orjson.dumps(clean, default=str, option=orjson.OPT_SORT_KEYS).decode()


def _load(text: str) -> dict[str, Any] | None:
    return orjson.loads(text) if text else None


def record(
    store: Store,
    *,
    actor: str,
    actor_role: str,
    entity: str,
    entity_key: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one change. `action` is e.g. create, update, pause, archive, revoke."""
    now = datetime.now(UTC)
    row = [now, actor, actor_role, entity, entity_key, action, _dump(before), _dump(after)]
    store.insert_rows("audit_log", [row], _COLUMNS)


def history(
    store: Store, *, entity: str | None = None, entity_key: str | None = None, limit: int = 200
) -> list[AuditEntry]:
    """Newest first; filters are bound parameters."""
    where, params = [], {"limit": limit}
    if entity is not None:
        where.append("entity = {entity:String}")
        params["entity"] = entity
    if entity_key is not None:
        where.append("entity_key = {key:String}")
        params["key"] = entity_key
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = (
        f"SELECT {', '.join(_COLUMNS)} FROM audit_log {clause} "  # noqa: S608 (fixed parts)
        "ORDER BY ts DESC LIMIT {limit:UInt32}"
    )
    out = []
    for row in store.query_dicts(sql, params):
        ts = row["ts"] if row["ts"].tzinfo else row["ts"].replace(tzinfo=UTC)
        out.append(
            AuditEntry(
                ts=ts,
                actor=row["actor"],
                actor_role=row["actor_role"],
                entity=row["entity"],
                entity_key=row["entity_key"],
                action=row["action"],
                before=_load(row["before"]),
                after=_load(row["after"]),
            )
        )
    return out
