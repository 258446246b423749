"""Failed-login throttling in memory (one core process): per username and client address,
and per address over all usernames (one address trying many usernames)."""

from __future__ import annotations

import threading
import time
from collections import deque

ADDRESS_FACTOR = 10  # an address may fail this many times more across all usernames


class LoginThrottle:
    """After `max_failures` failures within `window_s`, a (username, address) pair is refused
    until the oldest of them is `window_s` old; an address alone after ADDRESS_FACTOR times as
    many. A success clears the pair's failures (not the address's)."""

    def __init__(self, max_failures: int, window_s: float, max_keys: int = 100_000) -> None:
        self._max = max_failures
        self._window = window_s
        self._max_keys = max_keys
        # (username, address) pairs, and ("", address) for the address over all usernames.
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self._window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> float:
        times = self._recent(key, now)
        return 0.0 if len(times) < limit else max(0.0, self._window - (now - times[0]))

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this pair may try again; 0 when it may now."""
        now = time.monotonic()
        with self._lock:
            return max(
                self._wait((username, address), self._max, now),
                self._wait(("", address), self._max * ADDRESS_FACTOR, now),
            )

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._prune(now)
            for key in {(username, address), ("", address)}:
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            if username:
                self._failures.pop((username, address), None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= self._max_keys:  # all recent: forget the lot, not memory
            self._failures.clear()
