"""The front door of the core, through a real server: who the client is (one rule on the edge
and the core), body limits before parsing, credentials before parsing, rate limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.auth.helpers import form_token, make_user
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def untrusted(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """A server that trusts no proxy, as a fresh install does: X-Forwarded-For is noise."""
    env = {"ADTRACK_GEOIP_DB": str(geo_db[0]), "ADTRACK_TRUSTED_PROXIES": ""}
    proc = ServerProcess(tmp_path_factory.mktemp("guard"), env)
    yield proc.start()
    proc.stop()


def _login_attempt(http: httpx.Client, username: str, password: str, **headers: str) -> int:
    page = http.get("/login", headers=headers)
    data = {"username": username, "password": password, "csrf_token": form_token(page.text)}
    return http.post("/login", data=data, headers=headers).status_code


def test_a_forged_forwarded_for_never_escapes_the_login_throttle(untrusted):
    make_user(untrusted, "carol", "media_buyer")
    answers = []
    with untrusted.client() as http:
        for n in range(30):
            forged = {"X-Forwarded-For": f"203.0.113.{n}"}
            answers.append(_login_attempt(http, "carol", "wrong password", **forged))
        right = _login_attempt(http, "carol", "correct horse battery", **forged)
    assert answers[:5] == [401] * 5
    assert set(answers[5:]) == {429}  # the address is the TCP peer, whatever the header says
    assert right == 429


def test_the_core_believes_only_the_edge_about_the_client(untrusted):
    """The core's loopback port, reached directly with the edge's own header names but no
    per-start secret: those headers are ignored (the loopback peer is the client)."""
    core_url = _core_url(untrusted)
    make_user(untrusted, "dave", "media_buyer")
    with httpx.Client(base_url=core_url, timeout=10) as http:
        for n in range(6):
            headers = {
                "X-Adtrack-Client": f"198.51.100.{n}",
                "X-Adtrack-Edge": "guessed",
                "X-Adtrack-Peer": f"198.51.100.{n}",
                "X-Forwarded-For": f"198.51.100.{n}",
            }
            status = _login_attempt(http, "dave", "wrong password", **headers)
    assert status == 429
    with httpx.Client(base_url=core_url, timeout=10) as http:
        assert (
            http.get("/internal/health", headers={"X-Adtrack-Edge": "guessed"}).status_code == 404
        )


def _core_url(server: ServerProcess) -> str:
    """The core's loopback address: `adtrack serve` hands it to the edge it starts as
    ADTRACK_CORE_URL (the server process is the core; the edge is its child)."""
    assert server.proc is not None
    pid = server.proc.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        for value in environ:
            if value.startswith(b"ADTRACK_CORE_URL="):
                return value.split(b"=", 1)[1].decode()
    raise AssertionError("no edge process with ADTRACK_CORE_URL")


def test_an_anonymous_huge_body_is_refused_before_it_is_read(untrusted):
    huge = b"[" + b"0," * (15 * 1024 * 1024) + b"0]"  # 30 MB of JSON
    with untrusted.client() as http:
        started = time.monotonic()
        users = http.post("/api/v1/users", content=huge,
                          headers={"Content-Type": "application/json"})  # fmt: skip
        imports = http.post("/api/v1/import/sites", content=huge[: 20 * 1024 * 1024],
                            headers={"Content-Type": "text/csv"})  # fmt: skip
        elapsed = time.monotonic() - started
        # Chunked (no Content-Length): the same limits while it streams.
        chunked = http.post("/api/v1/users", content=iter([b"[" + b"0," * 700_000] * 2),
                            headers={"Content-Type": "application/json"})  # fmt: skip
        with untrusted.admin() as admin:
            big_write = admin.post("/api/v1/users", content=huge[: 2 * 1024 * 1024],
                                   headers={"Content-Type": "application/json"})  # fmt: skip
            csv = b"name,partner,domain\n" + (b"x" * 1000 + b",y,z\n") * 1200
            big_import = admin.post("/api/v1/import/sites", params={"dry_run": "true"},
                                    content=csv, headers={"Content-Type": "text/csv"})  # fmt: skip
    assert users.status_code == 413  # over the route's limit: refused by the edge unread
    assert imports.status_code == 401  # an import route: credentials first, body never read
    assert chunked.status_code in (401, 413)
    assert elapsed < 5
    assert big_write.status_code == 413 and big_write.json()["detail"]["error"] == "body_too_large"
    assert big_import.status_code == 422  # 1.2 MB of CSV is read (and its rows judged)


def test_random_bearer_keys_are_throttled_per_address_before_the_store(untrusted):
    with untrusted.client() as http:
        answers = [
            http.get("/api/v1/sites", headers={"Authorization": f"Bearer adt_{n:043d}"})
            for n in range(25)
        ]
        # The right key from the same address now waits too: the address is throttled.
        with untrusted.admin() as admin:
            blocked = admin.get("/api/v1/sites")
    codes = [a.status_code for a in answers]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert blocked.status_code == 429


def test_requests_are_rate_limited_per_address(make_server):
    server = make_server(ADTRACK_API_RATE_PER_S="2", ADTRACK_API_BURST="10")
    with server.client() as http:
        codes = [http.get("/login").status_code for _ in range(15)]
        refused = http.get("/login")
    assert codes[:10] == [200] * 10 and 429 in codes[10:]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    time.sleep(float(refused.headers["retry-after"]))
    with server.client() as http:
        assert http.get("/login").status_code == 200
