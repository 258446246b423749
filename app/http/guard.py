"""The core's front door, before any route reads a body: a rate limit per client address,
body-size limits by route, and credentials checked before an API write is parsed.

FastAPI reads and parses a route's body before its dependencies run, so without this an
anonymous 30 MB JSON array would be parsed (seconds, hundreds of MB) only to be answered 401.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.auth.csrf import SAFE_METHODS
from app.http.deps import IDENTITY_KEY, Denied, client_address, denied_body, identify
from app.http.limits import SMALL_BODY, body_limit
from app.http.refusals import content_length, send_refusal

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
        path = scope["path"]
        limit = body_limit(path)
        wait_s = auth.requests.take(f"address:{client_address(request, auth.client_ip)}")
        if wait_s > 0:
            await _discard_body(receive, limit)
            retry = {"Retry-After": str(max(1, math.ceil(wait_s)))}
            await send_refusal(send, 429, "too_many_requests", "slow down", retry)
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if path.startswith("/api/") or limit > SMALL_BODY:
            try:
                found = await run_in_threadpool(identify, request)
            except Denied as denied:
                if path.startswith("/api/"):  # refused before the body is parsed
                    await _discard_body(receive, limit)
                    await send_refusal(send, denied.status, **denied_body(denied),
                                       headers=denied.headers())  # fmt: skip
                    return
                limit = SMALL_BODY  # a page: its own check answers (a login redirect)
            else:
                scope.setdefault("state", {})[IDENTITY_KEY] = found
        declared = content_length(scope["headers"])
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
    await send_refusal(
        send, 413, "body_too_large", f"request body over {limit} bytes for this route"
    )
