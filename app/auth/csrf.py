"""CSRF tokens for requests authenticated by the session cookie.

A logged-in session has its own secret (stored with the session); HTML forms carry it in
the `csrf_token` field and scripts in the `X-CSRF-Token` header. The login form, which
comes before any session, uses a double-submit cookie: a random value in an HttpOnly
cookie that the form must repeat. SameSite=Lax already keeps cross-site POSTs from
carrying our cookies; the token also covers same-site attackers and old browsers.
Bearer credentials (admin token, API keys) need no token: a browser never sends them
on its own.
"""

from __future__ import annotations

import hmac
import secrets

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "adtrack_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def matches(expected: str, given: str | None) -> bool:
    """Constant-time; an empty expected value never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
