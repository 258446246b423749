"""Who is calling: a Principal from a bearer secret (admin token or API key) or a session."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from app.auth import api_keys, sessions
from app.auth.cache import AuthCache
from app.auth.records import sha256_hex
from app.auth.sessions import Session
from app.auth.users import User
from app.store.client import Store


@dataclass(frozen=True)
class Principal:
    user_id: str  # "admin-token" for the bootstrap token
    username: str
    role: str  # "admin" | "media_buyer" | "finance" | "partner"
    partner_id: str | None  # set only for role "partner": the partner slug (Site.partner)
    via: str  # "token" | "api_key" | "session"


# The bootstrap admin token (ADTRACK_ADMIN_TOKEN or <data dir>/admin_token): an admin that
# is no user, so a fresh install can create its first users.
TOKEN_PRINCIPAL = Principal(
    user_id="admin-token", username="admin-token", role="admin", partner_id=None, via="token"
)


def for_user(user: User, via: str) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        partner_id=user.partner_id if user.role == "partner" else None,
        via=via,
    )


def from_bearer(
    secret: str, *, admin_token: str, store: Store | None, cache: AuthCache
) -> Principal | None:
    """The admin token (constant-time compare) or a live API key of an active user."""
    if admin_token and hmac.compare_digest(secret.encode(), admin_token.encode()):
        return TOKEN_PRINCIPAL
    if store is None or not api_keys.looks_like_key(secret):
        return None
    key = cache.api_key(store, sha256_hex(secret))
    if key is None or key.revoked:
        return None
    user = cache.user(store, key.user_id)
    if user is None or not user.active:
        return None
    return for_user(user, "api_key")


def from_session(
    token: str, *, store: Store | None, cache: AuthCache
) -> tuple[Principal, Session] | None:
    """A live session of an active user, by the cookie's token."""
    if store is None or not token:
        return None
    session = cache.session(store, sessions.token_hash(token))
    if session is None or not session.valid():
        return None
    user = cache.user(store, session.user_id)
    if user is None or not user.active:
        return None
    return for_user(user, "session"), session
