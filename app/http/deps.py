"""FastAPI dependencies: the runtime, the store, and who is calling with which role.

Every route but the few public ones (see tests/api/test_route_scopes.py) takes a role check
made by `require_roles` (API routes: 401/403 as JSON) or `require_page_roles` (pages: a
redirect to the login page, or an HTML 403). Both mark the dependency they return with
`ROLES_MARKER`, which is how the route-walking test knows a route is checked.

Credentials, in this order: `Authorization: Bearer <admin token or API key>`, else the
session cookie. With the session cookie, an unsafe method (POST, PUT, PATCH, DELETE) also
needs the session's CSRF token, in the `X-CSRF-Token` header or the `csrf_token` form field.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from app.auth import api_keys, csrf, sessions
from app.auth.principal import TOKEN_PRINCIPAL, Principal, from_bearer, from_session
from app.auth.state import AuthState
from app.auth.users import ROLES
from app.catalog.cache import CatalogCache
from app.store.client import Store
from app.store.event_log import PartnerScope
from app.tracker.clientip import CLIENT_HEADER, EDGE_HEADER, ClientIp, vouched_client

__all__ = [
    "ROLES_MARKER",
    "TOKEN_PRINCIPAL",
    "AdminDep",
    "AdminPageDep",
    "AuthStateDep",
    "CatalogDep",
    "PageDenied",
    "Principal",
    "ReadDep",
    "ReadPageDep",
    "RuntimeDep",
    "SiteScopeDep",
    "StaffDep",
    "StaffPageDep",
    "StoreDep",
    "TeamDep",
    "client_address",
    "current_principal",
    "identify",
    "from_edge",
    "require_page_roles",
    "require_roles",
    "route_roles",
    "session_of",
]

ROLES_MARKER = "__adtrack_roles__"


def get_runtime(request: Request) -> Any:
    return request.app.state.runtime


RuntimeDep = Annotated[Any, Depends(get_runtime)]


def get_store(runtime: RuntimeDep) -> Store:
    if runtime.store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "store not open")
    return runtime.store


def get_catalog(runtime: RuntimeDep) -> CatalogCache:
    if runtime.catalog is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "catalog not loaded")
    return runtime.catalog


def get_auth_state(request: Request) -> AuthState:
    return request.app.state.auth


StoreDep = Annotated[Store, Depends(get_store)]
CatalogDep = Annotated[CatalogCache, Depends(get_catalog)]
AuthStateDep = Annotated[AuthState, Depends(get_auth_state)]


# -- who is calling -----------------------------------------------------------------------


class Denied(Exception):
    """Why a request has no usable principal: 401 (who are you?), 403 (CSRF) or 429 (too many
    failed credentials from this address, or too many requests with this one)."""

    def __init__(
        self, status_code: int, error: str, detail: str, retry_after_s: float = 0.0
    ) -> None:
        super().__init__(detail)
        self.status = status_code
        self.error = error
        self.detail = detail
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str] | None:
        if self.status == 401:
            return {"WWW-Authenticate": "Bearer"}
        if self.status == 429:
            return {"Retry-After": str(max(1, math.ceil(self.retry_after_s)))}
        return None


async def _csrf_form_field(request: Request) -> str | None:
    """The `csrf_token` field of a form posted with the session cookie (read only then).

    Starlette keeps the parsed form on the request, so the route's own Form fields still work.
    """
    if (
        request.method in csrf.SAFE_METHODS
        or csrf.HEADER in request.headers
        or "authorization" in request.headers
        or sessions.COOKIE not in request.cookies
    ):
        return None
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    value = (await request.form()).get(csrf.FIELD)
    return value if isinstance(value, str) else None


Identity = tuple[Principal, "sessions.Session | None"]
IDENTITY_KEY = "adtrack_identity"  # request.state: who the guard found, before any body


def identify(request: Request) -> Identity:
    """Who presents these credentials (bearer first, else the session cookie), without the
    CSRF check. An address whose credentials keep naming no one is refused (429) before any
    store query; each failure counts."""
    known = getattr(request.state, IDENTITY_KEY, None)
    if known is not None:
        return known
    runtime = request.app.state.runtime
    state: AuthState = request.app.state.auth
    header = request.headers.get("authorization")
    token = request.cookies.get(sessions.COOKIE)
    if header is None and not token:
        raise Denied(401, "unauthorized", "bearer token or login session required")
    address = client_address(request, state.client_ip)
    wait_s = state.auth_failures.retry_after(address)
    if wait_s > 0:
        raise Denied(
            429, "too_many_requests", "too many failed credentials from this address", wait_s
        )
    found: Identity | None = None
    if header is not None:
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise Denied(401, "unauthorized", "bearer token required")
        principal = from_bearer(
            secret, admin_token=runtime.admin_token, store=runtime.store, cache=state.cache
        )
        found = (principal, None) if principal is not None else None
        failure = "invalid token"
        # Only a miss that cost a look-up counts: a secret shaped like no key never
        # reaches the store (and is refused as cheaply as the rate limit would be).
        looked_up = api_keys.looks_like_key(secret)
    else:
        found = from_session(token or "", store=runtime.store, cache=state.cache)
        failure = "session expired or ended; log in again"
        looked_up = True
    if found is None:
        if looked_up:
            state.auth_failures.failed(address)
        raise Denied(401, "unauthorized", failure)
    setattr(request.state, IDENTITY_KEY, found)
    return found


def _resolve(request: Request, form_token: str | None) -> Principal:
    state: AuthState = request.app.state.auth
    principal, session = identify(request)
    wait_s = state.requests.take(f"principal:{principal.user_id}")
    if wait_s > 0:
        raise Denied(429, "too_many_requests", "too many requests with these credentials", wait_s)
    if session is not None:
        request.state.session = session
        if request.method not in csrf.SAFE_METHODS:
            given = request.headers.get(csrf.HEADER) or form_token
            if not csrf.matches(session.csrf_secret, given):
                raise Denied(
                    403, "csrf", "missing or wrong CSRF token (X-CSRF-Token or csrf_token)"
                )
    return principal


def denied_body(denied: Denied) -> dict[str, Any]:
    return {"error": denied.error, "detail": denied.detail}


def current_principal(
    request: Request, form_token: Annotated[str | None, Depends(_csrf_form_field)]
) -> Principal:
    """The caller; 401 (with WWW-Authenticate: Bearer) when there is none, 403 on CSRF, 429
    (with Retry-After) when throttled."""
    try:
        return _resolve(request, form_token)
    except Denied as denied:
        raise HTTPException(denied.status, denied_body(denied), headers=denied.headers()) from None


def session_of(request: Request) -> sessions.Session | None:
    """The session a request was authenticated with (after a role check), if any."""
    return getattr(request.state, "session", None)


def _checked_roles(roles: tuple[str, ...]) -> frozenset[str]:
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"roles must be some of {ROLES}, got {roles}")
    return frozenset(roles)


def require_roles(*roles: str) -> Any:
    """A dependency yielding the Principal: 401 without valid credentials, 403
    {"error": "forbidden", ...} when its role is not one of `roles`.

    Use as `Depends(require_roles("admin", "media_buyer"))`, or an alias below.
    """
    allowed = _checked_roles(roles)

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                {
                    "error": "forbidden",
                    "detail": f"role {principal.role} may not do this",
                    "roles": sorted(allowed),
                },
            )
        return principal

    setattr(dependency, ROLES_MARKER, allowed)
    dependency.__name__ = f"require_roles_{'_'.join(sorted(allowed))}"
    return dependency


class PageDenied(Exception):
    """A page refused: app.web.pages answers it (redirect to the login page, or HTML 403)."""

    def __init__(
        self, status_code: int, detail: str, next_path: str = "", retry_after_s: float = 0.0
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.next_path = next_path
        self.retry_after_s = retry_after_s


def require_page_roles(*roles: str) -> Any:
    """`require_roles` for HTML pages: a GET without a login redirects to
    /login?next=<this page>; other refusals are HTML pages (401, 403)."""
    allowed = _checked_roles(roles)

    def dependency(
        request: Request, form_token: Annotated[str | None, Depends(_csrf_form_field)]
    ) -> Principal:
        try:
            principal = _resolve(request, form_token)
        except Denied as denied:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            next_path = here if request.method == "GET" else ""
            raise PageDenied(
                denied.status, denied.detail, next_path, denied.retry_after_s
            ) from None
        if principal.role not in allowed:
            raise PageDenied(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not see this")
        return principal

    setattr(dependency, ROLES_MARKER, allowed)
    dependency.__name__ = f"require_page_roles_{'_'.join(sorted(allowed))}"
    return dependency


def route_roles(dependant: Any) -> frozenset[str] | None:
    """The roles a route's dependencies (walked recursively) let through — every check must
    pass, so the intersection; None if the route has no role check at all."""
    checks: list[frozenset[str]] = []
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, ROLES_MARKER, None)
        if roles is not None:
            checks.append(roles)
        stack.extend(dep.dependencies)
    return frozenset.intersection(*checks) if checks else None


# Everyone who works here; partners are outside callers limited to their own sites.
AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
StaffDep = Annotated[Principal, Depends(require_roles("admin", "media_buyer"))]
TeamDep = Annotated[Principal, Depends(require_roles("admin", "media_buyer", "finance"))]
ReadDep = Annotated[Principal, Depends(require_roles("admin", "media_buyer", "finance", "partner"))]
AdminPageDep = Annotated[Principal, Depends(require_page_roles("admin"))]
StaffPageDep = Annotated[Principal, Depends(require_page_roles("admin", "media_buyer"))]
ReadPageDep = Annotated[
    Principal, Depends(require_page_roles("admin", "media_buyer", "finance", "partner"))
]


# -- partner scope --------------------------------------------------------------------------


def site_scope(
    principal: Annotated[Principal, Depends(current_principal)], runtime: RuntimeDep
) -> PartnerScope | None:
    """None for everyone in-house (all events); a partner's scope for role partner. Pair it
    with a role check on the route."""
    if principal.role != "partner":
        return None
    partner = principal.partner_id or ""
    return PartnerScope(partner, tuple(get_catalog(runtime).snapshot.sites_of(partner)))


SiteScopeDep = Annotated[PartnerScope | None, Depends(site_scope)]


def client_address(request: Request, trusted: ClientIp) -> str:
    """The client's address, by one rule wherever a request enters: the address our edge
    vouched for (it applied `trusted` to its TCP peer and X-Forwarded-For), else this
    connection's peer and X-Forwarded-For under the same rule. Never a header uvicorn or a
    client chose: the core runs without proxy headers, and the vouching needs the secret."""
    settings = request.app.state.runtime.settings
    vouched = vouched_client(
        settings.edge_secret, request.headers.get(EDGE_HEADER), request.headers.get(CLIENT_HEADER)
    )
    if vouched is not None:
        return vouched
    peer = request.client.host if request.client else ""
    return trusted.resolve(peer, ",".join(request.headers.getlist("x-forwarded-for")))


def from_edge(request: Request) -> bool:
    """Whether the request came through our edge (for the loopback-only /internal routes)."""
    settings = request.app.state.runtime.settings
    return (
        vouched_client(settings.edge_secret, request.headers.get(EDGE_HEADER), "edge") is not None
    )
