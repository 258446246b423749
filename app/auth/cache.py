"""A short-lived in-memory cache of users, sessions and API keys in front of ClickHouse.

The core is one process and writes every account change itself, clearing the cache as it
does; the time limit only bounds how long another core on the same ClickHouse server (a
multi-host set-up) can lag behind a change made elsewhere. Misses are cached as well, for
the same short time: a client repeating an unknown key or an ended session costs one store
query per period, not one per request (a new key or session clears the cache here).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from app.auth import api_keys, sessions, users
from app.auth.api_keys import ApiKey
from app.auth.sessions import Session
from app.auth.users import User
from app.store.client import Store

T = TypeVar("T")


class AuthCache:
    def __init__(self, ttl_s: float = 5.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _get(self, kind: str, key: str, load: Callable[[], T | None]) -> T | None:
        now = time.monotonic()
        hit = self._entries.get((kind, key))
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[(kind, key)] = (now, value)
        return value

    def user(self, store: Store, user_id: str) -> User | None:
        return self._get("user", user_id, lambda: users.get(store, user_id))

    def session(self, store: Store, token_hash: str) -> Session | None:
        return self._get("session", token_hash, lambda: sessions.get(store, token_hash))

    def api_key(self, store: Store, key_hash: str) -> ApiKey | None:
        return self._get("api_key", key_hash, lambda: api_keys.find_by_hash(store, key_hash))

    def clear(self) -> None:
        """After any account change made by this process."""
        with self._lock:
            self._entries.clear()
