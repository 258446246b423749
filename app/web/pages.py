"""Back-office pages: log in and out, the home page, and users (admin).

A page reached without a login redirects to /login?next=<the page>; `next` is followed only
when it is a path on this server (no open redirect). Failed logins are throttled per
username and client address.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.auth import csrf, passwords, sessions, users
from app.auth.accounts import UserIn, create_user
from app.auth.principal import from_session
from app.auth.state import AuthState
from app.errors import Refused
from app.http.deps import (
    AdminPageDep,
    AuthStateDep,
    PageDenied,
    ReadPageDep,
    RuntimeDep,
    StoreDep,
    client_address,
    session_of,
)
from app.tracker.clientip import ClientIp
from app.web.templating import PAGE_HEADERS, render

router = APIRouter(include_in_schema=False)

HOME = "/admin"
_ROLE_LABELS = {
    "admin": ("Administrator", "You manage users, the catalog and every report."),
    "media_buyer": ("Media buyer", "You manage advertisers, campaigns, sites and links."),
    "finance": ("Finance", "You read reports and settle commissions."),
    "partner": ("Partner", "You see the traffic and results of your own sites."),
}


def safe_next(value: str | None, default: str = HOME) -> str:
    """`value` if it is a path on this server, else `default`.

    Refused: anything with a scheme or host (`https://x`, `//x`), backslashes (browsers read
    `/\\x` as `//x`), and control characters or spaces (browsers drop tabs and newlines, so
    `/\\t/x` would become `//x`).
    """
    if not value or len(value) > 2000 or not value.startswith("/"):
        return default
    if value.startswith("//") or "\\" in value or any(ord(c) <= 0x20 or c == "\x7f" for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


def _set_session_cookie(response: Response, state: AuthState, token: str) -> None:
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=state.session_lifetime_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=state.secure_cookies,
    )


def _clear_session_cookie(response: Response, state: AuthState) -> None:
    response.delete_cookie(
        sessions.COOKIE, path="/", httponly=True, samesite="lax", secure=state.secure_cookies
    )


# -- log in and out ---------------------------------------------------------------------------


def _login_form(
    request: Request,
    state: AuthState,
    *,
    next_path: str,
    username: str = "",
    error: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The login form with a fresh double-submit CSRF token (cookie + hidden field)."""
    token = csrf.new_secret()
    response = render(
        request,
        "login.html",
        {"next": next_path, "username": username, "error": error},
        status_code=status_code,
        csrf_token=token,
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=state.secure_cookies,
    )
    response.headers.update(headers or {})
    return response


@router.get("/login")
def login_page(
    request: Request,
    runtime: RuntimeDep,
    state: AuthStateDep,
    next_path: Annotated[str, Query(alias="next")] = "",
) -> Response:
    target = safe_next(next_path)
    token = request.cookies.get(sessions.COOKIE, "")
    if token and from_session(token, store=runtime.store, cache=state.cache) is not None:
        return _redirect(target)
    return _login_form(request, state, next_path=target if next_path else "")


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    state: AuthStateDep,
    store: StoreDep,
    username: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form()] = "",  # no max_length: its 422 would quote the password
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next_field: Annotated[str, Form(alias="next")] = "",
) -> Response:
    username = username.strip().lower()
    next_path = safe_next(next_field, "")
    form = {"next_path": next_path, "username": username}
    if not csrf.matches(request.cookies.get(csrf.LOGIN_COOKIE, ""), csrf_token):
        return _login_form(
            request,
            state,
            **form,
            error="The login form had expired. Please try again.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    address = client_address(request, ClientIp(runtime.settings.trusted_proxies))
    wait_s = state.throttle.retry_after(username, address)
    if wait_s > 0:
        minutes = max(1, math.ceil(wait_s / 60))
        return _login_form(
            request,
            state,
            **form,
            error=f"Too many failed logins. Try again in {minutes} minute(s).",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(math.ceil(wait_s))},
        )
    user = users.get_by_username(store, username) if username else None
    if user is None or len(password) > passwords.MAX_LENGTH:  # no password is that long
        passwords.verify_nothing("")
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password) and user.active
    if user is None or not ok:
        state.throttle.failed(username, address)
        return _login_form(
            request,
            state,
            **form,
            error="Wrong username or password, or the account is disabled.",
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    state.throttle.succeeded(username, address)
    if passwords.needs_rehash(user.password_hash):  # parameters moved on: upgrade in place
        user = users.save(store, users.with_password(user, password))
    old = request.cookies.get(sessions.COOKIE)
    if old:  # a new login replaces the browser's previous session (no fixation)
        previous = sessions.get(store, sessions.token_hash(old))
        if previous is not None and previous.valid():
            sessions.revoke(store, previous)
    token, _ = sessions.create(store, user.id, state.session_lifetime_s)
    state.cache.clear()
    response = _redirect(next_path or HOME)
    _set_session_cookie(response, state, token)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, _: ReadPageDep, store: StoreDep, state: AuthStateDep) -> Response:
    session = session_of(request)
    if session is not None:
        sessions.revoke(store, session)
        state.cache.clear()
    response = _redirect("/login")
    _clear_session_cookie(response, state)
    return response


# -- pages ------------------------------------------------------------------------------------


@router.get("/admin")
def home(request: Request, principal: ReadPageDep, store: StoreDep, state: AuthStateDep) -> Any:
    user = state.cache.user(store, principal.user_id) if principal.via != "token" else None
    label, help_text = _ROLE_LABELS[principal.role]
    return render(
        request,
        "home.html",
        {
            "display_name": user.display_name if user else principal.username,
            "role_label": label,
            "role_help": help_text,
        },
        principal=principal,
    )


_EMPTY_FORM = {"username": "", "display_name": "", "role": "media_buyer", "partner_id": ""}


def _users_page(
    request: Request,
    principal: Any,
    store: Any,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "users.html",
        {
            "users": users.load_all(store),
            "roles": users.ROLES,
            "form": form or _EMPTY_FORM,
            "errors": errors or {},
            "created": created,
            "min_password": passwords.MIN_LENGTH,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(
    request: Request, principal: AdminPageDep, store: StoreDep, created: str = ""
) -> Any:
    return _users_page(request, principal, store, created=created)


@router.post("/admin/users")
def users_create(
    request: Request,
    principal: AdminPageDep,
    store: StoreDep,
    state: AuthStateDep,
    username: Annotated[str, Form(max_length=256)] = "",
    display_name: Annotated[str, Form(max_length=256)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    partner_id: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form()] = "",  # checked by create_user, never shown again
) -> Response:
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "partner_id": partner_id,
    }
    errors: dict[str, str] = {}
    try:
        body = UserIn.model_validate(
            {**form, "partner_id": partner_id.strip() or None, "password": password}
        )
        user = create_user(store, body, principal)
        state.cache.clear()
    except ValidationError as exc:
        errors = {str(e["loc"][-1]): e["msg"] for e in exc.errors() if e["loc"]}
    except Refused as exc:
        errors = {field: reason for field, reason, _ in exc.errors}
    if errors:
        return _users_page(
            request,
            principal,
            store,
            form=form,
            errors=errors,
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return _redirect("/admin/users?" + urlencode({"created": user.username}))


# -- refusals ---------------------------------------------------------------------------------


async def page_denied(request: Request, exc: Exception) -> Response:
    """A page refused by `require_page_roles`: log in first, or an HTML 401/403."""
    assert isinstance(exc, PageDenied)
    state: AuthState = request.app.state.auth
    if exc.status_code == status.HTTP_401_UNAUTHORIZED and exc.next_path:
        return _redirect("/login?" + urlencode({"next": safe_next(exc.next_path)}))
    if exc.status_code == status.HTTP_401_UNAUTHORIZED:
        response = render(
            request,
            "denied.html",
            {"title": "Please log in", "detail": exc.detail, "login": True},
            status_code=exc.status_code,
        )
        _clear_session_cookie(response, state)
        return response
    return render(
        request,
        "denied.html",
        {"title": "Not allowed", "detail": exc.detail, "login": False},
        status_code=exc.status_code,
    )
