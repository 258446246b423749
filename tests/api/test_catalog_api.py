"""The catalog admin API on a real server: create and list, validation, auth, tracked links."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.server import ADMIN_TOKEN, REPO, ServerProcess

LANDING = "https://shop.example.com/landing?p=1#offer"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """One server for the module: these tests only add rows and look for their own."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("catalog-api"), {"ADTRACK_GEOIP_DB": str(geo_db[0])}
    )
    yield proc.start()
    proc.stop()


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict:
    seeded = server.seed(landing_url=LANDING)
    with server.admin() as http:
        for pid in ("imu-bbs", "p1"):
            assert http.post("/api/v1/partners", json={"id": pid, "name": pid}).status_code == 201
    return seeded


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.admin() as http:
        yield http


def _created(http: httpx.Client, path: str, body: dict) -> dict:
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _listed(http: httpx.Client, path: str) -> list[dict]:
    response = http.get(path)
    assert response.status_code == 200, response.text
    return response.json()


# -- create and list ----------------------------------------------------------------------


def test_advertiser_create_and_list(admin):
    adv = _created(admin, "/api/v1/advertisers", {"name": "  内蒙古移动  "})
    assert adv["id"].startswith("adv_")
    assert adv["name"] == "内蒙古移动"  # stripped
    assert len(adv["postback_secret"]) == 64
    assert adv["status"] == "active"
    listed = {a["id"]: a for a in _listed(admin, "/api/v1/advertisers")}
    assert listed[adv["id"]]["name"] == "内蒙古移动"
    assert listed[adv["id"]]["postback_secret"] == adv["postback_secret"]


def test_campaign_create_and_list(admin, world):
    body = {"name": "Broadband Q1", "advertiser_id": world["advertiser"]["id"]}
    cmp_ = _created(admin, "/api/v1/campaigns", body)
    assert cmp_["id"].startswith("cmp_")
    assert cmp_["advertiser_id"] == world["advertiser"]["id"]
    listed = {c["id"]: c for c in _listed(admin, "/api/v1/campaigns")}
    assert listed[cmp_["id"]]["name"] == "Broadband Q1"


def test_site_create_and_list(server, admin, world):
    body = {
        "name": "Campus BBS",
        "partner": " imu-bbs ",
        "domain": "bbs.imu.edu.cn:8443",
        "channel": "campus",
    }
    site = _created(admin, "/api/v1/sites", body)
    assert (site["partner"], site["domain"], site["channel"]) == (
        "imu-bbs",
        "bbs.imu.edu.cn:8443",
        "campus",
    )
    assert f'data-site="{site["site_key"]}"' in site["snippet"]
    assert site["snippet"].startswith(f'<script async src="{server.base_url}/t.js"')
    assert site["pixel"] == f"{server.base_url}/p.gif?s={site['site_key']}&e=impression"
    listed = {s["site_key"]: s for s in _listed(admin, "/api/v1/sites")}
    assert listed[site["site_key"]]["name"] == "Campus BBS"
    assert listed[site["site_key"]]["snippet"] == site["snippet"]


def test_site_slugs_and_domain_are_lowered(admin, world):
    body = {
        "name": "Campus BBS",
        "partner": "IMU-BBS",
        "domain": "BBS.imu.edu.cn",
        "channel": "Campus",
    }
    site = _created(admin, "/api/v1/sites", body)
    assert (site["partner"], site["domain"], site["channel"]) == (
        "imu-bbs",
        "bbs.imu.edu.cn",
        "campus",
    )


def test_link_create_list_and_get(server, admin, world):
    body = {
        "campaign_id": world["campaign"]["id"],
        "site_key": world["site"]["site_key"],
        "landing_url": "https://shop.example.com/plan",
        "placement_id": "sidebar",
    }
    link = _created(admin, "/api/v1/links", body)
    assert link["url"] == f"{server.base_url}/c/{link['code']}"
    assert (link["placement_id"], link["creative_id"]) == ("sidebar", "")
    listed = {x["code"]: x for x in _listed(admin, "/api/v1/links")}
    assert listed[link["code"]]["landing_url"] == "https://shop.example.com/plan"
    got = admin.get(f"/api/v1/links/{link['code']}")
    assert got.status_code == 200
    assert got.json()["url"] == link["url"]
    missing = admin.get("/api/v1/links/nosuchcode")
    assert missing.status_code == 404
    assert missing.json()["detail"]["field"] == "code"


# -- validation ---------------------------------------------------------------------------

SITE = {
    "name": "A site", "partner": "p1", "domain": "a.example.cn", "channel": "national_portal"
}  # fmt: skip


def _link(world: dict, **changes: str) -> dict:
    body = {
        "campaign_id": world["campaign"]["id"],
        "site_key": world["site"]["site_key"],
        "landing_url": "https://shop.example.com/",
    }
    return {**body, **changes}


INVALID = [
    ("advertisers", lambda w: {"name": ""}, "name"),
    ("advertisers", lambda w: {"name": "   "}, "name"),
    ("advertisers", lambda w: {}, "name"),
    ("campaigns", lambda w: {"name": "", "advertiser_id": w["advertiser"]["id"]}, "name"),
    ("campaigns", lambda w: {"name": "C", "advertiser_id": "adv_nosuchone"}, "advertiser_id"),
    ("sites", lambda w: {**SITE, "name": ""}, "name"),
    ("sites", lambda w: {**SITE, "channel": "local portal"}, "channel"),
    ("sites", lambda w: {**SITE, "channel": "-portal"}, "channel"),
    ("sites", lambda w: {**SITE, "partner": "a/b"}, "partner"),
    ("sites", lambda w: {**SITE, "domain": "http://a.example.cn/"}, "domain"),
    ("sites", lambda w: {**SITE, "partner": "nosuchpartner"}, "partner"),
    ("sites", lambda w: {**SITE, "channel": "nosuchchannel"}, "channel"),
    ("partners", lambda w: {"id": "p1", "name": "again"}, "id"),
    ("partners", lambda w: {"id": "Bad Id", "name": "x"}, "id"),
    ("partners", lambda w: {"id": "import", "name": "x"}, "id"),
    ("channels", lambda w: {"id": "c1", "name": "x", "type": "nosuchtype"}, "type"),
    ("links", lambda w: _link(w, placement_id="pl_nosuchone"), "placement_id"),
    ("links", lambda w: _link(w, fallback_url="javascript:x"), "fallback_url"),
    (
        "campaigns",
        lambda w: {"name": "C", "advertiser_id": w["advertiser"]["id"], "timezone": "Mars/Olympus"},
        "timezone",
    ),
    *[
        (
            "campaigns",
            lambda w, tz=tz: {"name": "C", "advertiser_id": w["advertiser"]["id"], "timezone": tz},
            "timezone",
        )
        for tz in ("A" * 300, "right/UTC", "../../etc/passwd")  # a 500 before, for the first
    ],
    (
        "campaigns",
        lambda w: {
            "name": "C",
            "advertiser_id": w["advertiser"]["id"],
            "targeting": {"regions": ["nowhere-land"]},
        },
        "targeting",
    ),
    ("links", lambda w: _link(w, landing_url="javascript:alert(1)"), "landing_url"),
    ("links", lambda w: _link(w, landing_url="ftp://files.example.com/"), "landing_url"),
    ("links", lambda w: _link(w, landing_url="https:///no-host"), "landing_url"),
    ("links", lambda w: _link(w, landing_url="https://shop.example.com/?adt_cid=x"), "landing_url"),
    ("links", lambda w: _link(w, landing_url="https://shop.example.com/a b"), "landing_url"),
    ("links", lambda w: _link(w, campaign_id="cmp_nosuchone"), "campaign_id"),
    ("links", lambda w: _link(w, site_key="nosuchsite"), "site_key"),
]


@pytest.mark.parametrize(
    ("entity", "make_body", "field"),
    INVALID,
    ids=[f"{e}-{f}-{i}" for i, (e, _, f) in enumerate(INVALID)],
)
def test_invalid_input_is_422_naming_the_field(admin, world, entity, make_body, field):
    before = len(_listed(admin, f"/api/v1/{entity}"))
    response = admin.post(f"/api/v1/{entity}", json=make_body(world))
    assert response.status_code == 422, response.text
    locs = [err["loc"] for err in response.json()["detail"]]
    assert any(loc[:2] == ["body", field] for loc in locs), locs
    assert len(_listed(admin, f"/api/v1/{entity}")) == before  # nothing was saved


# -- auth ---------------------------------------------------------------------------------


def _api_routes(server: ServerProcess) -> list[tuple[str, str]]:
    with server.client() as http:
        spec = http.get("/openapi.json").json()
    return sorted(
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    )


def test_openapi_lists_the_admin_routes(server):
    routes = _api_routes(server)
    # The walk below is only as good as this list: it must see the routes we know of.
    for known in [
        ("GET", "/api/v1/advertisers"),
        ("POST", "/api/v1/links"),
        ("GET", "/api/v1/links/{code}"),
        ("GET", "/api/v1/events"),
        ("GET", "/api/v1/rejects"),
        ("GET", "/api/v1/ingest/status"),
    ]:
        assert known in routes


CREDENTIALS = {
    "none": {},
    "wrong token": {"Authorization": "Bearer not-the-token"},
    "bearer, no token": {"Authorization": "Bearer"},
    "basic scheme": {"Authorization": "Basic YWRtaW46dGVzdC1hZG1pbi10b2tlbg=="},
    "token scheme, right token": {"Authorization": f"Token {ADMIN_TOKEN}"},
    "bare right token": {"Authorization": ADMIN_TOKEN},
}


@pytest.mark.parametrize("credentials", list(CREDENTIALS), ids=list(CREDENTIALS))
def test_every_admin_route_needs_the_bearer_token(server, credentials):
    """Walks the app's own route list, so a new /api/v1 route without auth fails here."""
    failures = []
    with server.client(headers=CREDENTIALS[credentials]) as http:
        for method, path in _api_routes(server):
            url = re.sub(r"\{[^}]+\}", "x", path)
            assert "{" not in url, f"give {path} a sample path value here"
            response = http.request(method, url, json={} if method != "GET" else None)
            if response.status_code != 401:
                failures.append(f"{method} {path}: {response.status_code}")
            elif response.headers.get("www-authenticate") != "Bearer":
                failures.append(f"{method} {path}: no WWW-Authenticate: Bearer")
    assert not failures


def test_the_right_token_is_accepted_on_read_routes(server):
    with server.admin() as http:
        for method, path in _api_routes(server):
            if method == "GET" and "{" not in path:
                # Reports and costs need a date range (the invite tree a sharer too); every
                # other read route needs nothing.
                dated = "/stats/" in path or path.endswith("/costs")
                params = {"start": "2026-11-01", "end": "2026-11-01"} if dated else {}
                if path.endswith("/referral/tree"):
                    params["root"] = "v-1"
                assert http.get(path, params=params).status_code == 200, path


# -- tracked links on the hit path ------------------------------------------------------------


def test_tracked_url_redirects_to_the_landing_with_a_click_id(server, world):
    link = world["link"]
    with server.client() as http:
        response = http.get(link["url"], follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    # The landing's own query and fragment stay as they were; adt_cid is added.
    assert location.startswith("https://shop.example.com/landing?p=1&adt_cid=")
    assert location.endswith("#offer")
    click_id = parse_qs(urlsplit(location).query)["adt_cid"][0]
    assert click_id.startswith(f"{link['code']}-")


def test_a_new_link_is_live_on_the_hit_path_at_once(server, admin, world):
    for n in range(3):  # no wait between create and click, several times over
        link = _created(admin, "/api/v1/links", _link(world, landing_url=f"https://x.cn/{n}"))
        with server.client() as http:
            response = http.get(f"/c/{link['code']}", follow_redirects=False)
        assert response.status_code == 302, f"link {n} not live: {response.status_code}"
        assert response.headers["location"].startswith(f"https://x.cn/{n}?adt_cid=")
    [click] = server.wait_events(1, link_code=link["code"])
    assert click["event_type"] == "click"
    assert click["campaign_id"] == world["campaign"]["id"]


# -- CSV out and in ---------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://x","y")'


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=server.env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_csv_exports_neutralise_formula_cells(server, world):
    hit = {"s": world["site"]["site_key"], "e": "impression", "vid": "v-formula",
           "utm_campaign": FORMULA, "utm_source": "@SUM(1+1)", "utm_term": "-2+3",
           "utm_content": "-12.5", "url": "+cmd"}  # fmt: skip
    with server.client() as http:
        assert http.get("/p.gif", params=hit).status_code == 200
    server.wait_events(1, visitor_id="v-formula")
    result = _cli(server, "events", "tail", "--type", "impression", "--limit", "1000", "--csv")
    assert result.returncode == 0, result.stderr
    [row] = [
        r for r in csv.DictReader(io.StringIO(result.stdout)) if r["visitor_id"] == "v-formula"
    ]
    assert (row["utm_campaign"], row["utm_source"], row["utm_term"], row["url"]) == (
        "'" + FORMULA, "'@SUM(1+1)", "'-2+3", "'+cmd")  # fmt: skip
    assert row["utm_content"] == "-12.5"  # a number stays a number
    assert row["event_type"] == "impression"


def test_a_csv_cell_over_the_readers_limit_is_a_422_naming_line_and_column(server, world, tmp_path):
    long = "https://shop.example.com/" + "x" * csv.field_size_limit()
    text = (f"campaign_id,site_key,landing_url\n"
            f"{world['campaign']['id']},{world['site']['site_key']},{long}\n")  # fmt: skip
    with server.admin() as http:
        response = http.post("/api/v1/import/links", content=text.encode())
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", 2, "landing_url"]
    assert "longer than 131,072 characters" in error["msg"]
    # The CLI says the same, through the API.
    path = tmp_path / "links.csv"
    path.write_text(text, "utf-8")
    result = _cli(server, "links", "import", str(path))
    assert result.returncode == 2, result.stderr
    assert "line 2: landing_url" in result.stderr and "131,072" in result.stderr
