"""Every route of the real app checks a role, except the few public ones listed here.

Walks the routes of the core app as `adtrack serve` builds it (so routes added later are
walked too), then calls each checked route anonymously on a real server: API routes answer
401, pages send you to the login page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import APIRouter, Depends, FastAPI

from app.http.deps import require_page_roles, require_roles, route_roles
from app.serve.core import create_core_app
from app.settings import load_settings
from tests.support.server import ServerProcess

# The only routes anyone may call without a role. Keep this list short and explained.
PUBLIC = {
    ("GET", "/login"),  # the login form
    ("POST", "/login"),  # logging in (CSRF double-submit, throttled)
    ("GET", "/openapi.json"),  # the API's description: routes, not data
    ("GET", "/docs"),  # Swagger UI
    ("GET", "/docs/assets"),  # its static files, from a pinned package (no CDN)
}
PUBLIC_PREFIXES = ("/internal/",)  # the core's loopback routes; the edge never forwards them
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def walk(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """(method, path, the route's dependant or None) for every route, included routers too."""
    try:  # FastAPI ≥ 0.13x keeps included routers lazily; this resolves them
        from fastapi.routing import iter_route_contexts

        routes: Any = iter_route_contexts(app.routes)
    except ImportError:  # older FastAPI: app.routes is already flat
        routes = app.routes
    for route in routes:
        path = getattr(route, "path", None)
        if path is None:
            raise AssertionError(f"a route without a path (a mount?): {route!r}: walk it here")
        dependant = getattr(route, "dependant", None)
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method in _METHODS:
                yield method, path, dependant


def unchecked(app: FastAPI) -> list[str]:
    found = []
    for method, path, dependant in walk(app):
        if (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        if dependant is None or not route_roles(dependant):
            found.append(f"{method} {path}")
    return found


@pytest.fixture(scope="module")
def core_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app `adtrack serve` runs in the core process, built but not started."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("routes"))
    return create_core_app(settings, supervise_edge=False)


def checked_routes(app: FastAPI) -> list[tuple[str, str, frozenset[str]]]:
    return sorted(
        (method, path, route_roles(dependant))
        for method, path, dependant in walk(app)
        if (method, path) not in PUBLIC and not path.startswith(PUBLIC_PREFIXES)
    )


def test_every_route_checks_a_role(core_app):
    assert not unchecked(core_app), "routes without require_roles / require_page_roles"


def test_the_walk_sees_the_routes(core_app):
    seen = {(m, p) for m, p, _ in walk(core_app)}
    for known in [
        ("GET", "/api/v1/events"),
        ("POST", "/api/v1/users"),
        ("PATCH", "/api/v1/users/{user_id}"),
        ("DELETE", "/api/v1/api-keys/{key_id}"),
        ("GET", "/admin"),
        ("POST", "/logout"),
        ("GET", "/internal/health"),
        *PUBLIC,
    ]:
        assert known in seen, known


def test_the_walk_catches_a_route_without_a_check():
    app = FastAPI(docs_url=None, redoc_url=None)
    router = APIRouter(prefix="/api/v1")

    @router.get("/open")
    def open_route() -> dict:
        return {}

    @router.get("/checked")
    def checked_route(_: Any = Depends(require_roles("finance"))) -> dict:
        return {}

    def nested(_: Any = Depends(require_page_roles("admin"))) -> None:
        return None

    @router.get("/nested")
    def nested_route(_: None = Depends(nested)) -> dict:
        return {}

    guarded = APIRouter(dependencies=[Depends(require_roles("admin"))])

    @guarded.get("/api/v1/guarded")
    def guarded_route() -> dict:
        return {}

    app.include_router(router)
    app.include_router(guarded)
    assert unchecked(app) == ["GET /api/v1/open"]


def test_account_routes_are_admin_only_where_they_should_be(core_app):
    roles = {(m, p): r for m, p, r in checked_routes(core_app)}
    for route in [
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/users/{user_id}"),
        ("PATCH", "/api/v1/users/{user_id}"),
        ("GET", "/admin/users"),
        ("POST", "/admin/users"),
    ]:
        assert roles[route] == {"admin"}, route
    assert roles[("GET", "/api/v1/me")] == {"admin", "media_buyer", "finance", "partner"}


def test_require_roles_refuses_unknown_roles():
    with pytest.raises(ValueError, match="roles must be some of"):
        require_roles("root")
    with pytest.raises(ValueError, match="roles must be some of"):
        require_roles()


# -- anonymous calls on a real server ----------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    # Every route, every bad credential, from one address: far past the throttles, which
    # tests/api/test_guard.py holds to account; here each answer must be the route's own.
    env = {
        "ADTRACK_GEOIP_DB": str(geo_db[0]),
        "ADTRACK_API_AUTH_MAX_FAILURES": "100000",
        "ADTRACK_API_RATE_PER_S": "100000",
    }
    proc = ServerProcess(tmp_path_factory.mktemp("scopes"), env)
    yield proc.start()
    proc.stop()


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


CREDENTIALS = {
    "none": {},
    "wrong bearer": {"Authorization": "Bearer not-the-token"},
    "api-key-shaped bearer": {"Authorization": "Bearer adt_" + "x" * 43},
    "bearer, no token": {"Authorization": "Bearer"},
    "token scheme, right token": {"Authorization": "Token test-admin-token"},
    "basic scheme": {"Authorization": "Basic YWRtaW46dGVzdC1hZG1pbi10b2tlbg=="},
    "made-up session": {"Cookie": "adtrack_session=made-up"},
}


@pytest.mark.parametrize("credentials", list(CREDENTIALS), ids=list(CREDENTIALS))
def test_every_checked_route_refuses_anonymous_callers(server, core_app, credentials):
    failures = []
    with server.client(headers=CREDENTIALS[credentials]) as http:
        for method, path, _ in checked_routes(core_app):
            url = _sample(path)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            response = http.request(method, url, json=body)
            if path.startswith("/api/"):
                if response.status_code != 401:
                    failures.append(f"{method} {path}: {response.status_code}")
                elif response.headers.get("www-authenticate") != "Bearer":
                    failures.append(f"{method} {path}: no WWW-Authenticate: Bearer")
            elif method == "GET":  # a page: off to the login page, and back after
                location = response.headers.get("location", "")
                if response.status_code != 303 or not location.startswith("/login?"):
                    failures.append(f"{method} {path}: {response.status_code} {location}")
                elif parse_qs(urlsplit(location).query)["next"] != [url]:
                    failures.append(f"{method} {path}: next is not the page: {location}")
            elif response.status_code != 401:
                failures.append(f"{method} {path}: {response.status_code}")
    assert not failures


def test_public_routes_answer_anonymous_callers(server):
    with server.client() as http:
        assert http.get("/login").status_code == 200
        assert http.get("/openapi.json").status_code == 200
        assert http.get("/docs").status_code == 200
