"""Forwards every non-hit request from the edge to the core process (API, docs, pages).

Admin traffic is small and rare next to hits, so a plain forward over loopback is enough;
the edge stays the one public port. The body streams through (the core decides how much it
takes, after authenticating); the edge only refuses what no route could take.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from app.http.limits import SMALL_BODY, body_limit
from app.http.refusals import content_length, send_refusal
from app.tracker.clientip import CLIENT_HEADER, EDGE_HEADER, ClientIp

SESSION_COOKIE = b"adtrack_session="  # app/auth/sessions.py COOKIE (not imported: the edge
# stays free of the auth package's store imports)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailers",
    # ours to set: a client's own values must never reach the core
    b"x-adtrack-peer",
    EDGE_HEADER.encode(),
    CLIENT_HEADER.encode(),
    b"transfer-encoding",
    b"upgrade",
    b"host",
    b"content-length",
}


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


def normalized_path(path: str) -> str:
    """The path with dot segments removed (RFC 3986 5.2.4) and one leading slash, which is
    what the core will route: "/x/../internal" must be refused as "/internal" is."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    trailing = "/" if path.endswith(("/", "/.", "/..")) and out else ""
    return "/" + "/".join(out) + trailing


def is_internal(path: str) -> bool:
    """The core's loopback routes, however the path is spelt."""
    normal = normalized_path(path)
    return normal == "/internal" or normal.startswith("/internal/")


class CoreProxy:
    def __init__(
        self,
        core_url: str,
        *,
        edge_secret: str = "",
        client_ip: ClientIp | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self.core_url = core_url.rstrip("/")
        self._client: httpx.AsyncClient | None = None
        self._timeout = timeout_s
        self._secret = edge_secret
        self._client_ip = client_ip or ClientIp(())

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.core_url,
                timeout=self._timeout,
                follow_redirects=False,
                # A fresh loopback connection per request: a pooled one the core has just
                # closed (after a 500, at its keep-alive timeout) would fail the next user's
                # request with a 503. Admin traffic is rare enough for the connect (~0.1 ms).
                limits=httpx.Limits(max_keepalive_connections=0),
                # Keep no cookies: a Set-Cookie for one browser must never ride along on
                # another browser's request (each request carries its own Cookie header).
                cookies=http.cookiejar.CookieJar(
                    http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
                ),
            )
        return self._client

    def _own_headers(self) -> dict[str, str]:
        return {EDGE_HEADER: self._secret} if self._secret else {}

    async def get(self, path: str, timeout: float = 2.0) -> httpx.Response:
        """The edge's own calls (health, metrics), vouched for as the edge."""
        return await self.client().get(path, timeout=timeout, headers=self._own_headers())

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is the edge's own; websockets are not served
        if is_internal(scope["path"]):
            await _plain(send, 404, b"not found")
            return
        limit = body_limit(normalized_path(scope["path"]))
        declared = content_length(scope["headers"])
        if declared is not None and declared > limit:
            await send_refusal(send, 413, "body_too_large", f"request body over {limit} bytes")
            return
        if declared is not None and declared > SMALL_BODY and not _has_credentials(scope):
            # Only an authenticated caller may send a large body: don't carry it to the core.
            await send_refusal(
                send,
                401,
                "unauthorized",
                "bearer token or login session required",
                {"WWW-Authenticate": "Bearer"},
            )
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        client = scope.get("client")
        peer = client[0] if client else ""
        forwarded = b",".join(v for k, v in scope["headers"] if k == b"x-forwarded-for")
        address = self._client_ip.resolve(peer, forwarded.decode("latin-1"))
        if self._secret:
            headers.append((EDGE_HEADER.encode(), self._secret.encode()))
            headers.append((CLIENT_HEADER.encode(), address.encode("latin-1", "replace")))
        if declared is not None:
            headers.append((b"content-length", str(declared).encode()))
        # One leading slash: "//host/x" must stay a path on the core, never become a host.
        url = "/" + scope["path"].lstrip("/")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        has_body = declared is not None or any(
            k == b"transfer-encoding" for k, _ in scope["headers"]
        )
        try:
            response = await self.client().request(
                scope["method"],
                url,
                headers=headers,
                content=_body(receive, limit) if has_body else b"",
            )
        except _BodyTooLarge:
            await send_refusal(send, 413, "body_too_large", f"request body over {limit} bytes")
            return
        except _ClientGone:
            return
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


def _has_credentials(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE in value):
            return True
    return False


async def _body(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives, never more than `limit` in all."""
    seen = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            raise _BodyTooLarge
        if chunk:
            yield chunk
        if not message.get("more_body"):
            return


async def _plain(send: Send, status: int, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})
