"""The front door under hostile load: an admin's API latency while 8 threads send random
API-key-shaped bearer keys, and what a 30 MB anonymous body costs the core.

    .venv/bin/python loadtest/probe_guard.py [--seconds 10] [--threads 8]

Starts its own server (embedded engine, temporary data dir) trusting loopback as a proxy,
so the attacker and the admin come from different addresses (X-Forwarded-For), as they
would through a load balancer. Prints a markdown table; sends traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.server import ADMIN_TOKEN, ServerProcess  # noqa: E402

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Forwarded-For": "198.51.100.1"}


def admin_latencies(base: str, seconds: float) -> list[float]:
    took: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base, headers=ADMIN, timeout=10) as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = http.get("/api/v1/sites")
            took.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            time.sleep(0.05)  # a busy dashboard: 20 requests a second, under the rate limit
    return took


def attack(base: str, stop: threading.Event, codes: Counter) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        while not stop.is_set():
            key = "adt_" + secrets.token_urlsafe(32)
            response = http.get("/api/v1/sites", headers={"Authorization": f"Bearer {key}"})
            codes[response.status_code] += 1


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", {"ADTRACK_TRUSTED_PROXIES": "127.0.0.1"})
        server.start()
        try:
            base = server.base_url
            admin_latencies(base, 1)  # warm up
            quiet = admin_latencies(base, args.seconds)
            stop = threading.Event()
            codes: Counter = Counter()
            workers = [
                threading.Thread(target=attack, args=(base, stop, codes))
                for _ in range(args.threads)
            ]
            for worker in workers:
                worker.start()
            loud = admin_latencies(base, args.seconds)
            stop.set()
            for worker in workers:
                worker.join()
            assert server.proc is not None
            before = rss_mb(server.proc.pid)
            huge = b"[" + b"0," * (15 * 1024 * 1024) + b"0]"
            with httpx.Client(base_url=base, timeout=60) as http:
                started = time.perf_counter()
                answer = http.post("/api/v1/users", content=huge,
                                   headers={"Content-Type": "application/json"})  # fmt: skip
                huge_ms = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                chunked = http.post("/api/v1/users", content=iter([huge[i : i + 65536]
                                    for i in range(0, len(huge), 65536)]),
                                    headers={"Content-Type": "application/json"})  # fmt: skip
                chunked_ms = (time.perf_counter() - started) * 1000
            after = rss_mb(server.proc.pid)
        finally:
            server.stop()
    print("| measure | figure |\n|---|---|")
    print(f"| admin GET /api/v1/sites, median, quiet | {statistics.median(quiet):.1f} ms |")
    ratio = statistics.median(loud) / statistics.median(quiet)
    print(
        f"| same, while {args.threads} threads send random keys | "
        f"{statistics.median(loud):.1f} ms (x{ratio:.2f}) |"
    )
    print(f"| attacker's answers | {dict(codes)} |")
    print(f"| 30 MB anonymous JSON, Content-Length | {answer.status_code} in {huge_ms:.0f} ms |")
    print(f"| 30 MB anonymous JSON, chunked | {chunked.status_code} in {chunked_ms:.0f} ms |")
    print(f"| core RSS before / after both | {before:.0f} / {after:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
