"""Account operations shared by every face (the API, the pages, the CLI): the input models
of a user, and creating or changing one with its checks.

A password is checked here (app.auth.passwords, which needs the username), not by the models:
errors name the field and the reason and never carry the input. Refusals are AccountError
(app.errors.Refused), which each face turns into its own "field: reason" answer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

from app.auth import passwords, users
from app.auth.principal import Principal
from app.catalog import entities as catalog
from app.catalog import rows as catalog_rows
from app.errors import Refused
from app.store.client import Store

Role = Literal["admin", "media_buyer", "finance", "partner"]
Status = Literal["active", "disabled"]

_lower = BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)
Username = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9_.@+-]*$"),
    _lower,
]
# The same slug as a site's `partner` (app.catalog.models), which a partner user is bound to.
PartnerSlug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"),
    _lower,
]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    role: Role
    password: str  # checked by create_user (see the module's docstring)
    display_name: DisplayName = ""
    partner_id: PartnerSlug | None = None


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    partner_id: PartnerSlug | None = None
    display_name: DisplayName | None = None
    status: Status | None = None
    password: str | None = None  # checked by update_user


class AccountError(Refused):
    """An account change refused: the field, the reason, its kind."""


def field_error(field: str, message: str, kind: str = "value_error") -> AccountError:
    return AccountError([(field, message, kind)])


def _check_partner(store: Store, partner_id: str | None) -> None:
    """A partner user is bound to a partner of the catalog: its scope is that partner's sites."""
    if partner_id and catalog_rows.get(store, catalog.Partner, partner_id) is None:
        raise field_error("partner_id", "no partner has this id", "not_found")


def _check_password(password: str, username: str) -> None:
    problem = passwords.password_problem(password, username)
    if problem:
        raise field_error("password", problem, "password_policy")


def create_user(store: Store, body: UserIn, actor: Principal) -> users.User:
    """Raises AccountError naming the field. Callers holding an AuthState clear its
    cache after any account change."""
    _check_password(body.password, body.username)
    if body.role == "partner" and not body.partner_id:
        raise field_error("partner_id", "a partner user needs the partner it belongs to")
    if body.role != "partner" and body.partner_id:
        raise field_error("partner_id", "only users with role partner have a partner_id")
    _check_partner(store, body.partner_id)
    user = users.new_user(
        body.username,
        body.role,
        body.password,
        display_name=body.display_name,
        partner_id=body.partner_id,
    )
    try:
        saved = users.create(store, user, actor=actor.username, actor_role=actor.role)
    except users.UsernameTaken:
        raise field_error(
            "username", "a user with this username exists", "already_exists"
        ) from None
    return saved


def update_user(store: Store, user: users.User, body: UserPatch, actor: Principal) -> users.User:
    """A password reset, a new role or partner, or disabling ends the user's sessions and
    API keys (app.auth.users.update); callers clear their AuthCache after, so at once."""
    if body.password is not None:
        _check_password(body.password, user.username)
    role = body.role or user.role
    partner_id = body.partner_id if body.partner_id is not None else user.partner_id
    if role != "partner":
        if body.partner_id is not None:
            raise field_error("partner_id", "only users with role partner have a partner_id")
        partner_id = None
    elif not partner_id:
        raise field_error("partner_id", "a partner user needs the partner it belongs to")
    if body.partner_id is not None:
        _check_partner(store, body.partner_id)
    if user.id == actor.user_id:  # an admin cannot lock themselves out by mistake
        if role != user.role:
            raise field_error("role", "you cannot change your own role")
        if body.status == "disabled":
            raise field_error("status", "you cannot disable your own account")
    changed = replace(
        user,
        role=role,
        partner_id=partner_id,
        display_name=body.display_name if body.display_name is not None else user.display_name,
        status=body.status or user.status,
    )
    if body.password is not None:
        changed = users.with_password(changed, body.password)
    return users.update(store, user, changed, actor=actor.username, actor_role=actor.role)
