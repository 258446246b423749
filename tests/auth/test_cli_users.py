"""`adtrack users|api-keys` as a subprocess: the first admin on a fresh install, through a
running server's API and straight into the store."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.auth.helpers import PASSWORD, bearer, login
from tests.support.server import REPO, free_port

DIRECT = "using the store directly"

# Until `app.cli` adds these commands, run them through a parser of their own, built the way
# `app.cli.main` builds its own.
_RUNNER = """
import argparse, sys
from app import cli_users
parser = argparse.ArgumentParser(prog="adtrack")
cli_users.add_parsers(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args()
sys.exit(int(args.func(args) or 0))
"""


@functools.cache
def _entry() -> list[str]:
    from app.cli import build_parser

    try:
        build_parser().parse_args(["users", "list"])
    except SystemExit:
        return [sys.executable, "-c", _RUNNER]
    return [sys.executable, "-m", "app.cli"]


def adtrack(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_entry(), *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok_json(env: dict[str, str], *args: str, stdin: str = "") -> dict | list:
    result = adtrack(env, *args, "--json", stdin=stdin)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """Settings for a data dir no server runs on (nothing listens on the port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADTRACK_")}
    env.update(ADTRACK_DATA_DIR=str(tmp_path / "offline"), ADTRACK_PORT=str(free_port()))
    return env


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
    mine = ok_json(as_root, "api-keys", "create", "--name", "own", "--token", key["key"])
    assert mine["user_id"] == root["id"]  # no --user: the token's own user

    # A finance user's key may not create users: the server's 403 comes through.
    finance = ok_json(
        env, "users", "create", "fin", "--role", "finance", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    fin_key = ok_json(env, "api-keys", "create", "--user", finance["id"], "--name", "f")["key"]
    refused = adtrack(
        as_root, "users", "create", "x", "--role", "admin", "--password-stdin",
        "--token", fin_key, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "403" in refused.stderr

    # Keys, passwords, disabling, through the API.
    [listed_key] = ok_json(env, "api-keys", "list", "--user", "fin")
    assert "key" not in listed_key and listed_key["id"]
    revoked = ok_json(env, "api-keys", "revoke", listed_key["id"])
    assert revoked["revoked"] is True
    with bearer(server, fin_key) as http:
        assert http.get("/api/v1/me").status_code == 401
    changed = adtrack(
        env, "users", "set-password", "fin", "--password-stdin", stdin="fresh spring rain 7\n"
    )
    assert changed.returncode == 0, changed.stderr
    with server.client() as http:
        assert login(http, "fin", "fresh spring rain 7").status_code == 303
    assert ok_json(env, "users", "disable", "fin")["status"] == "disabled"
    with server.client() as http:
        assert login(http, "fin", "fresh spring rain 7").status_code == 401


def test_without_a_server_commands_open_the_store(offline_env):
    env = offline_env
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
    weak = adtrack(env, "users", "set-password", "alice", "--password-stdin", stdin="alice1234567")
    assert weak.returncode == 2, weak.stderr
    assert "password must not contain the username" in weak.stderr
    assert "alice1234567" not in weak.stderr + weak.stdout


@pytest.mark.parametrize(
    ("args", "password", "words"),
    [
        (["alice", "--role", "admin"], "short", ["password", "at least 10 characters"]),
        (["alice", "--role", "admin"], " " * 12, ["password", "only spaces"]),
        (["alice", "--role", "admin"], "Password123", ["password", "too common"]),
        (["alice", "--role", "partner"], PASSWORD, ["partner_id", "needs the partner"]),
        (["al", "--role", "admin", "--partner", "p"], PASSWORD, ["partner_id", "only users"]),
        (["bad name", "--role", "admin"], PASSWORD, ["username"]),
    ],
    ids=[
        "short password",
        "blank password",
        "common password",
        "partner without partner",
        "partner for admin",
        "bad username",
    ],
)
def test_bad_input_exits_2_naming_the_field(offline_env, args, password, words):
    result = adtrack(offline_env, "users", "create", *args, "--password-stdin", stdin=password)
    assert result.returncode == 2, (result.returncode, result.stderr)
    for word in words:
        assert word in result.stderr
    if password.strip() and password != PASSWORD:
        assert password not in result.stderr + result.stdout


def test_unknown_users_and_keys_exit_1(offline_env):
    for args in (["users", "disable", "nobody"], ["api-keys", "revoke", "key_nosuchkey"]):
        result = adtrack(offline_env, *args)
        assert result.returncode == 1
        assert "no " in result.stderr


def test_the_password_is_never_taken_from_the_command_line(offline_env):
    result = adtrack(offline_env, "users", "create", "bob", "--role", "admin", stdin="")
    assert result.returncode == 1
    assert "--password-stdin" in result.stderr
