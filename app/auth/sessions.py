"""Login sessions: a random token in an HttpOnly cookie, its sha256 in the `sessions` table.

The server keeps each session's state, so logging out, a password reset, a new role or
partner, or disabling a user ends it at once (see app.auth.users.update). Every session
has its own CSRF secret (see app.auth.csrf).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from app.auth import csrf
from app.auth.records import clean, now, sha256_hex, version
from app.store.client import Store

COOKIE = "adtrack_session"


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: str
    csrf_secret: str
    created_at: datetime
    expires_at: datetime
    revoked: bool = False

    def valid(self, at: datetime | None = None) -> bool:
        return not self.revoked and (at or now()) < self.expires_at


_COLUMNS = [f.name for f in fields(Session)]


def _insert(store: Store, session: Session) -> None:
    values = asdict(session)
    store.insert_rows(
        "sessions", [[values[c] for c in _COLUMNS] + [version()]], [*_COLUMNS, "version"]
    )


def token_hash(token: str) -> str:
    return sha256_hex(token)


def create(store: Store, user_id: str, lifetime_s: int) -> tuple[str, Session]:
    """A new session: (the token for the cookie, shown nowhere else; the stored session)."""
    token = secrets.token_urlsafe(32)
    started = now()
    session = Session(
        id_hash=token_hash(token),
        user_id=user_id,
        csrf_secret=csrf.new_secret(),
        created_at=started,
        expires_at=started + timedelta(seconds=lifetime_s),
    )
    _insert(store, session)
    return token, session


def _select(store: Store, where: str, params: dict[str, Any]) -> list[Session]:
    sql = f"SELECT {', '.join(_COLUMNS)} FROM sessions FINAL {where}"  # noqa: S608 (fixed)
    return [Session(**clean(row)) for row in store.query_dicts(sql, params)]


def get(store: Store, token_hash: str) -> Session | None:
    """The session with this token hash, whatever its state (check `valid()`)."""
    found = _select(store, "WHERE id_hash = {h:String}", {"h": token_hash})
    return found[0] if found else None


def revoke(store: Store, session: Session) -> Session:
    revoked = replace(session, revoked=True)
    _insert(store, revoked)
    return revoked


def revoke_user(store: Store, user_id: str) -> int:
    """End every live session of a user; returns how many."""
    live = _select(
        store,
        "WHERE user_id = {u:String} AND NOT revoked AND expires_at > now64(3)",
        {"u": user_id},
    )
    for session in live:
        revoke(store, session)
    return len(live)
