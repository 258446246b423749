"""The jinja2 environment of the back-office pages (autoescaped) and how a page is answered.

Pages extend `base.html` (layout and nav); `render` hands every template the `principal`
(None on the login page) and the session's `csrf_token` for its forms (and its meta tag):
pages are the only place a session's token is shown, never the JSON API.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.auth.principal import Principal
from app.http.deps import session_of

environment = Environment(
    loader=PackageLoader("app.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Pages carry CSRF tokens and account data: never cached, never framed (clickjacking), and
# no script at all (they need none): markup that slipped through would not run. They frame
# only our own sandboxed creative previews (app.web.preview).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "script-src 'none'; object-src 'none'; frame-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
    csrf_token: str | None = None,
) -> HTMLResponse:
    """`csrf_token` defaults to the token of the session the request came with."""
    session = session_of(request)
    values = {
        "principal": principal,
        "csrf_token": csrf_token
        if csrf_token is not None
        else (session.csrf_secret if session else ""),
        "path": request.url.path,
        **(context or {}),
    }
    html = environment.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
