"""Users, API keys and sessions in the store (embedded engine), and the in-memory pieces."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from app.auth import api_keys, sessions, users
from app.auth.cache import AuthCache
from app.auth.principal import from_bearer, from_session
from app.auth.records import now
from app.auth.throttle import LoginThrottle
from app.store import audit
from app.store.client import Store, open_store
from app.store.migrate import migrate
from app.web.pages import safe_next

ADMIN = {"actor": "root", "actor_role": "admin"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = open_store(f"chdb://{tmp_path_factory.mktemp('auth') / 'ch'}")
    migrate(opened)
    yield opened
    opened.close()


def _user(store: Store, username: str, role: str = "media_buyer", **extra: str) -> users.User:
    new = users.new_user(username, role, "correct horse battery", **extra)
    return users.create(store, new, **ADMIN)


def test_users_create_get_list_update(store):
    alice = _user(store, "alice", display_name="Alice Wang")
    assert alice.id.startswith("usr_") and alice.password_hash.startswith("$argon2id$")
    assert users.get(store, alice.id) == alice
    assert users.get_by_username(store, "alice") == alice
    assert "alice" in [u.username for u in users.load_all(store)]
    changed = users.update(store, alice, replace(alice, role="finance"), **ADMIN)
    assert users.get(store, alice.id).role == "finance"
    assert changed.updated_at >= alice.updated_at
    with pytest.raises(users.UsernameTaken):
        _user(store, "alice")
    with pytest.raises(ValueError, match="partner_id"):
        users.new_user("p", "partner", "correct horse battery")
    partner = _user(store, "pat", "partner", partner_id="nmg-portal")
    assert users.get(store, partner.id).partner_id == "nmg-portal"
    assert users.get(store, alice.id).partner_id is None


def test_user_changes_are_audited_without_the_hash(store):
    bob = _user(store, "bob")
    reset = users.update(store, bob, users.with_password(bob, "another password!"), **ADMIN)
    users.update(store, reset, replace(reset, status="disabled"), **ADMIN)
    history = audit.history(store, entity="user", entity_key=bob.id)
    assert [e.action for e in history] == ["disable", "reset_password", "create"]
    assert history[1].after["password_reset"] is True
    for entry in history:
        for values in (entry.before, entry.after):
            assert values is None or "password_hash" not in values
    dump = str(store.query("SELECT * FROM audit_log"))
    assert "$argon2" not in dump and "another password!" not in dump


def test_api_keys(store):
    carol = _user(store, "carol")
    secret, key = api_keys.create(store, carol.id, "nightly export", **ADMIN)
    assert secret.startswith("adt_") and len(secret) >= 40
    assert key.prefix == secret[:12] and key.last4 == secret[-4:]
    assert secret not in key.key_hash and len(key.key_hash) == 64
    assert api_keys.find(store, secret) == key
    assert api_keys.find(store, secret + "x") is None
    assert [k.id for k in api_keys.list_keys(store, carol.id)] == [key.id]
    revoked = api_keys.revoke(store, key, **ADMIN)
    assert revoked.revoked and api_keys.find(store, secret).revoked
    actions = [e.action for e in audit.history(store, entity="api_key", entity_key=key.id)]
    assert actions == ["revoke", "create"]
    assert secret not in str(store.query("SELECT * FROM audit_log"))


def test_sessions(store):
    dave = _user(store, "dave")
    token, session = sessions.create(store, dave.id, 3600)
    assert token not in session.id_hash
    assert sessions.get(store, sessions.token_hash(token)) == session
    assert session.valid() and not session.valid(now() + timedelta(hours=2))
    other_token, _ = sessions.create(store, dave.id, 3600)
    assert sessions.revoke_user(store, dave.id) == 2
    assert not sessions.get(store, sessions.token_hash(token)).valid()
    assert not sessions.get(store, sessions.token_hash(other_token)).valid()
    assert sessions.revoke_user(store, dave.id) == 0


def _access(store: Store, user: users.User) -> tuple[str, str]:
    """A fresh session token and API key secret for `user`."""
    token, _ = sessions.create(store, user.id, 3600)
    secret, _ = api_keys.create(store, user.id, "script", **ADMIN)
    return token, secret


def _live(store: Store, token: str, secret: str) -> tuple[bool, bool]:
    session = sessions.get(store, sessions.token_hash(token))
    return session.valid(), not api_keys.find(store, secret).revoked


def test_a_password_reset_role_change_or_disabling_ends_sessions_and_keys(store):
    erin = _user(store, "erin")
    token, secret = _access(store, erin)
    erin = users.update(store, erin, replace(erin, display_name="Erin"), **ADMIN)
    assert _live(store, token, secret) == (True, True)  # a rename does not
    changes = [
        lambda u: users.with_password(u, "new password 1"),
        lambda u: replace(u, role="admin"),
        lambda u: replace(u, role="partner", partner_id="nmg-portal"),
        lambda u: replace(u, partner_id="campus-bbs"),
        lambda u: replace(u, status="disabled"),
    ]
    for change in changes:
        token, secret = _access(store, erin)
        erin = users.update(store, erin, change(erin), actor="root", actor_role="admin")
        assert _live(store, token, secret) == (False, False), erin
    # Enabling the user again gives nothing back: the keys stay revoked, by the actor.
    users.update(store, erin, replace(erin, status="active"), **ADMIN)
    assert _live(store, token, secret) == (False, False)
    [key] = [k for k in api_keys.list_keys(store, erin.id) if k.prefix == secret[:12]]
    [revoked, _] = audit.history(store, entity="api_key", entity_key=key.id)
    assert (revoked.action, revoked.actor) == ("revoke", "root")


def test_principals_from_credentials(store):
    cache = AuthCache(ttl_s=60)
    frank = _user(store, "frank", "partner", partner_id="campus-bbs")
    secret, key = api_keys.create(store, frank.id, "k", **ADMIN)
    token, _ = sessions.create(store, frank.id, 3600)
    by_key = from_bearer(secret, admin_token="tok", store=store, cache=cache)
    assert by_key is not None
    assert (by_key.user_id, by_key.role, by_key.partner_id, by_key.via) == (
        frank.id,
        "partner",
        "campus-bbs",
        "api_key",
    )
    assert from_bearer("tok", admin_token="tok", store=None, cache=cache).via == "token"
    assert from_bearer("tok", admin_token="", store=store, cache=cache) is None
    assert from_bearer("adt_" + "x" * 43, admin_token="tok", store=store, cache=cache) is None
    principal, _ = from_session(token, store=store, cache=cache)
    assert principal.via == "session"
    # The cache serves until cleared; every local change clears it.
    api_keys.revoke(store, key, **ADMIN)
    users.update(store, frank, replace(frank, status="disabled"), **ADMIN)
    assert from_bearer(secret, admin_token="tok", store=store, cache=cache) is not None
    cache.clear()
    assert from_bearer(secret, admin_token="tok", store=store, cache=cache) is None
    assert from_session(token, store=store, cache=cache) is None


def test_login_throttle():
    throttle = LoginThrottle(max_failures=3, window_s=60)
    for _ in range(3):
        assert throttle.retry_after("alice", "10.0.0.1") == 0
        throttle.failed("alice", "10.0.0.1")
    assert 0 < throttle.retry_after("alice", "10.0.0.1") <= 60
    assert throttle.retry_after("alice", "10.0.0.2") == 0  # another address
    assert throttle.retry_after("bob", "10.0.0.1") == 0  # another username
    throttle.succeeded("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 0
    # One address trying many usernames is stopped too, at ten times the limit.
    for n in range(29):
        throttle.failed(f"user{n}", "10.0.0.9")
    assert throttle.retry_after("someone-else", "10.0.0.9") == 0
    throttle.failed("user-last", "10.0.0.9")
    assert throttle.retry_after("someone-else", "10.0.0.9") > 0
    short = LoginThrottle(max_failures=1, window_s=0.01)
    short.failed("a", "b")
    time.sleep(0.02)
    assert short.retry_after("a", "b") == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/admin/users", "/admin/users"),
        ("/admin/catalog?tab=sites&q=a%20b", "/admin/catalog?tab=sites&q=a%20b"),
        ("", "/admin"),
        (None, "/admin"),
        ("https://evil.example/", "/admin"),
        ("//evil.example/", "/admin"),
        ("///evil.example/", "/admin"),
        ("/\\evil.example/", "/admin"),
        ("\\\\evil.example/", "/admin"),
        ("/\t/evil.example/", "/admin"),
        ("/\n/evil.example", "/admin"),
        (" /admin", "/admin"),
        ("javascript:alert(1)", "/admin"),
        ("admin", "/admin"),
        ("http:/evil.example", "/admin"),
        ("/" + "a" * 3000, "/admin"),
    ],
)
def test_next_is_a_local_path_or_the_home_page(value, expected):
    assert safe_next(value) == expected
