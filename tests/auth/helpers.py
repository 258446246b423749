"""Accounts through the real server: users made with the admin token, browser-like logins."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx

from tests.support.server import ServerProcess

PASSWORD = "correct horse battery"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def make_user(
    server: ServerProcess,
    username: str,
    role: str,
    *,
    password: str = PASSWORD,
    partner_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"username": username, "role": role, "password": password}
    if partner_id:
        body["partner_id"] = partner_id
    with server.admin() as http:
        if partner_id and http.get(f"/api/v1/partners/{partner_id.lower()}").status_code == 404:
            made = http.post("/api/v1/partners", json={"id": partner_id, "name": partner_id})
            assert made.status_code == 201, made.text  # a partner user needs its partner
        response = http.post("/api/v1/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def form_token(html: str) -> str:
    match = _CSRF_FIELD.search(html)
    assert match, "no csrf_token field in the form"
    return match.group(1)


def login(
    http: httpx.Client, username: str, password: str = PASSWORD, next_path: str = ""
) -> httpx.Response:
    """GET the form (its CSRF cookie and field), then POST it, as a browser does."""
    page = http.get("/login", params={"next": next_path} if next_path else None)
    assert page.status_code == 200, (page.status_code, page.headers, page.text)
    data = {"username": username, "password": password, "csrf_token": form_token(page.text)}
    if next_path:
        data["next"] = next_path
    return http.post("/login", data=data)


@contextlib.contextmanager
def logged_in(
    server: ServerProcess, username: str, password: str = PASSWORD
) -> Iterator[httpx.Client]:
    with server.client() as http:
        response = login(http, username, password)
        assert response.status_code == 303, response.text
        yield http


def csrf_header(http: httpx.Client) -> dict[str, str]:
    """The session's CSRF token, as a script on one of our pages sends it: read from the
    page's meta tag (the JSON API never answers it)."""
    match = _CSRF_META.search(http.get("/admin").text)
    assert match, "no csrf-token meta tag on the home page"
    return {"X-CSRF-Token": match.group(1)}


def api_key(server: ServerProcess, user_id: str, name: str = "script") -> str:
    with server.admin() as http:
        response = http.post("/api/v1/api-keys", json={"name": name, "user_id": user_id})
    assert response.status_code == 201, response.text
    return response.json()["key"]


def bearer(server: ServerProcess, secret: str) -> httpx.Client:
    return server.client(headers={"Authorization": f"Bearer {secret}"})
