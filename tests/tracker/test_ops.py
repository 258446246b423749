"""Health and Prometheus metrics of a running server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """One server for the module (the admin-token test starts its own fresh one)."""
    proc = ServerProcess(tmp_path_factory.mktemp("ops"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


def _metric(text: str, name: str, labels: str = "", default: float | None = None) -> float:
    """A sample's value; `default` for one not yet exported (a counter before its first hit)."""
    pattern = re.escape(name + (("{" + labels + "}") if labels else "")) + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.M)
    if match is None and default is not None:
        return default
    assert match, f"{name}{{{labels}}} not in metrics"
    return float(match.group(1))


def _scrape(server: ServerProcess) -> str:
    server.wait_drained()
    with server.client() as http:
        response = http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_metrics_count_hits_rejects_spool_and_inserts(server):
    world = server.seed()
    site = world["site"]["site_key"]
    # The module's server is shared: each counter is compared with its value before the hits.
    before = _scrape(server)
    with server.client() as http:
        for _ in range(3):
            http.get("/p.gif", params={"s": site})
        http.get("/p.gif", params={"s": "nope"})
        http.get(f"/c/{world['link']['code']}")
    server.wait_events(4, site_key=site)
    text = _scrape(server)

    def grown(name: str, labels: str = "") -> float:
        return _metric(text, name, labels) - _metric(before, name, labels, default=0)

    assert grown("adtrack_hits_total", 'type="impression"') == 3
    assert grown("adtrack_hits_total", 'type="click"') == 1
    assert grown("adtrack_rejects_total", 'reason="unknown_site",stage="edge"') == 1
    assert grown("adtrack_loaded_rows_total", 'table="events"') == 4
    assert grown("adtrack_loaded_rows_total", 'table="rejects"') == 1
    assert _metric(text, "adtrack_spool_bytes") == 0
    assert grown("adtrack_inserts_total") >= 2
    assert grown("adtrack_insert_seconds_total") > 0
    assert grown("adtrack_enrich_seconds_total", 'step="put_geo"') > 0
    assert "# TYPE adtrack_spool_segments gauge" in text


def test_healthz_reports_spool_and_loader(server):
    with server.client() as http:
        response = http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["spool"]["ok"] is True
    assert body["loader"] == {"running": True, "last_error": None}


def test_admin_token_is_generated_once_and_kept(make_server, tmp_path):
    data = tmp_path / "fresh"
    server = make_server(data, ADTRACK_ADMIN_TOKEN="")
    token = (data / "admin_token").read_text().strip()
    assert len(token) >= 32
    # Where it is, never what it is: the log goes to service logs.
    assert f"generated admin token, stored in {data / 'admin_token'}" in server.log()
    assert token not in server.log()
    with server.client(headers={"Authorization": f"Bearer {token}"}) as http:
        assert http.get("/api/v1/sites").status_code == 200
        made = http.post("/api/v1/advertisers", json={"name": "Secretive"})
        assert made.status_code == 201
    # The data directory holds the store, postback secrets and the token: this user's only.
    assert (data / "catalog.json").exists()
    modes = {p.name: p.stat().st_mode & 0o777 for p in (data, data / "clickhouse")}
    assert modes == {"fresh": 0o700, "clickhouse": 0o700}
    for secret in ("catalog.json", "admin_token"):
        assert (data / secret).stat().st_mode & 0o777 == 0o600, secret
    server.stop()
    server.start()
    assert (data / "admin_token").read_text().strip() == token
    assert server.log().count("generated admin token") == 1


def test_public_port_forwards_the_api_but_never_internal_routes(server):
    with server.client() as http:
        docs = http.get("/docs")
        assets = http.get("/docs/assets/swagger-ui-bundle.js")
        redoc = http.get("/redoc")
        spec = http.get("/openapi.json")
        internal = [
            http.get(p)
            for p in (
                "/internal/health",
                "/internal/metrics",
                "/internal/../internal/health",
                "/./internal/health",
                "/%2e/internal/health",
                "/x/../internal/health",
                "//internal/health",
            )
        ]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # Swagger UI from our own origin (a pinned package): no third-party script on the page.
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', docs.text)
    styles = re.findall(r'<link[^>]+href="([^"]+)"', docs.text)
    assert scripts and all(url.startswith("/docs/assets/") for url in scripts + styles)
    assert assets.status_code == 200 and "SwaggerUIBundle" in assets.text
    assert redoc.status_code == 404  # ReDoc would load its script from a CDN
    assert "/api/v1/links" in spec.json()["paths"]
    assert all(r.status_code == 404 for r in internal)
    assert not any(p.startswith("/internal") for p in spec.json()["paths"])
