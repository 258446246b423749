"""A constant-rate (open-loop) HTTP/1.1 load generator, for p99 at a fixed request rate.

Debian has no wrk2 and wrk cannot hold a rate, so this stands in for `wrk2 -R`: requests are
scheduled at fixed intervals and each latency is measured from the moment the request was
*due*, not from when a free connection sent it, so a stalled server is not hidden by the
generator waiting for it (coordinated omission, as wrk2 corrects it). The send lag (sent
minus due) is reported separately: it is the generator's own error.

    python loadtest/rategen.py --url http://127.0.0.1:8080/p.gif?... --rate 5000 --duration 10

Prints one JSON object. Meant to run pinned to its own core (`taskset -c 1`), where it may
busy-poll the event loop between requests to keep the schedule to the microsecond.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import sys
import time
from urllib.parse import urlsplit

# Busy-poll within this long of the next due time (seconds); sleeping longer lets the vCPU
# idle, and waking an idle vCPU costs milliseconds on some VMs.
SPIN_S = float(os.environ.get("RATEGEN_SPIN_S", "0.002"))


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight (no pipelining)."""

    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.due = 0.0
        self.sent = 0.0
        self.busy = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, due: float) -> None:
        self.due = due
        self.sent = time.perf_counter()
        self.busy = True
        self.transport.write(self.gen.request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else None].strip())
            total = end + 4 + length
            if len(self.buf) < total:
                return
            status = int(head[9:12])
            del self.buf[:total]
            self.busy = False
            self.gen.completed(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.gen.lost(self)


class Generator:
    def __init__(
        self, host: str, port: int, request: bytes, rate: float, duration: float, connections: int
    ) -> None:
        self.host, self.port = host, port
        self.request = request
        self.rate = rate
        self.duration = duration
        self.n_conns = connections
        self.idle: collections.deque[Connection] = collections.deque()
        self.pending: collections.deque[float] = collections.deque()  # due times not yet sent
        self.latency: list[float] = []  # due -> response, seconds
        self.service: list[float] = []  # sent -> response
        self.send_lag: list[float] = []  # due -> sent
        self.statuses: collections.Counter[int] = collections.Counter()
        self.conns: list[Connection] = []
        self.errors = 0
        self.reconnects = 0
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None

    async def connect(self) -> Connection:
        _, conn = await self.loop.create_connection(  # type: ignore[union-attr]
            lambda: Connection(self), self.host, self.port
        )
        self.conns.append(conn)
        return conn

    def dispatch(self, conn: Connection) -> None:
        if self.pending and not self.stopping:
            due = self.pending.popleft()
            conn.send(due)
            self.send_lag.append(conn.sent - due)
        else:
            self.idle.append(conn)

    def completed(self, conn: Connection, status: int) -> None:
        now = time.perf_counter()
        self.latency.append(now - conn.due)
        self.service.append(now - conn.sent)
        self.statuses[status] += 1
        self.dispatch(conn)

    def lost(self, conn: Connection) -> None:
        if conn.busy:
            self.errors += 1
        if self.stopping:
            return
        # The server closed an idle keep-alive connection: replace it.
        if conn in self.idle:
            self.idle.remove(conn)
        self.reconnects += 1
        self.loop.create_task(self._replace())  # type: ignore[union-attr]

    async def _replace(self) -> None:
        try:
            conn = await self.connect()
        except OSError:
            self.errors += 1
            return
        self.dispatch(conn)

    async def run(self) -> dict:
        self.loop = asyncio.get_running_loop()
        for _ in range(self.n_conns):
            self.idle.append(await self.connect())
        interval = 1.0 / self.rate
        start = time.perf_counter() + 0.05
        end = start + self.duration
        issued = 0
        while True:
            now = time.perf_counter()
            if now >= end:
                break
            due_count = int((now - start) * self.rate) + 1 if now >= start else 0
            while issued < due_count:
                self.pending.append(start + issued * interval)
                issued += 1
            while self.pending and self.idle:
                conn = self.idle.popleft()
                if conn.closed:
                    continue
                self.dispatch(conn)
            wait = start + issued * interval - time.perf_counter()
            # Sleep through long gaps; busy-poll (one loop turn, I/O included) near a due time.
            await asyncio.sleep(wait - 0.001 if wait > SPIN_S else 0)
        unsent = len(self.pending)
        self.pending.clear()
        # Let the requests in flight finish (counted: the server may have stored them).
        deadline = time.perf_counter() + 5
        while any(c.busy and not c.closed for c in self.conns) and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        in_flight = sum(1 for c in self.conns if c.busy and not c.closed)
        self.stopping = True
        for conn in self.conns:
            if conn.transport is not None:
                conn.transport.close()
        done = len(self.latency)
        return {
            "target_rate": self.rate,
            "duration_s": self.duration,
            "connections": self.n_conns,
            "scheduled": issued,
            "completed": done,
            "achieved_rate": round(done / self.duration, 1),
            "unsent_at_end": unsent,
            "in_flight_at_end": in_flight,
            "errors": self.errors,
            "reconnects": self.reconnects,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "latency_ms": _percentiles(self.latency),
            "service_ms": _percentiles(self.service),
            "send_lag_ms": _percentiles(self.send_lag),
        }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    last = len(ordered) - 1

    def at(q: float) -> float:
        return round(ordered[min(last, int(q * len(ordered)))] * 1000, 3)

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "p999": at(0.999),
        "max": round(ordered[-1] * 1000, 3),
    }


def build_request(url: str, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += headers
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("-H", "--header", action="append", default=[])
    args = parser.parse_args(argv)
    host, port, request = build_request(args.url, args.header)
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
        loop_name = "asyncio"
    else:
        runner = uvloop.run
        loop_name = "uvloop"
    gen = Generator(host, port, request, args.rate, args.duration, args.connections)
    result = runner(gen.run())
    result["loop"] = loop_name
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
