"""The per-process state the API keeps for accounts (cache, throttle, cookie settings)."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.cache import AuthCache
from app.auth.throttle import LoginThrottle
from app.settings import Settings


@dataclass(frozen=True)
class AuthState:
    session_lifetime_s: int
    secure_cookies: bool
    cache: AuthCache
    throttle: LoginThrottle


def build_state(settings: Settings) -> AuthState:
    """Cookies are Secure when the public URL is https."""
    return AuthState(
        session_lifetime_s=settings.session_lifetime_s,
        secure_cookies=settings.public_url.lower().startswith("https://"),
        cache=AuthCache(),
        throttle=LoginThrottle(settings.login_max_failures, settings.login_window_s),
    )
