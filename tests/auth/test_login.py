"""Logging in and out of the pages on a real server: cookies, CSRF, throttling, redirects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.auth.helpers import (
    PASSWORD,
    api_key,
    bearer,
    csrf_header,
    form_token,
    logged_in,
    login,
    make_user,
)
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    proc = ServerProcess(
        tmp_path_factory.mktemp("login"),
        {"ADTRACK_GEOIP_DB": str(geo_db[0]), "ADTRACK_LOGIN_MAX_FAILURES": "3"},
    )
    yield proc.start()
    proc.stop()


def _cookie_header(response, name: str) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


# -- logging in -------------------------------------------------------------------------------


def test_login_sets_a_hardened_session_cookie_and_opens_the_home_page(server):
    make_user(server, "amy", "media_buyer")
    with server.client() as http:
        response = login(http, "Amy ", PASSWORD)  # usernames are trimmed and lower-cased
        assert response.status_code == 303
        assert response.headers["location"] == "/admin"
        cookie = _cookie_header(response, "adtrack_session").lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        assert "max-age=28800" in cookie  # ADTRACK_SESSION_LIFETIME_S, 8 hours by default
        assert "secure" not in cookie  # plain http public URL
        home = http.get("/admin")
        assert home.status_code == 200
        assert "amy" in home.text and "Media buyer" in home.text
        assert home.headers["x-frame-options"] == "DENY"
        assert home.headers["cache-control"] == "no-store"
        me = http.get("/api/v1/me").json()
        assert (me["username"], me["role"], me["via"]) == ("amy", "media_buyer", "session")


def test_the_cookie_is_secure_when_the_public_url_is_https(make_server):
    server = make_server(ADTRACK_PUBLIC_URL="https://tracker.example.cn")
    make_user(server, "sam", "finance")
    with server.client() as http:
        page = http.get("/login")
        assert "secure" in _cookie_header(page, "adtrack_login_csrf").lower()
        token = form_token(page.text)
        # httpx keeps Secure cookies off plain http, as a browser would: send it by hand.
        response = http.post(
            "/login",
            data={"username": "sam", "password": PASSWORD, "csrf_token": token},
            headers={"Cookie": f"adtrack_login_csrf={token}"},
        )
        assert response.status_code == 303
        assert "secure" in _cookie_header(response, "adtrack_session").lower()


def test_one_browser_never_gets_another_browsers_session(server):
    """The edge forwards pages to the core: it must keep no cookies of its own, or the
    session set for one browser would be sent along with the next browser's requests."""
    make_user(server, "zoe", "media_buyer")
    with server.client() as first:
        assert login(first, "zoe").status_code == 303
    with server.client() as second:
        assert second.get("/api/v1/me").status_code == 401
        assert second.get("/admin").status_code == 303


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("ben", "wrong password!"),
        ("nobody-here", PASSWORD),
        ("", ""),
        ("ben-long", "Xy4#kq9!wz" * 110),  # longer than any password: no 422 quoting it
    ],
    ids=["wrong password", "unknown user", "empty", "too long"],
)
def test_a_failed_login_is_401_with_the_form_again(server, username, password):
    make_user(server, username, "finance") if username.startswith("ben") else None
    with server.client() as http:
        response = login(http, username, password)
        assert response.status_code == 401
        assert "Wrong username or password" in response.text
        assert not password or password not in response.text
        assert 'name="password"' in response.text
        assert "adtrack_session" not in response.headers.get("set-cookie", "")
        assert http.get("/api/v1/me").status_code == 401


def test_the_login_form_needs_its_csrf_token(server):
    make_user(server, "cat", "finance")
    with server.client() as http:
        http.get("/login")  # the cookie, but the form field is missing or wrong
        for token in ("", "forged"):
            data = {"username": "cat", "password": PASSWORD, "csrf_token": token}
            response = http.post("/login", data=data)
            assert response.status_code == 403
            assert "adtrack_session" not in response.headers.get("set-cookie", "")
    with server.client() as http:  # the field, but no cookie (a cross-site form)
        token = form_token(http.get("/login").text)
        http.cookies.clear()
        data = {"username": "cat", "password": PASSWORD, "csrf_token": token}
        assert http.post("/login", data=data).status_code == 403


def test_failed_logins_are_throttled_per_username_and_address(server):
    make_user(server, "dan", "finance")
    make_user(server, "dot", "finance")
    here = {"X-Forwarded-For": "203.0.113.7"}
    with server.client(headers=here) as http:
        for _ in range(3):
            assert login(http, "dan", "wrong password!").status_code == 401
        refused = login(http, "dan", PASSWORD)  # even the right password, for a while
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many failed logins" in refused.text
        assert login(http, "dot", PASSWORD).status_code == 303  # other usernames: no lock
    with server.client(headers={"X-Forwarded-For": "203.0.113.8"}) as http:
        assert login(http, "dan", PASSWORD).status_code == 303  # another address may


# -- where a login leads ----------------------------------------------------------------------


def test_a_page_without_a_login_redirects_to_the_login_page_and_back(server):
    make_user(server, "eve", "admin")
    with server.client() as http:
        response = http.get("/admin/users?created=x")
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/login?")
        next_path = parse_qs(urlsplit(location).query)["next"][0]
        assert next_path == "/admin/users?created=x"
        page = http.get(location)
        assert f'name="next" value="{next_path}"' in page.text.replace("&amp;", "&")
        response = login(http, "eve", PASSWORD, next_path=next_path)
        assert response.headers["location"] == "/admin/users?created=x"
        assert http.get("/admin/users").status_code == 200


EVIL = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "/\t/evil.example",
    "http:evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("next_path", EVIL)
def test_next_never_leaves_the_site(server, next_path):
    make_user(server, "fay", "finance") if next_path == EVIL[0] else None
    with server.client() as http:
        response = login(http, "fay", PASSWORD, next_path=next_path)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin"
        # Already logged in: the login page sends you on, to the same safe place.
        again = http.get("/login", params={"next": next_path})
        assert again.status_code == 303
        assert again.headers["location"] == "/admin"


# -- CSRF on what a session does --------------------------------------------------------------


def test_a_session_needs_the_csrf_token_for_changes(server):
    make_user(server, "gus", "admin")
    with logged_in(server, "gus") as http:
        body = {"username": "gus-made-1", "role": "finance", "password": PASSWORD}
        refused = http.post("/api/v1/users", json=body)
        assert refused.status_code == 403
        assert refused.json()["detail"]["error"] == "csrf"
        refused = http.post("/api/v1/users", json=body, headers={"X-CSRF-Token": "forged"})
        assert refused.status_code == 403
        assert http.post("/api/v1/users", json=body, headers=csrf_header(http)).status_code == 201
        # HTML forms carry it as a field.
        form = {"username": "gus-made-2", "role": "finance", "password": PASSWORD}
        assert http.post("/admin/users", data=form).status_code == 403
        page = http.get("/admin/users")
        form["csrf_token"] = form_token(page.text)
        created = http.post("/admin/users", data=form)
        assert created.status_code == 303
        assert "gus-made-2" in http.get(created.headers["location"]).text
        # Reads need none.
        assert http.get("/api/v1/users").status_code == 200


def test_bearer_credentials_need_no_csrf_token(server):
    user = make_user(server, "hal", "admin")
    with bearer(server, api_key(server, user["id"])) as http:
        body = {"username": "hal-made", "role": "finance", "password": PASSWORD}
        assert http.post("/api/v1/users", json=body).status_code == 201


def test_the_user_form_shows_field_errors(server):
    make_user(server, "ivy", "admin")
    with logged_in(server, "ivy") as http:
        token = form_token(http.get("/admin/users").text)
        form = {"username": "ivy-p", "role": "partner", "password": "short", "csrf_token": token}
        response = http.post("/admin/users", data=form)
        assert response.status_code == 422
        assert "password must be at least 10 characters" in response.text
        assert 'value="ivy-p"' in response.text  # what was typed stays
        form["password"] = PASSWORD
        response = http.post("/admin/users", data=form)
        assert response.status_code == 422
        assert "a partner user needs the partner it belongs to" in response.text
        # A refused password is named and explained, never shown again; so is a long one.
        for password, reason in [
            ("Qwertyuiop2024!", "password is too common"),
            ("ivy-p forever and ever", "password must not contain the username"),
            ("\x01" * 12, "password must not contain control characters"),
            ("Xy4#kq9!wz" * 110, "password must be at most 1024 characters"),
        ]:
            form = {**form, "role": "finance", "password": password}
            response = http.post("/admin/users", data=form)
            assert response.status_code == 422, password
            assert reason in response.text
            assert not password.strip("\x01") or password not in response.text


def test_pages_check_the_role(server):
    make_user(server, "jay", "finance")
    with logged_in(server, "jay") as http:
        response = http.get("/admin/users")
        assert response.status_code == 403
        assert "Not allowed" in response.text
        token = csrf_header(http)["X-CSRF-Token"]
        form = {"username": "x-jay", "role": "admin", "password": PASSWORD, "csrf_token": token}
        assert http.post("/admin/users", data=form).status_code == 403
        assert 'href="/admin/users"' not in http.get("/admin").text  # not in the nav either


# -- ending sessions --------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(server):
    make_user(server, "kim", "media_buyer")
    with logged_in(server, "kim") as http:
        token = http.cookies["adtrack_session"]
        assert http.post("/logout").status_code == 403  # logout needs the CSRF token too
        assert http.get("/api/v1/me").status_code == 200
        response = http.post("/logout", data={"csrf_token": form_token(http.get("/admin").text)})
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert 'adtrack_session=""' in _cookie_header(response, "adtrack_session")
        assert http.get("/api/v1/me").status_code == 401
    # The token itself is dead, not just forgotten by the browser.
    with server.client(cookies={"adtrack_session": token}) as replay:
        assert replay.get("/api/v1/me").status_code == 401
        assert replay.get("/admin").status_code == 303


def test_a_new_login_replaces_the_previous_session(server):
    make_user(server, "lee", "media_buyer")
    with logged_in(server, "lee") as http:
        first = http.cookies["adtrack_session"]
        # A logged-in browser is sent on from the login page, but an old tab can still post
        # the form: take a form from elsewhere, as that tab would have it.
        with server.client() as other:
            token = form_token(other.get("/login").text)
        http.cookies.set("adtrack_login_csrf", token, domain="127.0.0.1", path="/login")
        data = {"username": "lee", "password": PASSWORD, "csrf_token": token}
        assert http.post("/login", data=data).status_code == 303
        assert http.cookies["adtrack_session"] != first
        assert http.get("/api/v1/me").status_code == 200
    with server.client(cookies={"adtrack_session": first}) as replay:
        assert replay.get("/api/v1/me").status_code == 401


def test_disabling_a_user_ends_sessions_and_keys(server):
    user = make_user(server, "max", "finance")
    secret = api_key(server, user["id"])
    with logged_in(server, "max") as http, bearer(server, secret) as script:
        assert script.get("/api/v1/me").status_code == 200
        with server.admin() as admin:
            patch = admin.patch(f"/api/v1/users/{user['id']}", json={"status": "disabled"})
            assert patch.status_code == 200 and patch.json()["status"] == "disabled"
        assert script.get("/api/v1/me").status_code == 401
        assert http.get("/api/v1/me").status_code == 401
        assert http.get("/admin").status_code == 303
    with server.client() as again:
        assert login(again, "max", PASSWORD).status_code == 401
    with server.admin() as admin:  # enabled again: a fresh login works, the old session not
        admin.patch(f"/api/v1/users/{user['id']}", json={"status": "active"})
    with server.client() as again:
        assert login(again, "max", PASSWORD).status_code == 303


def test_a_password_reset_ends_sessions_and_changes_the_password(server):
    user = make_user(server, "ned", "finance")
    with logged_in(server, "ned") as http, server.admin() as admin:
        reset = admin.patch(f"/api/v1/users/{user['id']}", json={"password": "brand new secret"})
        assert reset.status_code == 200
        assert http.get("/api/v1/me").status_code == 401
    with server.client() as again:
        assert login(again, "ned", PASSWORD).status_code == 401
        assert login(again, "ned", "brand new secret").status_code == 303


def test_a_role_change_ends_live_sessions_and_the_next_login_has_the_new_role(server):
    user = make_user(server, "oli", "finance")
    with logged_in(server, "oli") as http:
        assert http.get("/admin/users").status_code == 403
        with server.admin() as admin:
            admin.patch(f"/api/v1/users/{user['id']}", json={"role": "admin"})
        assert http.get("/admin/users").status_code == 303  # to the login page
    with logged_in(server, "oli") as http:
        assert http.get("/admin/users").status_code == 200
