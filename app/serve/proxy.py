"""Forwards every non-hit request from the edge to the core process (API, docs, pages).

Admin traffic is small and rare next to hits, so a plain buffered forward over loopback is
enough; the edge stays the one public port.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 32 * 1024 * 1024
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailers",
    b"x-adtrack-peer",  # ours to set: a client's own value must never reach the core
    b"transfer-encoding",
    b"upgrade",
    b"host",
    b"content-length",
}


class CoreProxy:
    def __init__(self, core_url: str, timeout_s: float = 120.0) -> None:
        self.core_url = core_url.rstrip("/")
        self._client: httpx.AsyncClient | None = None
        self._timeout = timeout_s

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.core_url,
                timeout=self._timeout,
                follow_redirects=False,
                # Keep no cookies: a Set-Cookie for one browser must never ride along on
                # another browser's request (each request carries its own Cookie header).
                cookies=http.cookiejar.CookieJar(
                    http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
                ),
            )
        return self._client

    async def get(self, path: str, timeout: float = 2.0) -> httpx.Response:
        return await self.client().get(path, timeout=timeout)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is the edge's own; websockets are not served
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _plain(send, 413, b"request body too large")
                return
            if not message.get("more_body"):
                break
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        client = scope.get("client")
        if client:
            headers.append((b"x-adtrack-peer", client[0].encode()))
        # One leading slash: "//host/x" must stay a path on the core, never become a host.
        url = "/" + scope["path"].lstrip("/")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        try:
            response = await self.client().request(
                scope["method"], url, headers=headers, content=bytes(body)
            )
        except httpx.HTTPError:
            await _plain(send, 503, b"adtrack core process unavailable")
            return
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower().encode() not in _HOP_BY_HOP and k.lower() != "content-encoding"
        ]
        content = response.content
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": content})


async def _plain(send: Send, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(text)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})
