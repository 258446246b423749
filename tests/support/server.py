"""A real adtrack server process (uvicorn) on a free port with its own data directory."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token"
# A "trusted proxy" in tests is the loopback peer, so tests can set X-Forwarded-For.
TRUSTED = "127.0.0.1,::1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ADTRACK_DATA_DIR": str(data_dir),
            "ADTRACK_PORT": str(self.port),
            "ADTRACK_ADMIN_TOKEN": ADMIN_TOKEN,
            "ADTRACK_TRUSTED_PROXIES": TRUSTED,
            "ADTRACK_SPOOL_SEGMENT_MS": "100",
            "ADTRACK_LOADER_POLL_MS": "50",
            "ADTRACK_CATALOG_REFRESH_S": "0.5",
            # No timed rollup refreshes: a tick racing a test's hits would leave a day
            # computed before its last events (tests refresh on demand).
            "ADTRACK_ROLLUP_INTERVAL_S": "0",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    # -- process control ----------------------------------------------------------------
    def start(self, timeout: float = 60) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (lives as long as the process)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    # -- HTTP -----------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10, **kwargs)

    def admin(self) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        with self.admin() as http:
            response = http.get("/api/v1/events", params={"limit": 1000, **filters})
            response.raise_for_status()
            return response.json()["events"]

    def rejects(self, **filters: Any) -> dict[str, Any]:
        with self.admin() as http:
            response = http.get("/api/v1/rejects", params={"limit": 1000, **filters})
            response.raise_for_status()
            return response.json()

    def wait_events(self, count: int, timeout: float = 20, **filters: Any) -> list[dict]:
        """Poll until at least `count` events match (the loader runs asynchronously)."""
        deadline = time.monotonic() + timeout
        rows: list[dict] = []
        while time.monotonic() < deadline:
            rows = self.events(**filters)
            if len(rows) >= count:
                return rows
            time.sleep(0.1)
        raise AssertionError(f"expected {count} events for {filters}, found {len(rows)}")

    def reject_counts(self, **match: str) -> dict[str, int]:
        """Rejects by reason, counting only rows whose columns equal `match` (a test's own
        `user_agent`, `ip` or `site_key`): on a shared server a test counts its own."""
        rows = self.rejects()["rejects"]
        assert len(rows) < 1000, "more rejects than one page: the count would be partial"
        mine = [r for r in rows if all(r[key] == value for key, value in match.items())]
        return dict(Counter(r["reason"] for r in mine))

    def event_counts(self) -> dict[str, int]:
        """Events stored by type once the spool is drained. On a shared server, read before
        and after a step: the difference is that step's (its module's tests run in turn)."""
        return self.wait_drained()["events_by_type"]

    def wait_drained(self, timeout: float = 20) -> dict[str, Any]:
        """Until the spool is empty (everything acknowledged by ClickHouse)."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            with self.admin() as http:
                status = http.get("/api/v1/ingest/status").json()
            if status["spool"]["bytes"] == 0:
                return status
            time.sleep(0.1)
        raise AssertionError(f"spool not drained: {status}")

    def tagged(self) -> tuple[httpx.Client, str]:
        """A client whose requests carry a user agent no other test sends, and that agent:
        the rejects it causes are `reject_counts(user_agent=agent)`."""
        agent = f"adtrack-tests/{secrets.token_hex(6)}"
        return self.client(headers={"User-Agent": agent}), agent

    # -- catalog --------------------------------------------------------------------------
    def seed(self, landing_url: str = "https://shop.example.com/landing?p=1") -> dict[str, Any]:
        """An advertiser, a campaign, a partner site and a tracked link, via the admin API."""
        with self.admin() as http:
            adv = http.post("/api/v1/advertisers", json={"name": "China Mobile Shop"}).json()
            cmp_ = http.post(
                "/api/v1/campaigns", json={"name": "Data plan Q4", "advertiser_id": adv["id"]}
            ).json()
            http.post("/api/v1/partners", json={"id": "nmg-portal", "name": "Hohhot Portal Co."})
            site = http.post(
                "/api/v1/sites",
                json={
                    "name": "Hohhot City Portal",
                    "partner": "nmg-portal",
                    "domain": "portal.example.cn",
                    "channel": "local_portal",
                },
            ).json()
            link = http.post(
                "/api/v1/links",
                json={
                    "campaign_id": cmp_["id"],
                    "site_key": site["site_key"],
                    "landing_url": landing_url,
                    "placement_id": "home-banner",
                    "creative_id": "banner-300x250",
                },
            ).json()
        return {"advertiser": adv, "campaign": cmp_, "site": site, "link": link}
