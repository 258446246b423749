"""Refusals sent straight on the ASGI connection, before a body is read, and the declared
body size they judge by: shared by the edge's proxy (app/serve/proxy.py) and the core's
front door (guard.py), so both refuse alike. No framework: the edge loads this module."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.tracker.asgi import Send


async def send_refusal(
    send: Send, status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> None:
    """A refusal shaped like the core's own answers ({"detail": {"error", "detail"}}), sent
    before the body was read (so the connection closes): by the edge and the core's guard."""
    body = json.dumps({"detail": {"error": error, "detail": detail}}).encode()
    out = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    out += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


def content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 1 << 62  # unreadable: refused as too large
    return None
