"""The core's front door, before any route reads a body: a rate limit per client address,
body-size limits by route, and credentials checked before an API write is parsed.

FastAPI reads and parses a route's body before its dependencies run, so without this an
anonymous 30 MB JSON array would be parsed (seconds, hundreds of MB) only to be answered 401.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.api.deps import IDENTITY_KEY, Denied, client_address, denied_body, identify
from app.auth.csrf import SAFE_METHODS
from app.serve.limits import SMALL_BODY, body_limit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/internal/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        auth = scope["app"].state.auth
        address = client_address(request, auth.client_ip)
        wait_s = auth.requests.take(f"address:{address}")
        if wait_s > 0:
            await _discard_body(receive, body_limit(scope["path"]))
            await _refuse(send, 429, "too_many_requests", "slow down", retry_after_s=wait_s)
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = body_limit(path)
        if path.startswith("/api/") or limit > SMALL_BODY:
            try:
                found = await run_in_threadpool(identify, request)
            except Denied as denied:
                if path.startswith("/api/"):  # refused before the body is parsed
                    await _discard_body(receive, limit)
                    await _refuse(
                        send, denied.status, **denied_body(denied), headers=denied.headers()
                    )
                    return
                limit = SMALL_BODY  # a page: its own check answers (a login redirect)
            else:
                scope.setdefault("state", {})[IDENTITY_KEY] = found
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        if declared is None:
            # Chunked: take it here, up to the limit, and hand the route what was read.
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if len(body) > limit:
                    await _too_large(send, limit)
                    return
                if not message.get("more_body"):
                    break
            receive = _replay(bytes(body), receive)
        await self.app(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 1 << 62
    return None


async def _discard_body(receive: Receive, limit: int) -> None:
    """Read what was sent (up to `limit`) and keep none of it: a refusal answered over an
    unread body makes the kernel reset the connection, and the answer is lost with it."""
    seen = 0
    while seen <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _too_large(send: Send, limit: int) -> None:
    await _refuse(
        send,
        413,
        "body_too_large",
        f"request body over {limit} bytes for this route",
        close=True,
    )


async def _refuse(
    send: Send,
    status: int,
    error: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    retry_after_s: float = 0.0,
    close: bool = True,
) -> None:
    """A JSON refusal shaped like the routes' own ({"detail": {"error", "detail"}})."""
    body = json.dumps({"detail": {"error": error, "detail": detail}}).encode()
    out = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    for name, value in (headers or {}).items():
        out.append((name.lower().encode(), value.encode()))
    if retry_after_s > 0:
        out.append((b"retry-after", str(max(1, math.ceil(retry_after_s))).encode()))
    if close:  # the body was not read: this connection cannot carry another request
        out.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})
