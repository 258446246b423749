"""`adtrack users|api-keys`: accounts on the command line.

Routed like the catalog commands (app.cli.catalog): through the running server's API when
one answers (with --token, ADTRACK_ADMIN_TOKEN or the data dir's admin_token file, or an
admin's API key), else straight into the store. Input is checked with the API's own models
and operations on both paths. On a fresh install the first admin is made with the bootstrap
token: `adtrack users create alice --role admin` (the password is asked for, or read from
stdin with --password-stdin).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from app.auth import api_keys, passwords, users
from app.auth.accounts import UserIn, UserPatch, create_user, update_user
from app.auth.principal import Principal
from app.cli.common import (
    BadInput,
    Failure,
    Target,
    call_api,
    common_options,
    emit,
    emit_one,
    pydantic_errors,
    routed,
    run_command,
)
from app.errors import Refused
from app.settings import Settings

if TYPE_CHECKING:
    from app.store.client import Store

# Opening the store directly is operator access; the audit log names it "cli".
CLI_PRINCIPAL = Principal(user_id="cli", username="cli", role="admin", partner_id=None, via="token")

_USER_COLUMNS = ("id", "username", "display_name", "role", "partner_id", "status", "created_at")
_KEY_COLUMNS = ("id", "user_id", "name", "prefix", "last4", "revoked", "created_at")


def _model(model: type[BaseModel], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise BadInput(pydantic_errors(exc)) from exc


def _checked(action: Callable[[], Any]) -> Any:
    """Run an API operation on the store; its field errors become BadInput."""
    try:
        return action()
    except Refused as exc:
        raise BadInput([(field, reason) for field, reason, _ in exc.errors]) from exc


def _password(args: argparse.Namespace, username: str, *, confirm: bool = True) -> str:
    """The new password, checked here first (the API and the store check it again, with the
    stored username): a refusal names the field and the reason, never the password."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise Failure("no terminal to ask for the password on: pass --password-stdin")
    else:
        password = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != password:
            raise Failure("the two passwords differ")
    problem = passwords.password_problem(password, username)
    if problem:
        raise BadInput([("password", problem)])
    return password


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


# -- finding a user by id or username -------------------------------------------------------


def _user_via_api(target: Target, ref: str) -> dict[str, Any]:
    if ref.startswith("usr_"):
        return call_api(target, "GET", f"/api/v1/users/{ref}")
    for row in call_api(target, "GET", "/api/v1/users"):
        if row["username"] == ref.strip().lower():
            return row
    raise Failure(f"no user has the username or id {ref!r}")


def _user_in_store(store: Store, ref: str) -> users.User:
    found = users.get(store, ref) if ref.startswith("usr_") else None
    found = found or users.get_by_username(store, ref.strip().lower())
    if found is None:
        raise Failure(f"no user has the username or id {ref!r}")
    return found


# -- users ------------------------------------------------------------------------------------


def _users_create(args: argparse.Namespace) -> int:
    values = {
        "username": args.username,
        "role": args.role,
        "display_name": args.name,
        "partner_id": args.partner,
    }
    first: UserIn = _model(UserIn, {**values, "password": ""})  # field errors before asking
    body: UserIn = _model(UserIn, {**values, "password": _password(args, first.username)})

    def via_store(store: Store, _: Settings) -> Any:
        return _jsonable(_checked(lambda: create_user(store, body, CLI_PRINCIPAL)).public())

    payload = body.model_dump(mode="json", exclude_none=True)
    row = routed(args, lambda t: call_api(t, "POST", "/api/v1/users", payload), via_store)
    emit_one(args, row)
    return 0


def _users_list(args: argparse.Namespace) -> int:
    def via_store(store: Store, _: Settings) -> Any:
        return [_jsonable(u.public()) for u in users.load_all(store)]

    rows = routed(args, lambda t: call_api(t, "GET", "/api/v1/users"), via_store)
    emit(args, rows, _USER_COLUMNS, "users")
    return 0


def _users_change(args: argparse.Namespace, values: dict[str, Any]) -> int:
    patch: UserPatch = _model(UserPatch, values)

    def via_api(target: Target) -> Any:
        user = _user_via_api(target, args.user)
        body = patch.model_dump(mode="json", exclude_none=True)
        return call_api(target, "PATCH", f"/api/v1/users/{user['id']}", body)

    def via_store(store: Store, _: Settings) -> Any:
        user = _user_in_store(store, args.user)
        return _jsonable(_checked(lambda: update_user(store, user, patch, CLI_PRINCIPAL)).public())

    emit_one(args, routed(args, via_api, via_store))
    return 0


def _users_set_password(args: argparse.Namespace) -> int:
    username = "" if args.user.startswith("usr_") else args.user.strip().lower()
    return _users_change(args, {"password": _password(args, username)})


def _users_set_status(args: argparse.Namespace, state: str) -> int:
    return _users_change(args, {"status": state})


# -- API keys ---------------------------------------------------------------------------------


def _keys_create(args: argparse.Namespace) -> int:
    def via_api(target: Target) -> Any:
        user_id = _user_via_api(target, args.user)["id"] if args.user else None
        body = {"name": args.name, **({"user_id": user_id} if user_id else {})}
        return call_api(target, "POST", "/api/v1/api-keys", body)

    def via_store(store: Store, _: Settings) -> Any:
        if not args.user:
            raise BadInput([("user", "name the user the key is for (--user)")])
        user = _user_in_store(store, args.user)
        if not user.active:
            raise BadInput([("user", "this user is disabled")])
        secret, key = api_keys.create(
            store, user.id, args.name, actor=CLI_PRINCIPAL.username, actor_role="admin"
        )
        return _jsonable({**key.public(), "key": secret})

    row = routed(args, via_api, via_store)
    emit_one(args, row)
    print("adtrack: keep the key now: it is not shown again", file=sys.stderr)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    def via_api(target: Target) -> Any:
        user_id = _user_via_api(target, args.user)["id"] if args.user else None
        return call_api(target, "GET", "/api/v1/api-keys", params={"user_id": user_id})

    def via_store(store: Store, _: Settings) -> Any:
        user_id = _user_in_store(store, args.user).id if args.user else None
        return [_jsonable(k.public()) for k in api_keys.list_keys(store, user_id)]

    emit(args, routed(args, via_api, via_store), _KEY_COLUMNS, "API keys")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    def via_store(store: Store, _: Settings) -> Any:
        key = api_keys.get(store, args.key_id)
        if key is None:
            raise Failure(f"no API key has the id {args.key_id!r}")
        revoked = api_keys.revoke(store, key, actor=CLI_PRINCIPAL.username, actor_role="admin")
        return _jsonable(revoked.public())

    path = f"/api/v1/api-keys/{args.key_id}"
    emit_one(args, routed(args, lambda t: call_api(t, "DELETE", path), via_store))
    return 0


# -- the argument parsers -------------------------------------------------------------------


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the `users` and `api-keys` commands to the `adtrack` parser."""
    common = common_options()
    password = argparse.ArgumentParser(add_help=False)
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (else it is asked for)",
    )

    group = subparsers.add_parser("users", help="manage users and their roles")
    actions = group.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", parents=[common, password], help="create a user (the first admin, too)"
    )
    create.add_argument("username", metavar="USERNAME")
    create.add_argument("--role", required=True, choices=users.ROLES)
    create.add_argument("--partner", help="the partner slug (role partner only)")
    create.add_argument("--name", help="display name (default: the username)")
    create.set_defaults(func=run_command(_users_create))
    listing = actions.add_parser("list", parents=[common], help="list users")
    listing.set_defaults(func=run_command(_users_list))
    reset = actions.add_parser(
        "set-password",
        parents=[common, password],
        help="set a user's password (ends its sessions and revokes its API keys)",
    )
    reset.add_argument("user", metavar="USER", help="username or id")
    reset.set_defaults(func=run_command(_users_set_password))
    for verb, state, what in (
        ("disable", "disabled", "disable a user (ends its sessions and revokes its API keys)"),
        ("enable", "active", "enable a user (its revoked keys stay revoked)"),
    ):
        change = actions.add_parser(verb, parents=[common], help=what)
        change.add_argument("user", metavar="USER", help="username or id")
        change.set_defaults(func=run_command(lambda a, s=state: _users_set_status(a, s)))

    group = subparsers.add_parser("api-keys", help="API keys for scripts")
    actions = group.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", parents=[common], help="create a key (shown once)")
    create.add_argument("--name", required=True, help="what the key is for")
    create.add_argument("--user", help="username or id (default: the --token's own user)")
    create.set_defaults(func=run_command(_keys_create))
    listing = actions.add_parser("list", parents=[common], help="list keys (never the secrets)")
    listing.add_argument("--user", help="only this user's keys (username or id)")
    listing.set_defaults(func=run_command(_keys_list))
    revoke = actions.add_parser("revoke", parents=[common], help="revoke a key")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(func=run_command(_keys_revoke))
