"""What the account tables share: ids, timestamps as stored, row versions."""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from datetime import UTC, datetime
from typing import Any

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> datetime:
    # Millisecond precision, as stored (DateTime64(3)): what a write returns equals a read.
    stamp = datetime.now(UTC)
    return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


def version() -> int:
    return time.time_ns()


def sha256_hex(secret: str) -> str:
    """For 32-byte random secrets (API keys, session tokens) a fast hash is enough: there is
    nothing to guess, and a lookup must not cost a password hash's time."""
    return hashlib.sha256(secret.encode()).hexdigest()


def clean(row: dict[str, Any]) -> dict[str, Any]:
    """A row as read: naive datetimes are UTC."""
    return {
        k: (v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v)
        for k, v in row.items()
    }
