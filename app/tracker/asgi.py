"""Small ASGI helpers shared by the hit handlers: responses, bodies, cookies, ETags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from app.tracker.query import parse_query

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
# With an answer given before the request body was read to its end (a body too large): the
# server drops that connection, and a client told so sends its next request on a new one
# instead of losing it on the dropped one.
CLOSE = (b"connection", b"close")


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await respond(
        send,
        status,
        orjson.dumps(payload),
        [(b"content-type", b"application/json"), *(headers or [])],
    )


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def body_params(scope: Scope, body: bytes) -> dict[str, str]:
    content_type = ""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1").lower()
    if not body:
        return {}
    if "json" in content_type:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError("body is not JSON") from exc
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return {str(k): str(v) for k, v in data.items() if v is not None}
    return parse_query(body)


def etag_matches(header: bytes, etag: bytes) -> bool:
    """If-None-Match: `*`, or a list of tags, weak (W/) or strong."""
    if header.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == etag for tag in header.split(b","))


def cookie_value(cookie_header: str, name: str) -> str:
    if not cookie_header or name not in cookie_header:
        return ""
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value.replace("-", "").replace("_", "").isalnum() and len(value) < 64:
            return value
    return ""
