"""Accounts API: users and roles (admin only), `/me`, and API keys (a user's own, or any for
an admin). Password hashes and key hashes never leave the store; a new key is shown once.

Users are made and changed by app.auth.accounts (the same operations as the pages and the
CLI): their errors name the field and the reason and never carry a password.
`/me` never answers the session's CSRF token: any script that can make the browser fetch it
could then forge writes. Our pages carry it in their forms and a meta tag instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, StringConstraints

from app.auth import api_keys, users
from app.auth.accounts import UserIn, UserPatch, create_user, field_error, update_user
from app.http.deps import AdminDep, AuthStateDep, Principal, ReadDep, StoreDep
from app.store.client import Store

router = APIRouter(prefix="/api/v1", tags=["accounts"])

KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    role: str
    partner_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class MeOut(BaseModel):
    user_id: str
    username: str
    display_name: str
    role: str
    partner_id: str | None
    via: str


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: KeyName
    user_id: str | None = None  # default: the caller; another user's only for an admin


class ApiKeyOut(BaseModel):
    id: str
    user_id: str
    name: str
    prefix: str
    last4: str
    revoked: bool
    created_at: datetime
    updated_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str  # shown this once; the store keeps only its hash


def _not_found(field: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, {"error": "not_found", "field": field})


# -- users ------------------------------------------------------------------------------------


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def create(body: UserIn, principal: AdminDep, store: StoreDep, state: AuthStateDep) -> Any:
    user = create_user(store, body, principal)
    state.cache.clear()
    return user.public()


@router.get("/users", response_model=list[UserOut])
def list_users(_: AdminDep, store: StoreDep) -> Any:
    return [u.public() for u in users.load_all(store)]


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: str, _: AdminDep, store: StoreDep) -> Any:
    user = users.get(store, user_id)
    if user is None:
        raise _not_found("user_id")
    return user.public()


@router.patch("/users/{user_id}", response_model=UserOut)
def patch_user(
    user_id: str, body: UserPatch, principal: AdminDep, store: StoreDep, state: AuthStateDep
) -> Any:
    user = users.get(store, user_id)
    if user is None:
        raise _not_found("user_id")
    updated = update_user(store, user, body, principal)
    state.cache.clear()
    return updated.public()


@router.get("/me", response_model=MeOut)
def me(principal: ReadDep, store: StoreDep, state: AuthStateDep) -> Any:
    user = state.cache.user(store, principal.user_id) if principal.via != "token" else None
    return MeOut(
        user_id=principal.user_id,
        username=principal.username,
        display_name=user.display_name if user else principal.username,
        role=principal.role,
        partner_id=principal.partner_id,
        via=principal.via,
    )


# -- API keys ---------------------------------------------------------------------------------


def _visible_key(store: Store, key_id: str, principal: Principal) -> api_keys.ApiKey:
    """A key the caller may manage: its own, or any for an admin (else 404, not 403: no
    telling which key ids exist)."""
    key = api_keys.get(store, key_id)
    if key is None or (principal.role != "admin" and key.user_id != principal.user_id):
        raise _not_found("key_id")
    return key


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_api_key(body: ApiKeyIn, principal: ReadDep, store: StoreDep, state: AuthStateDep) -> Any:
    user_id = body.user_id or principal.user_id
    if user_id != principal.user_id and principal.role != "admin":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            {"error": "forbidden", "detail": "only an admin creates keys for another user"},
        )
    if principal.via == "token" and not body.user_id:
        raise field_error("user_id", "the admin token is no user: name the user the key is for")
    user = users.get(store, user_id)
    if user is None:
        raise field_error("user_id", "no user has this id", "not_found")
    if not user.active:
        raise field_error("user_id", "this user is disabled")
    secret, key = api_keys.create(
        store, user.id, body.name, actor=principal.username, actor_role=principal.role
    )
    state.cache.clear()
    return ApiKeyCreated(**key.public(), key=secret)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(principal: ReadDep, store: StoreDep, user_id: str | None = None) -> Any:
    """Your own keys; an admin sees everyone's, or one user's with ?user_id=."""
    if principal.role != "admin":
        if user_id not in (None, principal.user_id):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                {"error": "forbidden", "detail": "only an admin lists another user's keys"},
            )
        user_id = principal.user_id
    return [k.public() for k in api_keys.list_keys(store, user_id)]


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
def revoke_api_key(key_id: str, principal: ReadDep, store: StoreDep, state: AuthStateDep) -> Any:
    key = _visible_key(store, key_id, principal)
    revoked = api_keys.revoke(store, key, actor=principal.username, actor_role=principal.role)
    state.cache.clear()
    return revoked.public()
