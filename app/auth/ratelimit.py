"""Request rate limits in memory (one core process): token buckets per client address and
per credential, and a window of failed credential look-ups per address.

A refused request costs a dictionary look-up, never a store query: random bearer keys from
one address stop reaching ClickHouse after a few failures.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class TokenBuckets:
    """`rate_per_s` requests a second sustained per key, `burst` at once."""

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 100_000) -> None:
        self._rate = rate_per_s
        self._burst = float(burst)
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go on (a token is spent), else seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) * self._rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self._rate
            if len(self._buckets) >= self._max_keys and key not in self._buckets:
                self._forget_full(now)
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        """Buckets that have refilled say nothing a fresh bucket would not."""
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self._rate >= self._burst:
                del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()


class FailureWindow:
    """At most `max_failures` per key within `window_s`; then refused until the oldest ages."""

    def __init__(self, max_failures: int, window_s: float, max_keys: int = 100_000) -> None:
        self._max = max_failures
        self._window = window_s
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        now = time.monotonic()
        with self._lock:
            times = self._failures.get(key)
            if not times:
                return 0.0
            while times and now - times[0] >= self._window:
                times.popleft()
            if not times:
                del self._failures[key]
                return 0.0
            return 0.0 if len(times) < self._max else self._window - (now - times[0])

    def failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self._max_keys and key not in self._failures:
                self._failures.clear()
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while len(times) > self._max:
                times.popleft()
