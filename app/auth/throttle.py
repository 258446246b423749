"""Failed-login throttling in memory (one core process).

A (username, address) pair is locked after `max_failures` within the window: one person
guessing one account. Wider patterns — one address trying many usernames, many addresses
trying one username — get a back-off instead of a lock: each further try waits a little
longer after the last failure (1 s, 2 s, 4 s … at most BACKOFF_CAP_S), so a shared NAT or a
popular username is slowed for attackers without locking out everyone behind it, and no
captcha is needed.
"""

from __future__ import annotations

import threading
import time
from collections import deque

ADDRESS_FACTOR = 10  # failures from one address over all usernames before the back-off
USERNAME_FACTOR = 10  # failures for one username over all addresses before the back-off
BACKOFF_CAP_S = 60.0


class LoginThrottle:
    def __init__(self, max_failures: int, window_s: float, max_keys: int = 100_000) -> None:
        self._max = max_failures
        self._window = window_s
        self._max_keys = max_keys
        # ("pair", username, address), ("address", "", address), ("username", username, "")
        self._failures: dict[tuple[str, str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self._window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _locked(self, key: tuple[str, str, str], now: float) -> float:
        times = self._recent(key, now)
        return 0.0 if len(times) < self._max else max(0.0, self._window - (now - times[0]))

    def _backoff(self, key: tuple[str, str, str], threshold: int, now: float) -> float:
        times = self._recent(key, now)
        over = len(times) - threshold
        if over < 0:
            return 0.0
        delay = min(BACKOFF_CAP_S, 2.0 ** min(over, 16))
        return max(0.0, delay - (now - times[-1]))

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this username may be tried from this address; 0 when it may now."""
        now = time.monotonic()
        with self._lock:
            return max(
                self._locked(("pair", username, address), now),
                self._backoff(("address", "", address), self._max * ADDRESS_FACTOR, now),
                self._backoff(("username", username, ""), self._max * USERNAME_FACTOR, now),
            )

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._prune(now)
            for key in (
                ("pair", username, address),
                ("address", "", address),
                ("username", username, ""),
            ):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str, address: str) -> None:
        """The right password: the pair starts afresh (the wider counts stay)."""
        with self._lock:
            self._failures.pop(("pair", username, address), None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= self._max_keys:  # all recent: forget the lot, not memory
            self._failures.clear()
