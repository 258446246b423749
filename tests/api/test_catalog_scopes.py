"""Who may read and change the catalog, through the real server with each role's API key:
a partner reads only its own partner, sites, placements and links (another's answer 404,
like ids that do not exist); finance reads without secrets and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.tracker.postback import sign
from tests.auth.helpers import api_key, bearer, make_user
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    proc = ServerProcess(tmp_path_factory.mktemp("scopes"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict:
    out: dict = {}
    with server.admin() as http:

        def post(path: str, body: dict) -> dict:
            response = http.post(f"/api/v1/{path}", json=body)
            assert response.status_code == 201, response.text
            return response.json()

        out["adv"] = post("advertisers", {"name": "Shop"})
        out["cmp"] = post("campaigns", {"name": "Q4", "advertiser_id": out["adv"]["id"]})
        for who in ("mine", "theirs"):
            post("partners", {"id": f"p-{who}", "name": who})
            site = post("sites", {"name": who, "partner": f"p-{who}", "domain": f"{who}.cn",
                                  "channel": "community"})  # fmt: skip
            out[f"site_{who}"] = site
            out[f"link_{who}"] = post("links", {"campaign_id": out["cmp"]["id"],
                                                "site_key": site["site_key"],
                                                "landing_url": "https://shop.cn/"})  # fmt: skip
            out[f"pl_{who}"] = post("placements", {"site_key": site["site_key"], "name": "top"})
    keys = {}
    for role in ("media_buyer", "finance", "partner"):
        user = make_user(server, f"scope-{role}", role,
                         partner_id="p-mine" if role == "partner" else None)  # fmt: skip
        keys[role] = api_key(server, user["id"])
    out["keys"] = keys
    return out


def test_a_partner_reads_only_what_is_its_own(server, world):
    with bearer(server, world["keys"]["partner"]) as http:
        assert [p["id"] for p in http.get("/api/v1/partners").json()] == ["p-mine"]
        assert [s["site_key"] for s in http.get("/api/v1/sites").json()] == [
            world["site_mine"]["site_key"]
        ]
        assert [x["code"] for x in http.get("/api/v1/links").json()] == [world["link_mine"]["code"]]
        assert [p["id"] for p in http.get("/api/v1/placements").json()] == [world["pl_mine"]["id"]]
        theirs = [
            f"/api/v1/sites/{world['site_theirs']['site_key']}",
            f"/api/v1/links/{world['link_theirs']['code']}",
            f"/api/v1/placements/{world['pl_theirs']['id']}",
            "/api/v1/partners/p-theirs",
        ]
        for path in theirs:  # the same answer as for an id nobody has
            response = http.get(path)
            assert response.status_code == 404, path
            assert response.json()["detail"]["error"] == "not_found"
        assert http.get(f"/api/v1/links/{world['link_mine']['code']}").status_code == 200
        for path in ("/api/v1/advertisers", "/api/v1/campaigns", "/api/v1/creatives",
                     "/api/v1/audit"):  # fmt: skip
            assert http.get(path).status_code == 403, path
        change = http.patch(f"/api/v1/sites/{world['site_mine']['site_key']}", json={"name": "x"})
        assert change.status_code == 403


def test_finance_reads_without_secrets_and_changes_nothing(server, world):
    with bearer(server, world["keys"]["finance"]) as http:
        [adv] = http.get("/api/v1/advertisers").json()
        assert adv["postback_secret"] == ""
        one = http.get(f"/api/v1/advertisers/{world['adv']['id']}").json()
        assert one["postback_secret"] == ""
        assert len(http.get("/api/v1/sites").json()) == 2
        cmp_path = f"/api/v1/campaigns/{world['cmp']['id']}"
        assert http.patch(cmp_path, json={"status": "paused"}).status_code == 403
        assert http.post("/api/v1/campaigns", json={"name": "x"}).status_code == 403
        assert http.post("/api/v1/import/partners", content=b"id,name\nx,y\n").status_code == 403
    with server.admin() as http:
        assert http.get(cmp_path).json()["status"] == "active"


def test_a_media_buyer_edits_and_the_audit_log_names_them(server, world):
    with bearer(server, world["keys"]["media_buyer"]) as http:
        cmp_path = f"/api/v1/campaigns/{world['cmp']['id']}"
        assert http.patch(cmp_path, json={"frequency_cap": 5}).status_code == 200
        assert http.patch(cmp_path, json={"status": "paused"}).json()["status"] == "paused"
        assert http.patch(cmp_path, json={"status": "active"}).status_code == 200
        history = http.get(f"{cmp_path}/history").json()
        assert [h["action"] for h in history][:3] == ["activate", "pause", "update"]
        assert {h["actor"] for h in history[:3]} == {"scope-media_buyer"}
        assert history[2]["before"]["frequency_cap"] == 0
        assert history[2]["after"]["frequency_cap"] == 5
        assert http.get("/api/v1/users").status_code == 403  # accounts are the admin's


def test_csv_import_is_all_or_nothing(server, world):
    good = "name,partner,domain,channel\nA,p-mine,a.cn,campus\nB,p-mine,b.cn,forum\n"
    bad = good + "C,nosuchpartner,c.cn,campus\nD,p-mine,d.cn,nosuchchannel\n"
    with server.admin() as http:
        before = len(http.get("/api/v1/sites").json())
        refused = http.post("/api/v1/import/sites", content=bad.encode(),
                            headers={"content-type": "text/csv"})  # fmt: skip
        assert refused.status_code == 422
        assert [(e["loc"][1], e["loc"][2]) for e in refused.json()["detail"]] == [
            (4, "partner"), (5, "channel")
        ]  # fmt: skip
        assert len(http.get("/api/v1/sites").json()) == before
        dry = http.post("/api/v1/import/sites?dry_run=true", content=good.encode())
        assert dry.json()["count"] == 2 and len(http.get("/api/v1/sites").json()) == before
        done = http.post("/api/v1/import/sites", content=good.encode())
        assert done.status_code == 200, done.text
        assert [s["domain"] for s in done.json()["created"]] == ["a.cn", "b.cn"]
        assert len(http.get("/api/v1/sites").json()) == before + 2


def test_a_partner_sees_the_visits_its_clicks_brought_to_the_advertiser(server, world):
    with server.admin() as http:
        shop = http.post("/api/v1/sites", json={
            "name": "Shop", "advertiser_id": world["adv"]["id"], "domain": "shop.cn",
            "channel": "owned",
        }).json()  # fmt: skip
    with server.client() as hits:
        # An earlier test paused and re-activated the campaign: the edge's catalog follows
        # within its refresh period (README), so a click a moment later may still be paused.
        deadline = time.monotonic() + 10
        while (click := hits.get(world["link_mine"]["url"].replace(server.base_url, ""),
                                 follow_redirects=False)).status_code != 302:  # fmt: skip
            assert time.monotonic() < deadline, click.text
            time.sleep(0.2)
        landing = click.headers["location"]
        assert hits.get("/p.gif", params={"s": shop["site_key"], "e": "visit",
                                          "url": landing}).status_code == 200  # fmt: skip
        hits.get("/p.gif", params={"s": shop["site_key"], "e": "visit", "url": "https://shop.cn/"})
    server.wait_events(2, site_key=shop["site_key"])
    with bearer(server, world["keys"]["partner"]) as http:
        mine = http.get("/api/v1/events", params={"event_type": "visit"}).json()["events"]
    assert [(e["site_key"], e["partner_id"]) for e in mine] == [(shop["site_key"], "p-mine")]
    other = make_user(server, "scope-other", "partner", partner_id="p-theirs")
    with bearer(server, api_key(server, other["id"])) as http:
        assert http.get("/api/v1/events", params={"event_type": "visit"}).json()["events"] == []


def _click(server: ServerProcess, link: dict) -> str:
    """A click through the link (retried while an earlier test's pause is still in the edge's
    catalog); its click id."""
    deadline = time.monotonic() + 10
    with server.client() as hits:
        while (click := hits.get(link["url"].replace(server.base_url, ""),
                                 follow_redirects=False)).status_code != 302:  # fmt: skip
            assert time.monotonic() < deadline, click.text
            time.sleep(0.2)
    return parse_qs(urlsplit(click.headers["location"]).query)["adt_cid"][0]


def test_a_partner_sees_no_full_address_and_no_advertisers_order_details(server, world):
    site = world["site_mine"]["site_key"]
    click_id = _click(server, world["link_mine"])
    signed = {"cid": click_id, "oid": "SO-PRIVATE", "amt": "99", "sub1": "network-secret"}
    signed["sig"] = sign(signed, world["adv"]["postback_secret"])
    with server.client() as hits:
        assert hits.get("/postback", params=signed).status_code == 200
        assert hits.get("/p.gif", params={"s": site, "sr": "not-a-screen"}).status_code == 200
    server.wait_events(1, event_type="order", order_id="SO-PRIVATE")
    [admin_order] = server.events(event_type="order", order_id="SO-PRIVATE")
    assert (admin_order["ip"], admin_order["amount"]) == ("127.0.0.1", "99.00")
    assert admin_order["props"]["postback_ip"] == "127.0.0.1"
    with server.admin() as http:
        admin_rejects = http.get("/api/v1/rejects", params={"reason": "invalid_field"}).json()
    assert {r["ip"] for r in admin_rejects["rejects"]} == {"127.0.0.1"}

    with bearer(server, world["keys"]["partner"]) as http:
        events = http.get("/api/v1/events", params={"limit": 1000}).json()["events"]
        rejects = http.get("/api/v1/rejects", params={"reason": "invalid_field"}).json()
        refused = http.get("/api/v1/events", params={"device_type": "phone"})
    assert {e["ip"] for e in events} == {"127.0.0.0"}
    [order] = [e for e in events if e["event_type"] == "order"]
    assert (order["click_id"], order["order_status"]) == (click_id, "approved")
    assert (order["order_id"], order["amount"], order["currency"], order["props"]) == (
        "", None, "", {}
    )  # fmt: skip
    assert [r["site_key"] for r in rejects["rejects"]] == [site]
    assert {r["ip"] for r in rejects["rejects"]} == {"127.0.0.0"}
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "device_type"]
