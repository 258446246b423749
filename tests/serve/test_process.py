"""`adtrack` as processes: a bad setting stops `adtrack serve` naming the variable, and with
ADTRACK_LOADER_IN_PROCESS=false hits wait in the spool for an `adtrack loader` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from app.ingest.spool import spool_depth
from tests.support.server import REPO, free_port

ADTRACK = [sys.executable, "-m", "app.cli"]  # the `adtrack` entry point, this checkout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ADTRACK_PORT", "notaport"),
        ("ADTRACK_IP_PRIVACY", "bogus"),
        ("ADTRACK_SPOOL_FSYNC_MS", "-1"),
        ("ADTRACK_TRUSTED_PROXIES", "10.0.0.0/99"),
        ("ADTRACK_CLICKHOUSE_URL", "mysql://reader:hunter2secret@db.example.cn/adtrack"),
    ],
)
def test_a_bad_setting_stops_serve_naming_the_variable(tmp_path, variable, value):
    data_dir = tmp_path / "data"
    port = free_port()
    env = {**os.environ, "ADTRACK_DATA_DIR": str(data_dir), "ADTRACK_PORT": str(port)}
    env[variable] = value
    done = subprocess.run(
        [*ADTRACK, "serve"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert variable in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "hunter2secret" not in done.stderr  # a URL's password stays out of the log
    # It stopped before anything started: not even the data directory was made.
    assert not data_dir.exists()


def test_a_loader_process_loads_what_a_server_without_one_spooled(make_server, tmp_path):
    data = tmp_path / "data"
    server = make_server(data, ADTRACK_LOADER_IN_PROCESS="false")
    world = server.seed()
    site, code = world["site"]["site_key"], world["link"]["code"]
    with server.client() as http:
        for i in range(10):
            assert http.get("/p.gif", params={"s": site, "vid": f"v{i}"}).status_code == 200
        assert http.get(f"/c/{code}").status_code == 302
        time.sleep(1.0)  # ten segment lengths: an in-process loader would have loaded them
        health = http.get("/healthz").json()
    assert health["loader"]["running"] is False
    assert health["spool"]["bytes"] > 0
    assert server.events() == []
    server.stop()
    assert spool_depth(data / "spool")[1] > 0

    # On the embedded engine one process opens the store: the loader runs while no server does.
    loader = subprocess.Popen(
        [*ADTRACK, "loader"],
        cwd=REPO,
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while spool_depth(data / "spool")[1] and time.monotonic() < deadline:
            assert loader.poll() is None, loader.communicate()[0]
            time.sleep(0.1)
    finally:
        loader.send_signal(signal.SIGTERM)
        output = loader.communicate(timeout=30)[0]
    assert spool_depth(data / "spool") == (0, 0), output
    assert loader.returncode == 0, output
    assert "loader running on" in output

    # Back without a loader of its own: what it reads, the loader process stored.
    server.start()
    impressions = server.events(event_type="impression")
    assert sorted(r["visitor_id"] for r in impressions) == sorted(f"v{i}" for i in range(10))
    assert [r["link_code"] for r in server.events(event_type="click")] == [code]
