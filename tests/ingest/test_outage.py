"""A tracker started while ClickHouse is unreachable keeps accepting hits; they load later."""

from __future__ import annotations

from tests.support.server import free_port


def test_hits_spool_during_a_store_outage_and_load_on_recovery(make_server, tmp_path):
    data = tmp_path / "data"
    server = make_server(data)
    world = server.seed()
    site, code = world["site"]["site_key"], world["link"]["code"]
    server.stop()

    # Same data dir, but the store is a ClickHouse server that does not answer.
    port = free_port()
    server.env["ADTRACK_CLICKHOUSE_URL"] = f"http://127.0.0.1:{port}/default"
    server.start()
    with server.client() as http:
        health = http.get("/healthz").json()
        assert health["status"] == "ok"  # the tracker itself is fine: hits are durable
        assert health["loader"]["running"] is False and health["loader"]["last_error"]
        for i in range(20):
            assert http.get("/p.gif", params={"s": site, "vid": f"v{i}"}).status_code == 200
        # The catalog came from the copy saved on disk: the link still redirects.
        assert http.get(f"/c/{code}").status_code == 302
        metrics = http.get("/metrics").text
        with server.admin() as admin:
            unavailable = admin.get("/api/v1/events")
    assert "adtrack_spool_bytes 0\n" not in metrics
    assert unavailable.status_code == 503
    assert unavailable.json()["error"] == "store_unavailable"
    # The client learns an incident id; where the store is and what it said stay in the log.
    assert "incident" in unavailable.json()["detail"]
    assert str(port) not in unavailable.text and "ClickHouse" not in unavailable.text
    incident = unavailable.json()["detail"].split("incident ")[1].split(")")[0]
    assert f"store error (incident {incident})" in server.log()
    server.stop()

    del server.env["ADTRACK_CLICKHOUSE_URL"]
    server.start()
    server.wait_drained()
    assert len(server.events(event_type="impression")) == 20
    assert len(server.events(event_type="click")) == 1
