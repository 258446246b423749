"""The spool record: one JSON object per line, keyed by `events` column names.

The edge writes what it parsed and validated plus the raw `ip` and `user_agent`; the loader
adds everything derived (geo, device, ids from the click) before the insert. A record with a
`reject` key is a rejected hit bound for the `rejects` table.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

Record = dict[str, Any]

EVENT_TYPES = frozenset({"impression", "click", "visit", "order", "event"})

# Keys of a reject record (besides `reject`, the reason).
REJECT_KEYS = ("ts", "field", "endpoint", "site_key", "detail", "raw", "ip", "user_agent")


class EventIds:
    """Cheap, unique event ids: a random 64-bit prefix per process and a counter.

    The id is fixed when the hit is spooled, so a replayed segment carries the same ids.
    """

    def __init__(self) -> None:
        self._prefix = int.from_bytes(os.urandom(8), "big")
        self._counter = int.from_bytes(os.urandom(4), "big") << 24

    def next(self) -> str:
        self._counter += 1
        return f"{self._prefix:016x}{self._counter & 0xFFFFFFFFFFFFFFFF:016x}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dumps(record: Record) -> bytes:
    return orjson.dumps(record) + b"\n"


def loads(line: bytes) -> Record:
    return orjson.loads(line)


def reject(
    reason: str,
    *,
    endpoint: str,
    field: str = "",
    detail: str = "",
    raw: str | bytes = "",
    site_key: str = "",
    ip: str = "",
    user_agent: str = "",
) -> Record:
    if isinstance(raw, bytes):
        raw = raw[:4096].decode("utf-8", "replace")
    return {
        "reject": reason,
        "ts": now_ms(),
        "endpoint": endpoint,
        "field": field,
        "detail": detail[:500],
        "raw": raw[:4096],
        "site_key": site_key[:200],
        "ip": ip,
        "user_agent": user_agent[:1000],
    }
