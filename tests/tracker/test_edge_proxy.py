"""The edge's forward to the core (app/serve/proxy.py) against a real socket upstream that
misbehaves the way a core does after a 500 or at its keep-alive timeout."""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx

from app.serve.proxy import CoreProxy, is_internal, normalized_path
from app.tracker.clientip import ClientIp


class OneAnswerPerConnection:
    """Answers the first request on each connection, then closes the connection when the
    next request arrives on it without answering: a pooled connection the server has given
    up on, which a proxy must never hand to the next user's request."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            self.requests.append(head)
            status = b"500 Internal Server Error" if b"/boom" in head else b"200 OK"
            conn.sendall(b"HTTP/1.1 " + status + b"\r\ncontent-length: 2\r\n\r\nok")
            conn.recv(65536)  # the next request on this connection: dropped unanswered

    def close(self) -> None:
        self.sock.close()


def test_a_connection_the_core_gave_up_on_is_never_reused():
    upstream = OneAnswerPerConnection()
    proxy = CoreProxy(upstream.url, edge_secret="s3cret", client_ip=ClientIp(()))

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=proxy, client=("192.0.2.7", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
            codes = [(await http.get("/boom")).status_code]
            for _ in range(40):
                codes.append((await http.get("/api/v1/sites")).status_code)
        await proxy.aclose()
        return codes

    codes = asyncio.run(run())
    upstream.close()
    assert codes == [500] + [200] * 40
    # The core hears the client's address from the edge, with the edge's secret.
    assert b"x-adtrack-client: 192.0.2.7" in upstream.requests[-1]
    assert b"x-adtrack-edge: s3cret" in upstream.requests[-1]


def test_a_clients_own_vouching_headers_never_reach_the_core():
    upstream = OneAnswerPerConnection()
    proxy = CoreProxy(upstream.url, edge_secret="s3cret", client_ip=ClientIp(()))

    async def run() -> None:
        transport = httpx.ASGITransport(app=proxy, client=("192.0.2.8", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
            forged = {
                "X-Adtrack-Client": "10.0.0.1",
                "X-Adtrack-Edge": "guess",
                "X-Adtrack-Peer": "10.0.0.1",
            }
            await http.get("/api/v1/sites", headers=forged)
        await proxy.aclose()

    asyncio.run(run())
    upstream.close()
    head = upstream.requests[-1].lower()
    assert b"10.0.0.1" not in head and b"guess" not in head
    assert head.count(b"x-adtrack-client:") == 1 and b"x-adtrack-client: 192.0.2.8" in head


def test_internal_paths_are_recognised_however_spelt():
    for path in [
        "/internal/health",
        "/./internal/health",
        "/x/../internal/health",
        "//internal/metrics",
        "/internal/./health",
        "/a/b/../../internal",
        "/../internal/health",
    ]:
        assert is_internal(path), path
    for path in ["/api/v1/internal", "/internals", "/x/internal/health", "/admin"]:
        assert not is_internal(path), path
    assert normalized_path("/api/v1/../v1/sites/") == "/api/v1/sites/"
