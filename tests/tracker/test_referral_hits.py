"""Referral and click-visitor fields through the real server: a share link's sharer (`ref_id`)
lands in `events.referrer_id`, a malformed one is rejected with its reason, and a tracked
link tagged with the page's `vid` records the click for that visitor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from app.tracker.hit_app import GIF
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """One server for the module; each test seeds its own site and link."""
    proc = ServerProcess(tmp_path_factory.mktemp("referral"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


def test_sharer_lands_in_referrer_id_and_a_bad_one_is_rejected(server):
    world = server.seed()
    site = world["site"]["site_key"]
    http, agent = server.tagged()
    with http:
        pixel = http.get(
            "/p.gif",
            params={"s": site, "e": "visit", "vid": "friend-1", "ref_id": "sharer.A-1", "pv": "p1"},
        )
        bad_pixel = http.get(
            "/p.gif", params={"s": site, "e": "visit", "vid": "friend-2", "ref_id": "x y"}
        )
        beacon = http.post(
            "/e",
            content=orjson.dumps(
                {
                    "s": site,
                    "vid": "friend-3",
                    "events": [
                        {"e": "visit", "ref_id": "sharer.A-1", "pv": "p3"},
                        {"e": "visit", "ref_id": "s" * 129},
                        {"e": "visit", "ref_id": "<script>"},
                        {"e": "event", "n": "share", "p": {"medium": "wechat"}},
                    ],
                }
            ),
        )
    assert pixel.content == GIF and bad_pixel.content == GIF  # the page never breaks
    assert beacon.status_code == 200
    body = beacon.json()
    assert body["accepted"] == [0, 3]
    assert [(r["index"], r["reason"], r["field"]) for r in body["rejected"]] == [
        (1, "field_too_long", "ref_id"),
        (2, "invalid_field", "ref_id"),
    ]
    server.wait_events(3, site_key=site)
    server.wait_drained()
    assert server.reject_counts(user_agent=agent) == {"invalid_field": 2, "field_too_long": 1}
    mine = [r for r in server.rejects()["rejects"] if r["user_agent"] == agent]
    assert {r["field"] for r in mine} == {"ref_id"}
    rows = sorted(
        (r["visitor_id"], r["event_type"], r["referrer_id"]) for r in server.events(site_key=site)
    )
    assert rows == [
        ("friend-1", "visit", "sharer.A-1"),
        ("friend-3", "event", ""),
        ("friend-3", "visit", "sharer.A-1"),
    ]


def test_a_tagged_link_records_the_click_for_the_pages_visitor(server):
    world = server.seed()
    code = world["link"]["code"]
    with server.client() as http:
        tagged = http.get(f"/c/{code}", params={"utm_source": "qq", "vid": "page-visitor_1"})
        bad = http.get(f"/c/{code}", params={"vid": "no spaces allowed"})
    assert tagged.status_code == 302 and bad.status_code == 302
    # The page's id wins over the tracker's cookie: none is set, and none is needed.
    assert "set-cookie" not in tagged.headers
    assert "adt_vid=" in bad.headers["set-cookie"]  # a bad vid: the cookie, as before
    for response in (tagged, bad):
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert "vid" not in query  # never forwarded to the landing page
    landing = parse_qs(urlsplit(tagged.headers["location"]).query)
    assert landing["utm_source"] == ["qq"] and landing["p"] == ["1"]
    clicks = {r["click_id"]: r for r in server.wait_events(2, event_type="click", link_code=code)}
    assert clicks[landing["adt_cid"][0]]["visitor_id"] == "page-visitor_1"
    cookie_id = bad.headers["set-cookie"].split("adt_vid=", 1)[1].split(";", 1)[0]
    bad_cid = parse_qs(urlsplit(bad.headers["location"]).query)["adt_cid"][0]
    assert clicks[bad_cid]["visitor_id"] == cookie_id


def test_click_visitor_prefers_a_valid_vid_over_the_cookie():
    from app.tracker.redirect import click_visitor

    headers: list = []
    assert click_visitor("vid=abc.DEF_1-2:3", "adt_vid=cookie1", headers) == "abc.DEF_1-2:3"
    assert click_visitor("utm_source=qq&vid=v1", "", headers) == "v1" and headers == []
    for bad in ("vid=", "vid=a%20b", "vid=" + "x" * 129, "vid=%3Cscript%3E", "xvid=1"):
        assert click_visitor(bad, "adt_vid=cookie1", headers) == "cookie1", bad
    assert headers == []
    fresh = click_visitor("vid=bad%00", "", headers)  # no cookie either: a new id, set
    assert fresh and headers and headers[0][0] == b"set-cookie"
