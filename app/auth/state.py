"""The per-process state the API keeps for accounts (cache, throttle, cookie settings)."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.cache import AuthCache
from app.auth.ratelimit import FailureWindow, TokenBuckets
from app.auth.throttle import LoginThrottle
from app.settings import Settings
from app.tracker.clientip import ClientIp


@dataclass(frozen=True)
class AuthState:
    session_lifetime_s: int
    secure_cookies: bool
    cache: AuthCache
    throttle: LoginThrottle
    requests: TokenBuckets  # per client address and per credential
    auth_failures: FailureWindow  # bearer keys and session cookies that named no one
    client_ip: ClientIp


def build_state(settings: Settings) -> AuthState:
    """Cookies are Secure when the public URL is https."""
    return AuthState(
        session_lifetime_s=settings.session_lifetime_s,
        secure_cookies=settings.public_url.lower().startswith("https://"),
        cache=AuthCache(),
        throttle=LoginThrottle(settings.login_max_failures, settings.login_window_s),
        requests=TokenBuckets(settings.api_rate_per_s, settings.api_burst),
        auth_failures=FailureWindow(settings.api_auth_max_failures, settings.api_auth_window_s),
        client_ip=ClientIp(settings.trusted_proxies),
    )
