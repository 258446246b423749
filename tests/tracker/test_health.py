"""/healthz answers 503 once the edge's spool cannot be written (a hit cannot be made durable);
a hit that cannot be spooled is never answered as accepted where the answer says so."""

from __future__ import annotations

import re
import resource

import pytest


def _edge_pid(log: str) -> int:
    return int(re.findall(r"edge worker spool \S+ \(pid (\d+)\)", log)[-1])


@pytest.fixture
def fill_disk(server):
    """fill_disk(): from then on the running edge worker may not grow any file (RLIMIT_FSIZE
    0), so every spool write(2) fails with EFBIG as on a full disk, for root too. The limit
    is put back before the server stops."""
    pid = _edge_pid(server.log())
    before = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    yield lambda: resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, before[1]))
    resource.prlimit(pid, resource.RLIMIT_FSIZE, before)


def test_healthz_is_503_when_the_spool_cannot_be_written(server, fill_disk):
    world = server.seed()
    site = world["site"]["site_key"]
    with server.client() as http:
        assert http.get("/p.gif", params={"s": site, "vid": "before"}).status_code == 200
        healthy = http.get("/healthz")
        assert healthy.status_code == 200 and healthy.json()["spool"]["ok"] is True

        fill_disk()
        # The pixel still answers its GIF (a partner's page never breaks); the beacon, whose
        # answer says what was accepted, refuses.
        assert http.get("/p.gif", params={"s": site, "vid": "lost"}).status_code == 200
        beacon = http.post("/e", json={"s": site, "vid": "b1", "events": [{"e": "visit"}]})
        assert beacon.status_code == 503 and beacon.json()["detail"] == "spool not writable"
        health = http.get("/healthz")
        metrics = http.get("/metrics").text
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded"
    assert body["spool"]["ok"] is False and body["edge"]["spool_ok"] is False
    assert re.search(r"^adtrack_spool_errors_total [1-9]", metrics, re.M), metrics
