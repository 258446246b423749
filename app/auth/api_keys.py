"""API keys for scripts: `adt_` + 32 random bytes, shown once; the store keeps its sha256.

A key acts as its user (same role and partner) for as long as the key is not revoked and
the user is active. A password reset, a new role or partner and disabling the user revoke
all of its keys (app.auth.users.update): a key never outlives the grant it was made under.
Creation and revocation are written to the audit log.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from app.auth.records import clean, new_id, now, sha256_hex, version
from app.store import audit
from app.store.client import Store

PREFIX = "adt_"
_SHOWN = 8  # characters of the random part kept for display, next to the last four


@dataclass(frozen=True)
class ApiKey:
    id: str
    user_id: str
    name: str
    prefix: str  # e.g. "adt_Ab3dE9xQ", to recognise a key in a list
    last4: str
    key_hash: str = field(repr=False)
    revoked: bool = False
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    def public(self) -> dict[str, Any]:
        values = asdict(self)
        del values["key_hash"]
        return values


_COLUMNS = [f.name for f in fields(ApiKey)]


def looks_like_key(secret: str) -> bool:
    return secret.startswith(PREFIX) and len(secret) > len(PREFIX) + _SHOWN


def _save(store: Store, key: ApiKey) -> ApiKey:
    key = replace(key, updated_at=now())
    values = asdict(key)
    store.insert_rows(
        "api_keys", [[values[c] for c in _COLUMNS] + [version()]], [*_COLUMNS, "version"]
    )
    return key


def _select(store: Store, where: str = "", params: dict[str, Any] | None = None) -> list[ApiKey]:
    sql = (
        f"SELECT {', '.join(_COLUMNS)} FROM api_keys FINAL {where} "  # noqa: S608 (fixed)
        "ORDER BY created_at, id"
    )
    return [ApiKey(**clean(row)) for row in store.query_dicts(sql, params or {})]


def create(
    store: Store, user_id: str, name: str, *, actor: str, actor_role: str
) -> tuple[str, ApiKey]:
    """(the secret, to show once; the stored key)."""
    secret = PREFIX + secrets.token_urlsafe(32)
    key = _save(
        store,
        ApiKey(
            id=new_id("key_"),
            user_id=user_id,
            name=name,
            prefix=secret[: len(PREFIX) + _SHOWN],
            last4=secret[-4:],
            key_hash=sha256_hex(secret),
        ),
    )
    audit.record(
        store,
        actor=actor,
        actor_role=actor_role,
        entity="api_key",
        entity_key=key.id,
        action="create",
        before=None,
        after=key.public(),
    )
    return secret, key


def find(store: Store, secret: str) -> ApiKey | None:
    """The key with this secret, revoked or not."""
    return find_by_hash(store, sha256_hex(secret))


def find_by_hash(store: Store, key_hash: str) -> ApiKey | None:
    found = _select(store, "WHERE key_hash = {h:String}", {"h": key_hash})
    return found[0] if found else None


def get(store: Store, key_id: str) -> ApiKey | None:
    found = _select(store, "WHERE id = {id:String}", {"id": key_id})
    return found[0] if found else None


def list_keys(store: Store, user_id: str | None = None) -> list[ApiKey]:
    """One user's keys, or everyone's."""
    if user_id is None:
        return _select(store)
    return _select(store, "WHERE user_id = {u:String}", {"u": user_id})


def revoke(store: Store, key: ApiKey, *, actor: str, actor_role: str) -> ApiKey:
    if key.revoked:
        return key
    revoked = _save(store, replace(key, revoked=True))
    audit.record(
        store,
        actor=actor,
        actor_role=actor_role,
        entity="api_key",
        entity_key=key.id,
        action="revoke",
        before=key.public(),
        after=revoked.public(),
    )
    return revoked


def revoke_user(store: Store, user_id: str, *, actor: str, actor_role: str) -> int:
    """Revoke every live key of a user; returns how many."""
    live = [k for k in list_keys(store, user_id) if not k.revoked]
    for key in live:
        revoke(store, key, actor=actor, actor_role=actor_role)
    return len(live)
