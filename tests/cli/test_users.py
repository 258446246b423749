"""`adtrack users|api-keys` as a subprocess: the first admin on a fresh install, through a
running server's API and straight into the store.

What needs a process runs as one (the first admin, a key as the CLI's token, every command
straight on the store); the other calls through the server and input refused before the store
go through `app.cli.main` in this process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.auth.helpers import PASSWORD, bearer, login
from tests.support.cli import DIRECT, adtrack, adtrack_here, copy_of, offline, ok_json
from tests.support.cli import offline_env as offline_env  # a fixture
from tests.support.cli import offline_store_env as offline_store_env  # a fixture


def test_with_a_server_the_first_admin_is_made_with_the_bootstrap_token(server):
    env = server.env  # ADTRACK_ADMIN_TOKEN is set, as on a fresh install
    created = adtrack(
        env, "users", "create", "Root", "--role", "admin", "--password-stdin", "--json",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert DIRECT not in created.stderr
    root = json.loads(created.stdout)
    assert (root["username"], root["role"]) == ("root", "admin")
    assert "password" not in created.stdout
    with server.client() as http:  # the password typed works on the login page
        assert login(http, "root", PASSWORD).status_code == 303

    key = ok_json(env, "api-keys", "create", "--user", "root", "--name", "cli")
    assert key["key"].startswith("adt_") and key["user_id"] == root["id"]
    # The admin's own key works as the CLI's token.
    as_root = {**env, "ADTRACK_ADMIN_TOKEN": ""}
    listed = ok_json(as_root, "users", "list", "--token", key["key"])
    assert [u["username"] for u in listed] == ["root"]
    mine = ok_json(
        as_root, "api-keys", "create", "--name", "own", "--token", key["key"], run=adtrack_here
    )
    assert mine["user_id"] == root["id"]  # no --user: the token's own user

    # A finance user's key may not create users: the server's 403 comes through.
    finance = ok_json(
        env, "users", "create", "fin", "--role", "finance", "--password-stdin",
        stdin=PASSWORD + "\n", run=adtrack_here,
    )  # fmt: skip
    fin_key = ok_json(
        env, "api-keys", "create", "--user", finance["id"], "--name", "f", run=adtrack_here
    )["key"]
    refused = adtrack_here(
        as_root, "users", "create", "x", "--role", "admin", "--password-stdin",
        "--token", fin_key, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "403" in refused.stderr

    # Keys, passwords, disabling, through the API.
    [listed_key] = ok_json(env, "api-keys", "list", "--user", "fin", run=adtrack_here)
    assert "key" not in listed_key and listed_key["id"]
    revoked = ok_json(env, "api-keys", "revoke", listed_key["id"], run=adtrack_here)
    assert revoked["revoked"] is True
    with bearer(server, fin_key) as http:
        assert http.get("/api/v1/me").status_code == 401
    changed = adtrack_here(
        env, "users", "set-password", "fin", "--password-stdin", stdin="fresh spring rain 7\n"
    )
    assert changed.returncode == 0, changed.stderr
    with server.client() as http:
        assert login(http, "fin", "fresh spring rain 7").status_code == 303
    assert ok_json(env, "users", "disable", "fin", run=adtrack_here)["status"] == "disabled"
    with server.client() as http:
        assert login(http, "fin", "fresh spring rain 7").status_code == 401


def test_without_a_server_commands_open_the_store(offline_store_env):
    env = offline_store_env  # a migrated, empty store
    partner = adtrack(env, "partners", "add", "--id", "nmg-portal", "--name", "NMG", "--json")
    assert partner.returncode == 0, partner.stderr
    orphan = adtrack(
        env, "users", "create", "bob", "--role", "partner", "--partner", "nosuchpartner",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert orphan.returncode == 2 and "no partner has this id" in orphan.stderr, orphan.stderr
    created = adtrack(
        env, "users", "create", "alice", "--role", "partner", "--partner", "nmg-portal",
        "--name", "Alice", "--password-stdin", "--json", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert DIRECT in created.stderr
    alice = json.loads(created.stdout)
    assert (alice["role"], alice["partner_id"], alice["display_name"]) == (
        "partner",
        "nmg-portal",
        "Alice",
    )
    table = adtrack(env, "users", "list")
    assert table.returncode == 0
    header, row = table.stdout.splitlines()
    assert header.split()[:4] == ["id", "username", "display_name", "role"]
    assert "alice" in row and "nmg-portal" in row

    key = ok_json(env, "api-keys", "create", "--user", "alice", "--name", "export")
    assert key["key"].startswith("adt_")
    [listed] = ok_json(env, "api-keys", "list")
    assert listed["id"] == key["id"] and "key" not in listed
    assert ok_json(env, "api-keys", "revoke", key["id"])["revoked"] is True
    assert ok_json(env, "users", "disable", alice["id"])["status"] == "disabled"
    assert ok_json(env, "users", "enable", "alice")["status"] == "active"
    key = ok_json(env, "api-keys", "create", "--user", "alice", "--name", "after")
    reset = adtrack(
        env, "users", "set-password", "alice", "--password-stdin", stdin="lantern by the sea\n"
    )
    assert reset.returncode == 0, reset.stderr
    [_, after] = ok_json(env, "api-keys", "list", "--user", "alice")
    assert (after["id"], after["revoked"]) == (key["id"], True)  # a reset revokes the keys
    # Refused by the password rules before the store is opened (so in this process).
    weak = adtrack_here(
        env, "users", "set-password", "alice", "--password-stdin", stdin="alice1234567"
    )
    assert weak.returncode == 2, weak.stderr
    assert "password must not contain the username" in weak.stderr
    assert "alice1234567" not in weak.stderr + weak.stdout


@pytest.mark.parametrize(
    ("args", "password", "words", "where"),
    [
        (["alice", "--role", "admin"], "short", ["password", "at least 10 characters"], "input"),
        (["alice", "--role", "admin"], " " * 12, ["password", "only spaces"], "input"),
        (["alice", "--role", "admin"], "Password123", ["password", "too common"], "input"),
        (["alice", "--role", "partner"], PASSWORD, ["partner_id", "needs the partner"], "store"),
        (
            ["al", "--role", "admin", "--partner", "p"],
            PASSWORD,
            ["partner_id", "only users"],
            "store",
        ),
        (["bad name", "--role", "admin"], PASSWORD, ["username"], "input"),
    ],  # fmt: skip
    ids=[
        "short password",
        "blank password",
        "common password",
        "partner without partner",
        "partner for admin",
        "bad username",
    ],
)
def test_bad_input_exits_2_naming_the_field(
    tmp_path, migrated_template, args, password, words, where
):
    command = ["users", "create", *args, "--password-stdin"]
    if where == "input":  # refused by the input model or the password rules, in this process
        env = offline(tmp_path / "offline")
        result = adtrack_here(env, *command, stdin=password)
        assert not Path(env["ADTRACK_DATA_DIR"]).exists()  # before the store was opened
    else:  # refused by the create on the store (as the API's is): a process of its own
        env = offline(copy_of(migrated_template, tmp_path / "offline"))
        result = adtrack(env, *command, stdin=password)
    assert result.returncode == 2, (result.returncode, result.stderr)
    for word in words:
        assert word in result.stderr
    if password.strip() and password != PASSWORD:
        assert password not in result.stderr + result.stdout


def test_unknown_users_and_keys_exit_1(offline_store_env):
    for args in (["users", "disable", "nobody"], ["api-keys", "revoke", "key_nosuchkey"]):
        result = adtrack(offline_store_env, *args)
        assert result.returncode == 1
        assert "no " in result.stderr


def test_the_password_is_never_taken_from_the_command_line(offline_env):
    result = adtrack_here(offline_env, "users", "create", "bob", "--role", "admin", stdin="")
    assert result.returncode == 1
    assert "--password-stdin" in result.stderr
    assert not Path(offline_env["ADTRACK_DATA_DIR"]).exists()  # refused before the store
