"""The demo clock: a hit's event time chosen by the caller, for `adtrack demo --mode http`,
which must spread a month of traffic over the days it claims.

A hit's time is otherwise always its arrival time: a page, a partner or anyone with a site
key can never back-date it. The edge takes `X-Adtrack-Demo-Time` (epoch milliseconds) only
when all of these hold, else the hit keeps its arrival time (it is not refused, so a page
that sends the header loses nothing):

- the deployment turned it on (ADTRACK_DEMO_CLOCK=true; off by default, and then the edge
  does not even read the headers);
- `X-Adtrack-Demo-Key` is the demo key: HMAC-SHA256 of the bootstrap admin token (the one
  ADTRACK_ADMIN_TOKEN or `<data dir>/admin_token` holds), so only who holds that token can
  make it, and the token itself never travels on the hit path;
- the time is at most MAX_PAST_MS (90 days) before arrival and never after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Iterable

from app.settings import Settings

KEY_HEADER = "X-Adtrack-Demo-Key"
TIME_HEADER = "X-Adtrack-Demo-Time"
MAX_PAST_MS = 90 * 86_400_000
_KEY = KEY_HEADER.lower().encode()
_TIME = TIME_HEADER.lower().encode()
_LABEL = b"adtrack demo clock v1"


def demo_key(admin_token: str) -> str:
    """The key a demo sends: derived from the admin token, never the token itself."""
    return hmac.new(admin_token.encode(), _LABEL, hashlib.sha256).hexdigest()


class DemoClock:
    """One per edge; made only when ADTRACK_DEMO_CLOCK is on."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._key = b""

    def _expected(self) -> bytes:
        # The core writes <data dir>/admin_token at its first start, maybe after this
        # worker started: look again until it is there.
        if not self._key:
            token = self._settings.admin_token
            if not token:
                with contextlib.suppress(OSError):
                    path = self._settings.data_dir / "admin_token"
                    token = path.read_text("utf-8").strip()
            if token:
                self._key = demo_key(token).encode()
        return self._key

    def event_time(self, headers: Iterable[tuple[bytes, bytes]], arrival_ms: int) -> int:
        """The demo's time where the caller proved the key and the time is in bounds, else
        the arrival time."""
        key = claimed = b""
        for name, value in headers:
            if name == _KEY:
                key = value
            elif name == _TIME:
                claimed = value
        if not key or not claimed:
            return arrival_ms
        expected = self._expected()
        if not expected or not hmac.compare_digest(key, expected):
            return arrival_ms
        try:
            moment = int(claimed)
        except ValueError:
            return arrival_ms
        if not arrival_ms - MAX_PAST_MS <= moment <= arrival_ms:
            return arrival_ms
        return moment
