"""The accounts API on a real server: users, roles, API keys, partner scope, secrets kept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.store.client import open_store
from tests.auth.helpers import (
    PASSWORD,
    api_key,
    bearer,
    csrf_header,
    logged_in,
    login,
    make_user,
)
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    proc = ServerProcess(tmp_path_factory.mktemp("users-api"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.admin() as http:
        yield http


@pytest.fixture(scope="module")
def staff(server: ServerProcess) -> dict[str, str]:
    """role -> an API key of a user with that role (the partner is bound to nmg-portal)."""
    keys = {}
    for role in ("admin", "media_buyer", "finance", "partner"):
        partner = "nmg-portal" if role == "partner" else None
        user = make_user(server, f"staff-{role}", role, partner_id=partner)
        keys[role] = api_key(server, user["id"])
    return keys


# -- users ------------------------------------------------------------------------------------


def test_create_list_get_and_update_a_user(admin):
    admin.post("/api/v1/partners", json={"id": "nmg-portal", "name": "NMG"})  # may exist
    body = {
        "username": "  Wang.Fang@Example.cn ",
        "role": "partner",
        "partner_id": "NMG-Portal",
        "display_name": " 王芳 ",
        "password": PASSWORD,
    }
    created = admin.post("/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["id"].startswith("usr_")
    assert (user["username"], user["partner_id"], user["display_name"]) == (
        "wang.fang@example.cn",
        "nmg-portal",
        "王芳",
    )
    assert (user["role"], user["status"]) == ("partner", "active")
    listed = {u["id"]: u for u in admin.get("/api/v1/users").json()}
    assert listed[user["id"]]["username"] == "wang.fang@example.cn"
    assert admin.get(f"/api/v1/users/{user['id']}").json() == listed[user["id"]]
    # Leaving role partner drops the partner; the display name changes on its own.
    patched = admin.patch(
        f"/api/v1/users/{user['id']}", json={"role": "finance", "display_name": "Wang Fang"}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["role"], patched.json()["partner_id"]) == ("finance", None)
    assert admin.get(f"/api/v1/users/{user['id']}").json()["display_name"] == "Wang Fang"


def test_unknown_users_are_404(admin):
    for response in (
        admin.get("/api/v1/users/usr_nosuchuser"),
        admin.patch("/api/v1/users/usr_nosuchuser", json={"display_name": "x"}),
    ):
        assert response.status_code == 404
        assert response.json()["detail"] == {"error": "not_found", "field": "user_id"}


GOOD = {"username": "valid-user", "role": "finance", "password": PASSWORD}
INVALID = [
    ({**GOOD, "password": "short"}, "password", "password must be at least 10 characters"),
    ({**GOOD, "password": "x" * 1025}, "password", "password must be at most 1024 characters"),
    ({**GOOD, "password": " " * 10}, "password", "password must not be only spaces"),
    ({**GOOD, "password": "\x00" * 10}, "password", "must not contain control characters"),
    ({**GOOD, "password": "Password123!"}, "password", "password is too common"),
    ({**GOOD, "password": "i am Valid-User here"}, "password", "must not contain the username"),
    ({**GOOD, "role": "root"}, "role", "Input should be"),
    ({**GOOD, "username": "bad name"}, "username", "String should match pattern"),
    ({**GOOD, "username": ""}, "username", "String should have at least 1 character"),
    ({**GOOD, "role": "partner"}, "partner_id", "a partner user needs the partner"),
    ({**GOOD, "partner_id": "nmg-portal"}, "partner_id", "only users with role partner"),
    ({**GOOD, "partner_id": "a/b", "role": "partner"}, "partner_id", "String should match"),
    ({**GOOD, "password_hash": "$argon2id$x"}, "password_hash", "Extra inputs"),
    ({k: v for k, v in GOOD.items() if k != "password"}, "password", "Field required"),
]


@pytest.mark.parametrize(("body", "field", "message"), INVALID, ids=[f for _, f, _ in INVALID])
def test_invalid_users_are_422_naming_the_field(admin, body, field, message):
    response = admin.post("/api/v1/users", json=body)
    assert response.status_code == 422, response.text
    errors = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert message in errors[("body", field)]
    assert "valid-user" not in [u["username"] for u in admin.get("/api/v1/users").json()]


def test_a_refused_password_is_never_echoed(server, admin):
    user = make_user(server, "echo-target", "finance")
    fresh = {**GOOD, "username": "echo-target-2"}
    for password in ("Password123!", "i am echo-target-2", "short pw", "\x00" * 12, " " * 12):
        created = admin.post("/api/v1/users", json={**fresh, "password": password})
        patched = admin.patch(f"/api/v1/users/{user['id']}", json={"password": password})
        for response in (created, patched):
            assert response.status_code == 422, response.text
            [error] = response.json()["detail"]
            assert error["loc"] == ["body", "password"] and error["msg"], error
            assert "input" not in error
            if password.strip("\x00 "):
                assert password not in response.text


def test_usernames_are_unique(admin):
    assert admin.post("/api/v1/users", json={**GOOD, "username": "dup"}).status_code == 201
    again = admin.post("/api/v1/users", json={**GOOD, "username": " DUP "})
    assert again.status_code == 422
    assert again.json()["detail"][0]["loc"] == ["body", "username"]
    assert again.json()["detail"][0]["msg"] == "a user with this username exists"


def test_invalid_updates_are_422(server, admin):
    user = make_user(server, "upd", "finance")
    path = f"/api/v1/users/{user['id']}"
    for body, field in [
        ({"role": "partner"}, "partner_id"),
        ({"partner_id": "nmg-portal"}, "partner_id"),
        ({"password": "short"}, "password"),
        ({"status": "gone"}, "status"),
        ({"username": "renamed"}, "username"),
    ]:
        response = admin.patch(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert ["body", field] in [e["loc"] for e in response.json()["detail"]], body


def test_an_admin_cannot_lock_themselves_out(server):
    me = make_user(server, "self-admin", "admin")
    with logged_in(server, "self-admin") as http:
        headers = csrf_header(http)
        for body, field in [({"role": "finance"}, "role"), ({"status": "disabled"}, "status")]:
            response = http.patch(f"/api/v1/users/{me['id']}", json=body, headers=headers)
            assert response.status_code == 422
            assert response.json()["detail"][0]["loc"] == ["body", field]


def test_me(server, staff):
    with server.admin() as http:
        assert http.get("/api/v1/me").json() == {
            "user_id": "admin-token",
            "username": "admin-token",
            "display_name": "admin-token",
            "role": "admin",
            "partner_id": None,
            "via": "token",
        }
    with bearer(server, staff["partner"]) as http:
        me = http.get("/api/v1/me").json()
        assert (me["username"], me["role"], me["partner_id"], me["via"]) == (
            "staff-partner",
            "partner",
            "nmg-portal",
            "api_key",
        )


# -- roles ------------------------------------------------------------------------------------

# (method, path, body) -> the roles allowed; the rest get 403 {"error": "forbidden"}.
MATRIX = [
    ("POST", "/api/v1/users", {**GOOD, "username": "made-by-{role}"}, {"admin"}),
    ("GET", "/api/v1/users", None, {"admin"}),
    ("GET", "/api/v1/me", None, {"admin", "media_buyer", "finance", "partner"}),
    ("GET", "/api/v1/api-keys", None, {"admin", "media_buyer", "finance", "partner"}),
    ("GET", "/api/v1/events", None, {"admin", "media_buyer", "finance", "partner"}),
    ("GET", "/api/v1/rejects", None, {"admin", "media_buyer", "finance", "partner"}),
    ("GET", "/api/v1/ingest/status", None, {"admin", "media_buyer", "finance"}),
]


@pytest.mark.parametrize("role", ["admin", "media_buyer", "finance", "partner"])
def test_role_matrix(server, staff, role):
    failures = []
    with bearer(server, staff[role]) as http:
        for method, path, body, allowed in MATRIX:
            payload = {k: v.format(role=role) for k, v in body.items()} if body else None
            response = http.request(method, path, json=payload)
            if role in allowed and response.status_code not in (200, 201):
                failures.append(f"{method} {path}: {response.status_code} {response.text}")
            if role not in allowed:
                if response.status_code != 403:
                    failures.append(f"{method} {path}: {response.status_code}, not 403")
                elif response.json()["detail"]["error"] != "forbidden":
                    failures.append(f"{method} {path}: {response.text}")
    assert not failures


def test_finance_cannot_create_or_change_users(server, staff):
    target = make_user(server, "target", "media_buyer")
    with bearer(server, staff["finance"]) as http:
        assert http.post("/api/v1/users", json={**GOOD, "username": "nope"}).status_code == 403
        promote = http.patch(f"/api/v1/users/{target['id']}", json={"role": "admin"})
        assert promote.status_code == 403
    with server.admin() as http:
        assert http.get(f"/api/v1/users/{target['id']}").json()["role"] == "media_buyer"


# -- API keys -----------------------------------------------------------------------------------


def test_a_user_manages_their_own_keys(server):
    user = make_user(server, "keyed", "media_buyer")
    with logged_in(server, "keyed") as http:
        headers = csrf_header(http)
        created = http.post("/api/v1/api-keys", json={"name": "nightly"}, headers=headers)
        assert created.status_code == 201, created.text
        key = created.json()
        assert key["user_id"] == user["id"] and key["key"].startswith("adt_")
        assert key["prefix"] == key["key"][:12] and key["last4"] == key["key"][-4:]
        listed = http.get("/api/v1/api-keys").json()
        assert [k["id"] for k in listed] == [key["id"]]
        assert "key" not in listed[0] and "key_hash" not in listed[0]
        with bearer(server, key["key"]) as script:
            assert script.get("/api/v1/me").json()["username"] == "keyed"
            revoked = http.delete(f"/api/v1/api-keys/{key['id']}", headers=headers)
            assert revoked.status_code == 200 and revoked.json()["revoked"] is True
            refused = script.get("/api/v1/me")
            assert refused.status_code == 401
            assert refused.json()["detail"]["error"] == "unauthorized"
        assert http.get("/api/v1/api-keys").json()[0]["revoked"] is True


def test_keys_of_others_are_out_of_reach(server, staff):
    other = make_user(server, "other-keys", "finance")
    other_key = api_key(server, other["id"])
    with server.admin() as admin:
        [listed] = admin.get("/api/v1/api-keys", params={"user_id": other["id"]}).json()
        every = admin.get("/api/v1/api-keys").json()
    assert listed["id"] in [k["id"] for k in every]
    with bearer(server, staff["media_buyer"]) as http:
        assert http.get("/api/v1/api-keys", params={"user_id": other["id"]}).status_code == 403
        assert listed["id"] not in [k["id"] for k in http.get("/api/v1/api-keys").json()]
        assert http.delete(f"/api/v1/api-keys/{listed['id']}").status_code == 404
        body = {"name": "theirs", "user_id": other["id"]}
        assert http.post("/api/v1/api-keys", json=body).status_code == 403
    with bearer(server, other_key) as http:
        assert http.get("/api/v1/me").status_code == 200  # untouched


def test_api_key_input_is_checked(server, admin):
    disabled = make_user(server, "gone-user", "finance")
    admin.patch(f"/api/v1/users/{disabled['id']}", json={"status": "disabled"})
    for body, field in [
        ({"name": "x"}, "user_id"),  # the admin token is no user
        ({"name": "x", "user_id": "usr_nosuchuser"}, "user_id"),
        ({"name": "x", "user_id": disabled["id"]}, "user_id"),
        ({"name": "", "user_id": disabled["id"]}, "name"),
    ]:
        response = admin.post("/api/v1/api-keys", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]
    assert admin.delete("/api/v1/api-keys/key_nosuchkey").status_code == 404


def test_me_never_answers_the_csrf_token(server):
    """A script that can make the browser fetch /me (a creative, another page of ours) must
    not learn what it needs to forge writes: only our pages carry the token."""
    make_user(server, "me-token", "media_buyer")
    with logged_in(server, "me-token") as http:
        me = http.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["via"] == "session"
        token = csrf_header(http)["X-CSRF-Token"]
        assert "csrf_token" not in me.json() and token not in me.text


def test_disabling_revokes_keys_for_good(server, admin):
    user = make_user(server, "on-off", "finance")
    secret = api_key(server, user["id"])
    with bearer(server, secret) as http:
        admin.patch(f"/api/v1/users/{user['id']}", json={"status": "disabled"})
        assert http.get("/api/v1/me").status_code == 401
        admin.patch(f"/api/v1/users/{user['id']}", json={"status": "active"})
        assert http.get("/api/v1/me").status_code == 401  # enabling gives no key back
    [key] = admin.get("/api/v1/api-keys", params={"user_id": user["id"]}).json()
    assert key["revoked"] is True


CUTS = [
    ({"password": "a brand new secret"}, "password reset"),
    ({"role": "admin"}, "promotion"),
    ({"role": "finance"}, "demotion"),
    ({"role": "partner", "partner_id": "nmg-portal"}, "partner binding"),
]


@pytest.mark.parametrize(("change", "why"), CUTS, ids=[why for _, why in CUTS])
def test_a_password_reset_or_role_change_ends_sessions_and_keys_at_once(server, change, why):
    """What was granted under the old password or role must not outlive it: a key or a
    session taken by someone else (a hostile creative, a leaked script) is cut off, at once."""
    username = "cut-" + why.replace(" ", "-")
    user = make_user(server, username, "media_buyer")
    secret = api_key(server, user["id"])
    with logged_in(server, username) as http, bearer(server, secret) as script:
        assert (http.get("/api/v1/me").status_code, script.get("/api/v1/me").status_code) == (
            200,
            200,
        )
        with server.admin() as admin:
            admin.post("/api/v1/partners", json={"id": "nmg-portal", "name": "NMG"})
            patched = admin.patch(f"/api/v1/users/{user['id']}", json=change)
            assert patched.status_code == 200, patched.text
            keys = admin.get("/api/v1/api-keys", params={"user_id": user["id"]}).json()
        assert http.get("/api/v1/me").status_code == 401
        assert script.get("/api/v1/me").status_code == 401
    assert [k["revoked"] for k in keys] == [True]
    with server.client() as again:  # the user logs in again, under the new grant
        password = change.get("password", PASSWORD)
        assert login(again, username, password).status_code == 303
        assert again.get("/api/v1/me").json()["role"] == change.get("role", "media_buyer")


def test_a_rename_ends_nothing(server, admin):
    user = make_user(server, "renamed", "finance")
    secret = api_key(server, user["id"])
    with logged_in(server, "renamed") as http, bearer(server, secret) as script:
        patched = admin.patch(f"/api/v1/users/{user['id']}", json={"display_name": "Renamed"})
        assert patched.status_code == 200
        assert http.get("/api/v1/me").json()["display_name"] == "Renamed"
        assert script.get("/api/v1/me").status_code == 200


# -- partner scope ----------------------------------------------------------------------------


def _site(admin: httpx.Client, partner: str) -> str:
    admin.post("/api/v1/partners", json={"id": partner, "name": partner})  # where they exist
    response = admin.post(
        "/api/v1/sites",
        json={
            "name": f"{partner} site",
            "partner": partner,
            "domain": f"{partner}.example.cn",
            "channel": "local_portal",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["site_key"]


def test_a_partner_sees_only_its_own_sites_events_and_rejects(server, admin):
    mine, theirs = _site(admin, "scope-mine"), _site(admin, "scope-theirs")
    user = make_user(server, "scoped", "partner", partner_id="scope-mine")
    with server.client() as hits:
        for site in (mine, theirs):
            assert hits.get("/p.gif", params={"s": site, "e": "impression"}).status_code == 200
            hits.get("/p.gif", params={"s": site, "e": "no-such-type"})  # a reject
    server.wait_events(1, site_key=mine)
    server.wait_events(1, site_key=theirs)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # rejects are loaded asynchronously too
        sites = {r["site_key"] for r in server.rejects()["rejects"]}
        if {mine, theirs} <= sites:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the rejects of both sites never loaded: {sites}")
    with bearer(server, api_key(server, user["id"])) as http:
        events = http.get("/api/v1/events", params={"limit": 1000}).json()["events"]
        assert events and {e["site_key"] for e in events} == {mine}
        sneaky = http.get("/api/v1/events", params={"site_key": theirs}).json()["events"]
        assert sneaky == []
        rejects = http.get("/api/v1/rejects", params={"limit": 1000}).json()
        assert {r["site_key"] for r in rejects["rejects"]} == {mine}
        assert sum(rejects["by_reason"].values()) == len(rejects["rejects"])
    # In-house roles see both.
    both = {e["site_key"] for e in server.events()}
    assert {mine, theirs} <= both


def test_a_partner_without_sites_sees_nothing(server, staff):
    lonely = make_user(server, "lonely", "partner", partner_id="no-sites-yet")
    with bearer(server, api_key(server, lonely["id"])) as http:
        assert http.get("/api/v1/events").json() == {"events": []}
        assert http.get("/api/v1/rejects").json() == {"rejects": [], "by_reason": {}}


# -- secrets stay secret ------------------------------------------------------------------------


def test_hashes_and_passwords_never_leave_the_store(make_server):
    server = make_server()
    secret_password = "a very particular password"
    user = make_user(server, "secretive", "finance", password=secret_password)
    key = api_key(server, user["id"])
    bodies = []
    with server.admin() as admin:
        bodies.append(admin.get("/api/v1/users").text)
        bodies.append(admin.get(f"/api/v1/users/{user['id']}").text)
        reset = admin.patch(f"/api/v1/users/{user['id']}", json={"password": secret_password + "!"})
        bodies.append(reset.text)
        bodies.append(admin.get("/api/v1/api-keys").text)
    for body in bodies:
        assert "password" not in body and "$argon2" not in body and key not in body
    server.stop()
    store = open_store(f"chdb://{server.data_dir / 'clickhouse'}")
    try:
        [(stored_hash,)] = store.query(
            "SELECT password_hash FROM users FINAL WHERE id = {id:String}", {"id": user["id"]}
        )
        assert stored_hash.startswith("$argon2id$")
        audit_rows = str(store.query("SELECT * FROM audit_log"))
        assert "secretive" in audit_rows  # the changes are there ...
        for secret in (secret_password, "$argon2", key):  # ... the secrets are not
            assert secret not in audit_rows
        everything = str(store.query("SELECT * FROM users")) + str(
            store.query("SELECT * FROM api_keys")
        )
        assert secret_password not in everything and key not in everything
        actions = store.query(
            "SELECT action FROM audit_log WHERE entity_key = {id:String} ORDER BY ts",
            {"id": user["id"]},
        )
        assert [a for (a,) in actions] == ["create", "reset_password"]
    finally:
        store.close()
