"""Pixel, beacon and redirect hits through the real server land as the right `events` rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.tracker.hit_app import GIF
from tests.support.server import ServerProcess

WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002831) NetType/WIFI "
    "Language/zh_CN"
)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
HOHHOT = "1.180.10.7"
BAOTOU = "1.180.10.200"
CHENGDU_V6 = "240e:3a1:1234:5701::1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """One server for the module; each test seeds its own world and reads only its rows."""
    proc = ServerProcess(tmp_path_factory.mktemp("hits"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


@pytest.fixture
def seeded(server: ServerProcess) -> tuple[ServerProcess, dict]:
    return server, server.seed()


def test_pixel_impression_lands_with_geo_device_and_source(seeded):
    server, world = seeded
    site = world["site"]["site_key"]
    with server.client() as http:
        response = http.get(
            "/p.gif",
            params={
                "s": site,
                "e": "impression",
                "c": world["campaign"]["id"],
                "pl": "home-banner",
                "cr": "banner-300x250",
                "vid": "v-1",
                "sr": "390x844",
                "lang": "zh-CN",
                "url": "https://portal.example.cn/news?utm_source=qq&utm_medium=cpc",
            },
            headers={"X-Forwarded-For": f"203.0.113.9, {HOHHOT}", "User-Agent": WECHAT_IPHONE},
        )
    assert response.status_code == 200
    assert response.content == GIF
    assert response.headers["content-type"] == "image/gif"
    assert "no-store" in response.headers["cache-control"]
    # X-Forwarded-For is walked from the right: the last untrusted hop is the client.
    [row] = server.wait_events(1, event_type="impression", site_key=site)
    assert row["site_key"] == site
    assert row["campaign_id"] == world["campaign"]["id"]
    assert row["advertiser_id"] == world["advertiser"]["id"]
    assert (row["placement_id"], row["creative_id"]) == ("home-banner", "banner-300x250")
    assert (row["partner_id"], row["channel"]) == ("nmg-portal", "local_portal")
    assert row["ip"] == HOHHOT
    assert (row["country_code"], row["province"], row["city"]) == ("CN", "内蒙古自治区", "呼和浩特")
    assert (row["browser"], row["os"], row["device_type"], row["is_bot"]) == (
        "WeChat",
        "iOS",
        "mobile",
        0,
    )
    assert (row["utm_source"], row["utm_medium"]) == ("qq", "cpc")
    assert (row["visitor_id"], row["screen"], row["language"]) == ("v-1", "390x844", "zh-CN")
    assert len(row["event_id"]) == 36


def test_pixel_with_bad_input_still_answers_gif_and_only_rejects(seeded):
    server, world = seeded
    site = world["site"]["site_key"]
    before = server.event_counts()
    bad = [
        "s=NOSUCHSITE&e=impression",
        f"s={site}&e=teleport",
        f"s={site}&e=order&amt=12",  # an order without an order id
        f"s={site}&e=order&oid=o1&amt=-5",
        f"s={site}&e=impression&sr=huge",
        f"s={site}&e=impression&url=%ff%fe",  # percent-encoded bytes that are not UTF-8
    ]
    http, agent = server.tagged()
    with http:
        for query in bad:
            response = http.get(f"/p.gif?{query}")
            assert response.status_code == 200 and response.content == GIF, query
        http.get(f"/p.gif?s={site}&n=%C3%28&e=event")  # an invalid 2-byte sequence
        assert http.get(f"/p.gif?s={site}&url=x").status_code == 200  # a good one
    server.wait_events(1, site_key=site)  # the one good pixel above
    after = server.event_counts()
    rejects = server.reject_counts(user_agent=agent)
    assert rejects == {
        "unknown_site": 1,
        "unknown_event_type": 1,
        "missing_field": 1,
        "invalid_field": 2,
        "invalid_utf8": 2,
    }
    assert [r["event_type"] for r in server.events(site_key=site)] == ["impression"]
    # and nothing stored anywhere else: the server's events grew by that one impression
    assert {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)} == {
        "impression": 1
    }


def test_beacon_batch_answers_per_event_and_lands(seeded):
    server, world = seeded
    site = world["site"]["site_key"]
    batch = {
        "s": site,
        "vid": "v-9",
        "sid": "s-1",
        "events": [
            {
                "e": "visit",
                "url": "https://portal.example.cn/?adt_cid=abc-123",
                "ref": "https://www.baidu.com/",
                "pv": "pv1",
                "ts": 1,
            },
            {"e": "event", "n": "signup", "p": {"plan": "basic", "step": 2}, "pv": "pv1"},
            {"e": "order", "oid": "o-77", "amt": "199.9", "cur": "cny"},
            {"e": "order", "amt": "5"},
            {"e": "visit", "s": "NOSUCHSITE"},
            "not an object",
        ],
    }
    with server.client() as http:
        response = http.post(
            "/e",
            content=__import__("orjson").dumps(batch),
            headers={
                "Content-Type": "text/plain;charset=UTF-8",
                "X-Forwarded-For": CHENGDU_V6,
                "User-Agent": CHROME_WINDOWS,
            },
        )
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == [0, 1, 2]
    assert [(r["index"], r["reason"], r["field"]) for r in body["rejected"]] == [
        (3, "missing_field", "oid"),
        (4, "unknown_site", "s"),
        (5, "invalid_field", "events"),
    ]
    assert response.headers["access-control-allow-origin"] == "*"
    rows = {r["event_type"]: r for r in server.wait_events(3, site_key=site)}
    visit, event, order = rows["visit"], rows["event"], rows["order"]
    assert visit["click_id"] == "abc-123"  # taken from adt_cid on the landing URL
    assert visit["referrer"] == "https://www.baidu.com/"
    assert visit["client_ts"] is None  # a client clock far off is dropped, the hit kept
    assert (visit["visitor_id"], visit["session_id"], visit["pageview_id"]) == ("v-9", "s-1", "pv1")
    assert (visit["province"], visit["city"]) == ("四川省", "成都")
    assert (visit["browser"], visit["os"], visit["device_type"]) == ("Chrome", "Windows", "desktop")
    assert event["event_name"] == "signup" and event["props"] == {"plan": "basic", "step": "2"}
    assert (order["order_id"], order["amount"], order["currency"]) == ("o-77", "199.90", "CNY")


def test_beacon_rejects_oversized_and_malformed_batches(seeded):
    server, world = seeded
    site = world["site"]["site_key"]
    before = server.event_counts()
    http, agent = server.tagged()
    with http:
        big = http.post(
            "/e",
            content=b'{"s":"'
            + site.encode()
            + b'","events":['
            + b",".join([b'{"e":"visit","url":"' + b"x" * 2000 + b'"}'] * 40)
            + b"]}",
        )
        many = http.post("/e", json={"s": site, "events": [{"e": "visit"}] * 51})
        not_utf8 = http.post("/e", content=b'{"s":"\xff\xfe","events":[{"e":"visit"}]}')
        not_json = http.post("/e", content=b"{nope")
        preflight = http.options("/e")
    assert big.status_code == 413 and big.json()["error"] == "batch_too_large"
    # The body was left unread, so the server drops the connection: the client is told to
    # send its next request on a new one.
    assert big.headers["connection"] == "close"
    assert many.status_code == 413 and many.json()["field"] == "events"
    assert not_utf8.status_code == 400 and not_utf8.json() == {
        "error": "invalid_utf8",
        "field": "body",
        "detail": "body is not valid UTF-8",
    }
    assert not_json.status_code == 400 and not_json.json()["error"] == "bad_json"
    assert preflight.status_code == 204
    assert server.event_counts() == before  # drained: not one event stored, here or anywhere
    assert server.events(site_key=site) == []
    assert server.reject_counts(user_agent=agent) == {
        "batch_too_large": 2,
        "invalid_utf8": 1,
        "bad_json": 1,
    }


def test_redirect_records_click_and_keeps_landing_params(seeded):
    server, world = seeded
    link = world["link"]
    with server.client() as http:
        response = http.get(
            f"/c/{link['code']}",
            params={"utm_source": "weibo"},
            headers={
                "X-Forwarded-For": BAOTOU,
                "User-Agent": WECHAT_IPHONE,
                "Referer": "https://portal.example.cn/news/1",
            },
        )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "shop.example.com",
        "/landing",
    )
    query = parse_qs(location.query)
    assert query["p"] == ["1"] and query["utm_source"] == ["weibo"]
    click_id = query["adt_cid"][0]
    assert click_id.startswith(link["code"] + "-")
    assert "adt_vid=" in response.headers["set-cookie"]
    [row] = server.wait_events(1, event_type="click", link_code=link["code"])
    assert row["click_id"] == click_id
    assert (row["link_code"], row["campaign_id"], row["site_key"]) == (
        link["code"],
        link["campaign_id"],
        link["site_key"],
    )
    assert (row["placement_id"], row["creative_id"]) == ("home-banner", "banner-300x250")
    assert (row["province"], row["city"]) == ("内蒙古自治区", "包头")
    assert row["referrer"] == "https://portal.example.cn/news/1"
    assert row["utm_source"] == "weibo"
    assert row["visitor_id"]


def test_redirect_never_goes_anywhere_unregistered(seeded):
    server, world = seeded
    code = world["link"]["code"]
    http, agent = server.tagged()
    with http:
        unknown = http.get("/c/NOPE1234")
        # Destination-looking parameters are ignored: only the registered landing URL is used.
        tricky = http.get(
            f"/c/{code}",
            params={"url": "https://evil.example/", "redirect": "https://evil.example/"},
        )
        traversal = http.get(f"/c/{code}/../../evil")
    assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"]
    assert urlsplit(tricky.headers["location"]).netloc == "shop.example.com"
    assert "evil" not in tricky.headers["location"]
    assert traversal.status_code == 404
    with server.admin() as http:
        bad = http.post(
            "/api/v1/links",
            json={
                "campaign_id": world["campaign"]["id"],
                "site_key": world["site"]["site_key"],
                "landing_url": "javascript:alert(1)",
            },
        )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "landing_url"
    server.wait_events(1, event_type="click", link_code=code)
    server.wait_drained()
    assert server.reject_counts(user_agent=agent).get("unknown_link", 0) >= 1


def test_untrusted_peer_cannot_forge_client_ip(make_server):
    server = make_server(ADTRACK_TRUSTED_PROXIES="")
    world = server.seed()
    with server.client() as http:
        http.get(
            "/p.gif", params={"s": world["site"]["site_key"]}, headers={"X-Forwarded-For": HOHHOT}
        )
    [row] = server.wait_events(1)
    assert row["ip"] == "127.0.0.1"
    assert row["province"] == ""


def test_ip_privacy_truncates_after_geo_lookup(make_server):
    server = make_server(ADTRACK_IP_PRIVACY="truncate")
    world = server.seed()
    with server.client() as http:
        http.get(
            "/p.gif", params={"s": world["site"]["site_key"]}, headers={"X-Forwarded-For": BAOTOU}
        )
        http.get(
            "/p.gif",
            params={"s": world["site"]["site_key"]},
            headers={"X-Forwarded-For": CHENGDU_V6},
        )
    rows = {r["city"]: r for r in server.wait_events(2)}
    # 1.180.10.200 is in the Baotou /25; zeroing the last octet alone would say Hohhot.
    assert rows["包头"]["ip"] == "1.180.10.0"
    assert rows["成都"]["ip"] == "240e:3a1:1234::"


def test_beacon_with_wrongly_typed_fields_rejects_per_event(seeded):
    server, world = seeded
    site = world["site"]["site_key"]
    with server.client() as http:
        response = http.post(
            "/e",
            json={
                "s": site,
                "events": [
                    {"e": {"x": 1}},
                    {"e": ["visit"]},
                    {"e": "visit", "n": 5, "d": {}},
                    {"e": "visit", "s": 42},
                    {"e": "visit"},
                ],
            },
        )
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == [4]
    assert [r["index"] for r in body["rejected"]] == [0, 1, 2, 3]


# -- only the catalog's campaigns, placements and creatives (one world for these) ---------
@pytest.fixture(scope="module")
def catalogued(server: ServerProcess) -> tuple[ServerProcess, dict]:
    world = server.seed()
    with server.admin() as http:
        site = world["site"]["site_key"]
        other = http.post(
            "/api/v1/sites",
            json={"name": "Other", "partner": "nmg-portal", "domain": "o.cn", "channel": "forum"},
        ).json()
        world["placement"] = http.post(
            "/api/v1/placements", json={"site_key": site, "name": "top"}
        ).json()
        world["other_placement"] = http.post(
            "/api/v1/placements", json={"site_key": other["site_key"], "name": "top"}
        ).json()
        creative = {"name": "c", "kind": "text", "text": "Buy", "landing_url": "https://s.cn/"}
        world["creative"] = http.post(
            "/api/v1/creatives", json={**creative, "campaign_id": world["campaign"]["id"]}
        ).json()
    return server, world


def test_hits_naming_what_the_catalog_lacks_are_rejected(catalogued):
    """Anyone can call the pixel with any ids: a campaign, placement or creative the catalog
    does not have (for this site, this campaign) goes to rejects, not into the reports."""
    server, world = catalogued
    site, campaign = world["site"]["site_key"], world["campaign"]["id"]
    placement, creative = world["placement"]["id"], world["creative"]["id"]
    good = {"s": site, "e": "impression", "c": campaign}
    cases = {
        "ref-campaign": ({"c": "cmp_nosuchthing"}, "unknown_campaign"),
        "ref-placement": ({"pl": "pl_nosuchthing"}, "unknown_placement"),
        "ref-label": ({"pl": "=HYPERLINK(junk)"}, "unknown_placement"),
        "ref-elsewhere": ({"pl": world["other_placement"]["id"]}, "unknown_placement"),
        "ref-creative": ({"cr": "cr_nosuchthing"}, "unknown_creative"),
        "ref-ok": ({"pl": placement, "cr": creative}, None),
        "ref-link-labels": ({"pl": "home-banner", "cr": "banner-300x250"}, None),
    }
    with server.client() as http:
        for vid, (params, _) in cases.items():
            assert http.get("/p.gif", params={**good, **params, "vid": vid}).content == GIF
        beacon = http.post(
            "/e",
            json={
                "s": site,
                "events": [
                    {"e": "order", "oid": "o-1", "c": campaign, "cr": creative},
                    {"e": "order", "oid": "o-2", "c": "cmp_made_up"},
                    {"e": "visit", "pl": "pl_made_up"},
                ],
            },
        ).json()
    assert beacon["accepted"] == [0]
    assert [(r["index"], r["reason"], r["field"]) for r in beacon["rejected"]] == [
        (1, "unknown_campaign", "c"),
        (2, "unknown_placement", "pl"),
    ]
    server.wait_drained()
    stored = {r["visitor_id"] for r in server.events(event_type="impression", site_key=site)}
    assert stored == {vid for vid, (_, reason) in cases.items() if reason is None}
    rejects = server.rejects()["rejects"]
    for vid, (_, reason) in cases.items():
        if reason is not None:
            assert [r["reason"] for r in rejects if f"vid={vid}" in r["raw"]] == [reason], vid


def test_a_campaign_created_a_moment_ago_is_known_at_once(catalogued):
    server, world = catalogued
    with server.admin() as http:
        made = http.post(
            "/api/v1/campaigns",
            json={"name": "Just now", "advertiser_id": world["advertiser"]["id"]},
        ).json()
    with server.client() as http:
        http.get("/p.gif", params={"s": world["site"]["site_key"], "c": made["id"], "vid": "new"})
    [row] = server.wait_events(1, campaign_id=made["id"])
    assert row["visitor_id"] == "new"
