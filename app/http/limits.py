"""How large a request body each route of the core takes: the edge refuses more before
forwarding, the core again before any route reads it (app/http/guard.py)."""

from __future__ import annotations

import re

SMALL_BODY = 1024 * 1024  # JSON and forms: a catalog row, a user, a login
LARGE_BODY = 32 * 1024 * 1024  # CSV imports and spend rows, for authenticated callers only
_LARGE = re.compile(r"/(?:api/v1/import/[a-z_]+|api/v1/costs|admin/catalog/[a-z_]+/import)/?\Z")


def takes_large_body(path: str) -> bool:
    return _LARGE.match(path) is not None


def body_limit(path: str) -> int:
    """The most a route may be sent; LARGE_BODY routes take it only once authenticated."""
    return LARGE_BODY if takes_large_body(path) else SMALL_BODY
