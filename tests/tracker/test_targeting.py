"""Geo-targeted links, split tests, placements and frequency caps through the real server:
the catalog is created with the admin API, clicks come from addresses in different
provinces and cities (X-Forwarded-For from a trusted proxy) and devices, and the click rows
in ClickHouse say which rule and variant served them."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.server import ServerProcess

# The carrier data `make test-setup` fetches (npm ip2region): 202.106/16 is China Unicom,
# 1.180/16 and 113.96/16 China Telecom.
ISP_DB = Path(__file__).resolve().parents[2] / ".cache" / "geoip" / "ip2region.db"
HOHHOT, BAOTOU, INNER_MONGOLIA = "1.180.10.7", "1.180.10.200", "222.74.0.1"
BEIJING, GUANGZHOU, US = "202.106.0.20", "113.96.77.1", "8.8.8.8"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    env = {"ADTRACK_GEOIP_DB": str(geo_db[0]), "ADTRACK_ISP_DB": str(ISP_DB)}
    proc = ServerProcess(tmp_path_factory.mktemp("targeting"), env)
    yield proc.start()
    proc.stop()


def _post(http: httpx.Client, path: str, body: dict) -> dict:
    response = http.post(f"/api/v1/{path}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict:
    with server.admin() as http:
        adv = _post(http, "advertisers", {"name": "China Mobile"})
        cmp_ = _post(http, "campaigns", {"name": "5G plans", "advertiser_id": adv["id"]})
        _post(http, "partners", {"id": "nmg-portal", "name": "NMG portal"})
        site = _post(
            http,
            "sites",
            {
                "name": "Portal",
                "partner": "nmg-portal",
                "domain": "portal.example.cn",
                "channel": "local_portal",
            },
        )
    return {"advertiser": adv, "campaign": cmp_, "site": site}


def _click(server: ServerProcess, code: str, ip: str, ua: str = IPHONE,
           cookies: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
    with server.client(cookies=cookies) as http:
        return http.get(f"/c/{code}", headers={"X-Forwarded-For": ip, "User-Agent": ua},
                        follow_redirects=False)  # fmt: skip


def _landing(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    parts = urlsplit(response.headers["location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def test_geo_rules_route_each_visitor_and_the_click_says_which_rule(server, world):
    with server.admin() as http:
        link = _post(http, "links", {
            "campaign_id": world["campaign"]["id"], "site_key": world["site"]["site_key"],
            "landing_url": "https://shop.example.cn/national",
            "rules": [
                {"id": "nmg", "targeting": {"regions": ["内蒙古"]},
                 "landing_url": "https://shop.example.cn/nmg"},
                {"id": "hohhot", "targeting": {"regions": ["呼和浩特"]},
                 "landing_url": "https://shop.example.cn/hohhot"},
                {"id": "android-gd", "targeting": {"regions": ["Guangdong"], "os": ["android"]},
                 "landing_url": "https://shop.example.cn/gd-android"},
            ],
            "targeting": {"countries": ["CN"]},
            "fallback_url": "https://shop.example.cn/elsewhere",
        })  # fmt: skip
    assert [r["targeting"]["regions"] for r in link["rules"]] == [
        ["150000"],
        ["150100"],
        ["440000"],
    ]  # names were stored as GB/T 2260 codes
    code = link["code"]
    cases = [
        (HOHHOT, IPHONE, "https://shop.example.cn/hohhot", "hohhot"),  # the city beats the province
        (BAOTOU, IPHONE, "https://shop.example.cn/nmg", "nmg"),
        (INNER_MONGOLIA, WINDOWS, "https://shop.example.cn/nmg", "nmg"),
        (GUANGZHOU, ANDROID, "https://shop.example.cn/gd-android", "android-gd"),
        (GUANGZHOU, IPHONE, "https://shop.example.cn/national", "default"),
        (BEIJING, ANDROID, "https://shop.example.cn/national", "default"),
        (US, IPHONE, "https://shop.example.cn/elsewhere", "fallback"),
    ]
    for ip, ua, expected, _ in cases:
        assert _landing(_click(server, code, ip, ua)) == expected, ip
    rows = server.wait_events(len(cases), link_code=code)
    served = sorted((r["ip"], r["province"], r["route_rule"]) for r in rows)
    assert [r for _, _, r in served].count("hohhot") == 1
    # The loader stored the region codes and carrier the rules decided on.
    places = {r["ip"]: (r["province_code"], r["city_code"], r["isp"]) for r in rows}
    assert places[HOHHOT] == ("150000", "150100", "china_telecom")
    assert places[INNER_MONGOLIA] == ("150000", "", "china_telecom")
    assert places[BEIJING] == ("110000", "110000", "china_unicom")
    assert places[US] == ("", "", "other")
    assert {(ip, rule) for ip, _, _, rule in cases} == {(ip, rule) for ip, _, rule in served}


def test_carrier_and_device_conditions(server, world):
    with server.admin() as http:
        link = _post(http, "links", {
            "campaign_id": world["campaign"]["id"], "site_key": world["site"]["site_key"],
            "landing_url": "https://shop.example.cn/any",
            "rules": [{"id": "unicom", "targeting": {"carriers": ["china_unicom"]},
                       "landing_url": "https://shop.example.cn/unicom"},
                      {"id": "telecom-desktop",
                       "targeting": {"carriers": ["china_telecom"], "devices": ["desktop"]},
                       "landing_url": "https://shop.example.cn/telecom-pc"}],
        })  # fmt: skip
    code = link["code"]
    assert _landing(_click(server, code, BEIJING)) == "https://shop.example.cn/unicom"
    assert (
        _landing(_click(server, code, GUANGZHOU, WINDOWS)) == "https://shop.example.cn/telecom-pc"
    )
    assert _landing(_click(server, code, GUANGZHOU, ANDROID)) == "https://shop.example.cn/any"


def test_without_a_fallback_others_get_the_not_available_page(server, world):
    with server.admin() as http:
        link = _post(http, "links", {
            "campaign_id": world["campaign"]["id"], "site_key": world["site"]["site_key"],
            "landing_url": "https://shop.example.cn/nmg-only",
            "targeting": {"regions": ["150000"], "devices": ["mobile"]},
        })  # fmt: skip
    assert _landing(_click(server, link["code"], HOHHOT)) == "https://shop.example.cn/nmg-only"
    for ip, ua in ((BEIJING, IPHONE), (HOHHOT, WINDOWS)):
        response = _click(server, link["code"], ip, ua)
        assert response.status_code == 200
        assert "Not available in your region" in response.text
        assert "location" not in response.headers
    rows = server.wait_events(3, link_code=link["code"])
    assert Counter(r["route_rule"] for r in rows) == {"default": 1, "unavailable": 2}


def test_a_weighted_split_holds_its_shares_and_sticks_to_the_visitor(server, world):
    with server.admin() as http:
        link = _post(http, "links", {
            "campaign_id": world["campaign"]["id"], "site_key": world["site"]["site_key"],
            "variants": [{"id": "A", "url": "https://shop.example.cn/a", "weight": 3},
                         {"id": "B", "url": "https://shop.example.cn/b", "weight": 1}],
        })  # fmt: skip
    visitors = 400
    first: dict[str, str] = {}
    # One connection for all 440 clicks (a client each cost ~40 ms); each click carries only
    # its own visitor's cookie, never one the jar kept from the previous answer.
    with server.client() as http:

        def click_as(vid: str) -> httpx.Response:
            http.cookies.clear()
            headers = {"X-Forwarded-For": BEIJING, "User-Agent": IPHONE, "Cookie": f"adt_vid={vid}"}
            return http.get(f"/c/{link['code']}", headers=headers, follow_redirects=False)

        for n in range(visitors):
            vid = f"visitor{n:05d}"
            first[vid] = _landing(click_as(vid))
        share_a = sum(url.endswith("/a") for url in first.values()) / visitors
        # 75% expected; 400 draws: sd 2.2 points, so ±8 points fails by chance ~1 in 3,000.
        assert 0.67 <= share_a <= 0.83, share_a
        for vid in list(first)[:40]:  # the same visitor, again: the same variant every time
            assert _landing(click_as(vid)) == first[vid]
    rows = server.wait_events(visitors + 40, link_code=link["code"], limit=1000)
    by_visitor: dict[str, set[str]] = {}
    for row in rows:
        by_visitor.setdefault(row["visitor_id"], set()).add(row["variant"])
    assert all(len(v) == 1 for v in by_visitor.values())
    assert {v for (v,) in by_visitor.values()} == {"A", "B"}
    assert {r["route_rule"] for r in rows} == {"default"}


def test_a_paused_campaign_sends_clicks_to_the_fallback(server, world):
    with server.admin() as http:
        adv = world["advertiser"]["id"]
        body = {"name": "Ended", "advertiser_id": adv, "end_date": "2020-01-31"}
        cmp_ = _post(http, "campaigns", body)
        link = _post(http, "links", {
            "campaign_id": cmp_["id"], "site_key": world["site"]["site_key"],
            "landing_url": "https://shop.example.cn/old", "fallback_url": "https://shop.example.cn/",
        })  # fmt: skip
    assert _landing(_click(server, link["code"], BEIJING)) == "https://shop.example.cn/"
    with server.admin() as http:
        patched = http.patch(f"/api/v1/campaigns/{cmp_['id']}", json={"end_date": None})
        assert patched.status_code == 200, patched.text
    # An edit reaches the edge with its next catalog poll (about a second).
    _until_landing(server, link["code"], "https://shop.example.cn/old")
    with server.admin() as http:
        assert http.patch(f"/api/v1/links/{link['code']}", json={"status": "paused"}).json()[
            "status"] == "paused"  # fmt: skip
    _until_landing(server, link["code"], "https://shop.example.cn/")
    rows = server.events(link_code=link["code"])
    rules = [r["route_rule"] for r in sorted(rows, key=lambda r: r["ts"])]
    assert rules[0] == "paused" and "default" in rules and rules[-1] == "paused", rules
    assert set(rules) == {"paused", "default"}


def _until_landing(server: ServerProcess, code: str, expected: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while (landing := _landing(_click(server, code, BEIJING))) != expected:
        assert time.monotonic() < deadline, landing
        time.sleep(0.2)
    server.wait_drained()


def test_a_placement_serves_targeted_creatives_and_holds_the_frequency_cap(server, world):
    with server.admin() as http:
        capped = _post(http, "campaigns", {"name": "Capped", "frequency_cap": 3,
                                           "advertiser_id": world["advertiser"]["id"],
                                           "targeting": {"regions": ["内蒙古"]}})  # fmt: skip
        creative = _post(http, "creatives", {
            "campaign_id": capped["id"], "name": "Banner", "kind": "image",
            "width": 300, "height": 250, "image_url": "https://cdn.example.cn/b.png",
            "landing_url": "https://shop.example.cn/cap",
        })  # fmt: skip
        placement = _post(http, "placements", {
            "site_key": world["site"]["site_key"], "name": "Home top", "width": 300,
            "height": 250, "campaign_ids": [capped["id"]],
        })  # fmt: skip
    serve = f"/serve/{placement['id']}"
    assert placement["serve_url"].endswith(serve)
    with server.client() as http:
        answers = [
            http.get(serve, params={"vid": "visitor-cap-1"},
                     headers={"X-Forwarded-For": HOHHOT}).json()
            for _ in range(5)
        ]  # fmt: skip
        shown = [a["creative"]["id"] if a["creative"] else None for a in answers]
        assert shown == [creative["id"]] * 3 + [None, None]  # at most 3 a day
        other = http.get(
            serve, params={"vid": "visitor-cap-2"}, headers={"X-Forwarded-For": BAOTOU}
        )
        assert other.json()["creative"]["id"] == creative["id"]  # another visitor: own count
        outside = http.get(serve, params={"vid": "visitor-cap-3"},
                           headers={"X-Forwarded-For": BEIJING})  # fmt: skip
        assert outside.json() == {"creative": None}  # the campaign targets Inner Mongolia
        img = http.get(serve, params={"vid": "visitor-cap-4", "format": "img"},
                       headers={"X-Forwarded-For": HOHHOT}, follow_redirects=False)  # fmt: skip
        assert (img.status_code, img.headers["location"]) == (302, "https://cdn.example.cn/b.png")
        click = http.get(answers[0]["creative"]["click_url"].replace(server.base_url, ""),
                         headers={"X-Forwarded-For": HOHHOT}, follow_redirects=False)  # fmt: skip
        assert _landing(click) == "https://shop.example.cn/cap"
        missing = http.get("/serve/pl_nosuchone", params={"format": "img"})
        assert (missing.status_code, missing.headers["content-type"]) == (200, "image/gif")
        # The iframe document runs in an opaque origin: creative markup never gets ours.
        doc = http.get(serve, params={"vid": "visitor-cap-5", "format": "html"},
                       headers={"X-Forwarded-For": HOHHOT})  # fmt: skip
        empty = http.get("/serve/pl_nosuchone", params={"format": "html"})
        for answer in (doc, empty):
            policy = answer.headers["content-security-policy"].split()
            assert policy[0] == "sandbox" and "allow-same-origin" not in policy
            assert answer.headers["x-content-type-options"] == "nosniff"
        assert "cdn.example.cn/b.png" in doc.text
    rows = server.wait_events(7, placement_id=placement["id"])
    kinds = Counter(r["event_type"] for r in rows)
    assert kinds == {"impression": 6, "click": 1}
    assert {r["creative_id"] for r in rows} == {creative["id"]}
    assert all(r["campaign_id"] == capped["id"] for r in rows)
