"""A server killed with SIGKILL mid-burst keeps every hit it acknowledged, whether it fsyncs
before answering (ADTRACK_SPOOL_FSYNC_MS=0) or on a timer (the default 200 ms)."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.tracker.hit_app import GIF


@pytest.mark.parametrize(
    ("http_server", "fsync_ms"),
    # Both servers with fsync before answering; the default timer once (the write() before
    # the answer is what survives a killed process, whatever the fsync interval).
    [("granian", "0"), ("uvicorn", "0"), ("granian", "200")],
)
def test_sigkill_mid_burst_loses_no_acknowledged_hit(make_server, tmp_path, http_server, fsync_ms):
    server = make_server(
        tmp_path / "data",
        ADTRACK_SPOOL_FSYNC_MS=fsync_ms,
        ADTRACK_SPOOL_SEGMENT_MS="150",
        ADTRACK_HTTP_SERVER=http_server,
    )
    world = server.seed()
    site, code = world["site"]["site_key"], world["link"]["code"]
    acked_visitors: set[str] = set()
    acked_clicks: set[str] = set()
    lock = threading.Lock()

    def pixels(worker: int) -> None:
        with httpx.Client(base_url=server.base_url, timeout=5) as http:
            for i in range(150):
                vid = f"w{worker}-{i}"
                try:
                    response = http.get("/p.gif", params={"s": site, "vid": vid})
                except httpx.HTTPError:
                    return
                if response.status_code == 200 and response.content == GIF:
                    with lock:
                        acked_visitors.add(vid)

    def clicks() -> None:
        with httpx.Client(base_url=server.base_url, timeout=5) as http:
            for _ in range(150):
                try:
                    response = http.get(f"/c/{code}")
                except httpx.HTTPError:
                    return
                if response.status_code == 302:
                    click_id = parse_qs(urlsplit(response.headers["location"]).query)["adt_cid"]
                    with lock:
                        acked_clicks.add(click_id[0])

    threads = [threading.Thread(target=pixels, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=clicks) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acked_visitors) + len(acked_clicks) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    for thread in threads:
        thread.join()
    _assert_port_freed(server.port)
    total_acked = len(acked_visitors) + len(acked_clicks)
    assert total_acked >= 200
    assert total_acked < 900, "the kill should land mid-burst"

    server.start()
    server.wait_drained(timeout=30)
    impressions = server.events(event_type="impression")
    click_rows = server.events(event_type="click")
    stored_visitors = {r["visitor_id"] for r in impressions}
    stored_clicks = {r["click_id"] for r in click_rows}
    assert acked_visitors <= stored_visitors
    assert acked_clicks <= stored_clicks
    # Nothing counted twice: one row per hit, replay or not.
    assert len(impressions) == len(stored_visitors)
    assert len(click_rows) == len(stored_clicks)
    all_ids = [r["event_id"] for r in impressions + click_rows]
    assert len(all_ids) == len(set(all_ids))


def _assert_port_freed(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"something still listens on {port} after the core died")


@pytest.mark.parametrize("http_server", ["granian", "uvicorn"])
def test_several_edge_workers_feed_one_store(make_server, tmp_path, http_server):
    """Each worker appends to its own spool directory; the one loader loads them all."""
    server = make_server(
        tmp_path / "multi", ADTRACK_EDGE_WORKERS="3", ADTRACK_HTTP_SERVER=http_server
    )
    world = server.seed()
    site = world["site"]["site_key"]

    def burst(worker: int) -> None:
        # A fresh connection per request spreads them over the worker processes.
        for i in range(60):
            httpx.get(f"{server.base_url}/p.gif", params={"s": site, "vid": f"m{worker}-{i}"})

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.wait_drained()
    rows = server.events(event_type="impression")
    assert len(rows) == 240
    assert len({r["event_id"] for r in rows}) == 240
    server.kill()  # the core: every edge worker must go with it, freeing the port
    _assert_port_freed(server.port)
    writers = {
        line.split("edge worker spool ")[1].split()[0]
        for line in server.log().splitlines()
        if "edge worker spool " in line
    }
    assert len(writers) == 3


def test_a_crashed_edge_is_restarted_and_its_hits_kept(make_server, tmp_path):
    import os
    import signal

    server = make_server(tmp_path / "edge-crash")
    world = server.seed()
    site = world["site"]["site_key"]
    with httpx.Client(base_url=server.base_url, timeout=5) as http:
        for i in range(20):
            assert http.get("/p.gif", params={"s": site, "vid": f"before-{i}"}).status_code == 200
    edge_pid = int(server.log().split("edge worker spool ")[-1].split("(pid ")[1].split(")")[0])
    os.kill(edge_pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    answered = 0
    while time.monotonic() < deadline and answered < 20:
        try:
            response = httpx.get(
                f"{server.base_url}/p.gif",
                params={"s": site, "vid": f"after-{answered}"},
                timeout=2,
            )
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        answered += response.status_code == 200
    assert answered == 20, "the core did not bring the edge back"
    server.wait_drained()
    visitors = {r["visitor_id"] for r in server.events(event_type="impression")}
    assert {f"before-{i}" for i in range(20)} <= visitors
    assert {f"after-{i}" for i in range(20)} <= visitors
