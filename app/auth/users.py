"""Users in ClickHouse: who may log in, with which role, bound to which partner.

Each change inserts a new versioned row (ReplacingMergeTree), read back with FINAL, and is
written to the audit log (without the password hash). Usernames are unique by this module:
creation checks and inserts under one lock (the core is one process).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from app.auth import api_keys, passwords, sessions
from app.auth.records import clean, new_id, now, version
from app.store import audit
from app.store.client import Store

ROLES = ("admin", "media_buyer", "finance", "partner")
STATUSES = ("active", "disabled")

_create_lock = threading.Lock()


class UsernameTaken(Exception):
    """Another user already has this username."""


@dataclass(frozen=True)
class User:
    id: str
    username: str
    display_name: str
    role: str
    partner_id: str | None  # the partner slug, for role "partner" only
    password_hash: str = field(repr=False)
    status: str = "active"
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    @property
    def active(self) -> bool:
        return self.status == "active"

    def public(self) -> dict[str, Any]:
        """Every field but the password hash: what the API shows and the audit log keeps."""
        values = asdict(self)
        del values["password_hash"]
        return values


_COLUMNS = [f.name for f in fields(User)]


def new_user(
    username: str,
    role: str,
    password: str,
    *,
    display_name: str = "",
    partner_id: str | None = None,
) -> User:
    """A user not yet saved; the caller has validated the input (see app.api.users)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if (role == "partner") != bool(partner_id):
        raise ValueError("partner_id is required for role partner, and only for it")
    return User(
        id=new_id("usr_"),
        username=username,
        display_name=display_name or username,
        role=role,
        partner_id=partner_id if role == "partner" else None,
        password_hash=passwords.hash_password(password),
    )


def with_password(user: User, password: str) -> User:
    return replace(user, password_hash=passwords.hash_password(password))


def _row(user: User) -> list[Any]:
    values = asdict(user)
    values["partner_id"] = values["partner_id"] or ""
    return [values[c] for c in _COLUMNS] + [version()]


def _user(row: dict[str, Any]) -> User:
    row = clean(row)
    row["partner_id"] = row["partner_id"] or None
    return User(**row)


def save(store: Store, user: User) -> User:
    """Insert a new version of `user` (no audit, no checks: see create and update)."""
    user = replace(user, updated_at=now())
    store.insert_rows("users", [_row(user)], [*_COLUMNS, "version"])
    return user


def _select(store: Store, where: str = "", params: dict[str, Any] | None = None) -> list[User]:
    sql = (
        f"SELECT {', '.join(_COLUMNS)} FROM users FINAL {where} "  # noqa: S608 (fixed parts)
        "ORDER BY username"
    )
    return [_user(row) for row in store.query_dicts(sql, params or {})]


def get(store: Store, user_id: str) -> User | None:
    found = _select(store, "WHERE id = {id:String}", {"id": user_id})
    return found[0] if found else None


def get_by_username(store: Store, username: str) -> User | None:
    found = _select(store, "WHERE username = {u:String}", {"u": username})
    return found[0] if found else None


def load_all(store: Store) -> list[User]:
    return _select(store)


def create(store: Store, user: User, *, actor: str, actor_role: str) -> User:
    """Save a new user; raises UsernameTaken."""
    with _create_lock:
        if get_by_username(store, user.username) is not None:
            raise UsernameTaken(user.username)
        saved = save(store, user)
    audit.record(
        store,
        actor=actor,
        actor_role=actor_role,
        entity="user",
        entity_key=saved.id,
        action="create",
        before=None,
        after=saved.public(),
    )
    return saved


def ends_access(before: User, after: User) -> bool:
    """Whether this change ends every session and API key the user has: a new password (the
    old one may have leaked, with whatever was opened with it), another role or partner (what
    was granted under the old one must not outlive it), or a disabled account. Re-enabling or
    renaming gives nothing back and takes nothing away."""
    return (
        after.password_hash != before.password_hash
        or after.role != before.role
        or after.partner_id != before.partner_id
        or (before.active and not after.active)
    )


def update(store: Store, before: User, after: User, *, actor: str, actor_role: str) -> User:
    """Save `after` as the new version of `before` and audit it; a change that `ends_access`
    revokes the user's sessions and API keys (audited as the actor's). Callers holding an
    AuthCache clear it after."""
    if after.id != before.id or after.username != before.username:
        raise ValueError("a user's id and username do not change")
    password_changed = after.password_hash != before.password_hash
    saved = save(store, after)
    if ends_access(before, saved):
        sessions.revoke_user(store, saved.id)
        api_keys.revoke_user(store, saved.id, actor=actor, actor_role=actor_role)
    changes = {k for k, v in saved.public().items() if before.public()[k] != v} - {"updated_at"}
    if changes == {"status"}:
        action = "disable" if not saved.active else "enable"
    elif not changes and password_changed:
        action = "reset_password"
    else:
        action = "update"
    after_values = saved.public()
    if password_changed:
        after_values["password_reset"] = True
    audit.record(
        store,
        actor=actor,
        actor_role=actor_role,
        entity="user",
        entity_key=saved.id,
        action=action,
        before=before.public(),
        after=after_values,
    )
    return saved
