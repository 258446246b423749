"""Signed server-to-server postbacks: accepted once, tied to the click, refused when forged."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from app.tracker.postback import normalize, sign, signing_string
from tests.auth.helpers import api_key, bearer, make_user
from tests.support.server import ServerProcess

SHENZHEN = "119.123.4.5"
ANDROID_UC = (
    "Mozilla/5.0 (Linux; U; Android 12; zh-CN; V2134A Build/SP1A.210812.003) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 "
    "UCBrowser/15.3.6.1202 Mobile Safari/537.36"
)


def test_signing_string_sorts_names_and_skips_sig():
    params = {"status": "approved", "cid": "A-1", "amt": "9.90", "sig": "x", "oid": "o 1"}
    assert signing_string(params) == "amt=9.90&cid=A-1&oid=o 1&status=approved"


def test_normalize_maps_network_names_and_drops_unfilled_macros():
    assert normalize(
        {"click_id": "A-1", "payout": "{payout}", "txid": "T9", "currency": "usd", "sub1": "[sub1]"}
    ) == {"cid": "A-1", "oid": "T9", "cur": "usd"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """One server for the module; each test has its own advertiser, link and click."""
    proc = ServerProcess(tmp_path_factory.mktemp("evidence"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


@pytest.fixture
def clicked(shared: ServerProcess) -> tuple[ServerProcess, dict, str]:
    """A seeded catalog and one real click through the tracked link."""
    server = shared
    world = server.seed()
    with server.client() as http:
        response = http.get(
            f"/c/{world['link']['code']}",
            headers={"X-Forwarded-For": SHENZHEN, "User-Agent": ANDROID_UC},
        )
    click_id = parse_qs(urlsplit(response.headers["location"]).query)["adt_cid"][0]
    server.wait_events(1, event_type="click", click_id=click_id)
    return server, world, click_id


def _signed(params: dict[str, str], secret: str) -> dict[str, str]:
    return {**params, "sig": sign(params, secret)}


def test_signed_postback_lands_as_order_tied_to_the_click(clicked):
    server, world, click_id = clicked
    secret = world["advertiser"]["postback_secret"]
    params = _signed(
        {
            "cid": click_id,
            "oid": "ORD-1001",
            "amt": "128.50",
            "cur": "CNY",
            "status": "approved",
            "sub1": "network-a",
        },
        secret,
    )
    with server.client() as http:
        # The advertiser's server calls from its own address; geo/device come from the click.
        response = http.get(
            "/postback",
            params=params,
            headers={"X-Forwarded-For": "8.8.8.8", "User-Agent": "curl/8"},
        )
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    [order] = server.wait_events(1, event_type="order", click_id=click_id)
    assert (order["order_id"], order["amount"], order["currency"], order["order_status"]) == (
        "ORD-1001",
        "128.50",
        "CNY",
        "approved",
    )
    assert order["click_id"] == click_id
    assert order["advertiser_id"] == world["advertiser"]["id"]
    assert (order["campaign_id"], order["link_code"], order["placement_id"]) == (
        world["campaign"]["id"],
        world["link"]["code"],
        "home-banner",
    )
    assert (order["partner_id"], order["channel"]) == ("nmg-portal", "local_portal")
    assert (order["province"], order["city"], order["browser"]) == ("广东省", "深圳", "UC Browser")
    assert order["props"] == {"sub1": "network-a", "postback_ip": "8.8.8.8"}


def test_postback_is_idempotent_on_order_id_and_status(clicked):
    server, world, click_id = clicked
    secret = world["advertiser"]["postback_secret"]
    approved = _signed({"cid": click_id, "oid": "ORD-7", "amt": "50", "status": "approved"}, secret)
    refunded = _signed({"cid": click_id, "oid": "ORD-7", "amt": "50", "status": "refunded"}, secret)
    with server.client() as http:
        first = http.get("/postback", params=approved)
        again = http.get("/postback", params=approved)
        # POST form and JSON bodies are accepted too; a repeat by POST is still a repeat.
        again_post = http.post("/postback", data=approved)
        refund = http.post("/postback", json=refunded)
    assert first.json()["status"] == "accepted"
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again_post.status_code == 200 and again_post.json()["status"] == "duplicate"
    assert refund.json()["status"] == "accepted"
    server.wait_events(2, event_type="order", click_id=click_id)
    server.wait_drained()
    orders = server.events(event_type="order", click_id=click_id)
    assert len(server.events(event_type="order", order_id="ORD-7")) == len(orders)
    statuses = sorted(r["order_status"] for r in orders)
    assert statuses == ["approved", "refunded"]


def test_repeat_postback_after_restart_is_not_stored_twice(make_server, tmp_path):
    server = make_server(tmp_path / "d")
    world = server.seed()
    with server.client() as http:
        location = http.get(f"/c/{world['link']['code']}").headers["location"]
    click_id = parse_qs(urlsplit(location).query)["adt_cid"][0]
    params = _signed(
        {"cid": click_id, "oid": "ORD-R", "amt": "10"}, world["advertiser"]["postback_secret"]
    )
    with server.client() as http:
        assert http.get("/postback", params=params).json()["status"] == "accepted"
    server.wait_events(1, event_type="order")
    server.stop()
    server.start()  # the edge's memory of recent orders is gone; the loader still knows
    with server.client() as http:
        assert http.get("/postback", params=params).status_code == 200
    server.wait_drained()
    assert len(server.events(event_type="order")) == 1
    assert server.rejects(reason="duplicate_order")["by_reason"]["duplicate_order"] == 1


def test_forged_or_malformed_postbacks_are_refused(clicked):
    server, world, click_id = clicked
    secret = world["advertiser"]["postback_secret"]
    good = {"cid": click_id, "oid": "ORD-X", "amt": "10", "status": "approved"}
    tampered = {**_signed(good, secret), "amt": "10000"}
    other_secret = _signed(good, "0" * 64)
    unknown_click = _signed({**good, "cid": "ZZZZZZZZ-abc"}, secret)
    bad_status = _signed({**good, "status": "maybe"}, secret)
    bad_amount = _signed({**good, "amt": "ten"}, secret)
    http, agent = server.tagged()
    with http:
        answers = {
            "tampered": http.get("/postback", params=tampered),
            "other_secret": http.get("/postback", params=other_secret),
            "unsigned": http.get("/postback", params=good),
            "unknown_click": http.get("/postback", params=unknown_click),
            "no_click": http.get("/postback", params={"oid": "x"}),
            "bad_status": http.get("/postback", params=bad_status),
            "bad_amount": http.get("/postback", params=bad_amount),
            "not_utf8": http.get("/postback?cid=%ff&sig=00"),
            "too_large": http.post("/postback", data={**good, "pad": "x" * 17_000}),
            "after_too_large": http.get("/postback", params=good),  # on a new connection
        }
    assert answers["too_large"].headers["connection"] == "close"
    expected = {
        "tampered": (403, "bad_signature", "sig"),
        "other_secret": (403, "bad_signature", "sig"),
        "unsigned": (403, "bad_signature", "sig"),
        "unknown_click": (400, "unknown_click", "cid"),
        "no_click": (400, "missing_field", "cid"),
        "bad_status": (400, "invalid_field", "status"),
        "bad_amount": (400, "invalid_field", "amt"),
        "not_utf8": (400, "invalid_utf8", "query"),
        "too_large": (413, "batch_too_large", "body"),
        "after_too_large": (403, "bad_signature", "sig"),
    }
    for name, (status, error, field) in expected.items():
        body = answers[name].json()
        assert (answers[name].status_code, body["error"], body["field"]) == (
            status,
            error,
            field,
        ), name
    server.wait_drained()
    assert server.events(event_type="order", click_id=click_id) == []
    assert server.events(event_type="order", order_id="ORD-X") == []
    assert server.events(event_type="order", order_id="x") == []
    assert server.reject_counts(user_agent=agent)["bad_signature"] == 4


def test_macro_style_template_from_an_ad_network(clicked):
    """A network fills its own macro names; unfilled macros count as absent."""
    server, world, click_id = clicked
    secret = world["advertiser"]["postback_secret"]
    params = {
        "click_id": click_id,
        "payout": "35.00",
        "transaction_id": "NET-55",
        "currency": "CNY",
        "goal": "{goal}",
    }
    query = urlencode(_signed(params, secret))
    with server.client() as http:
        response = http.get(f"/postback?{query}")
    assert response.status_code == 200, response.text
    [order] = server.wait_events(1, event_type="order", click_id=click_id)
    assert (order["order_id"], order["amount"], order["order_status"]) == (
        "NET-55",
        "35.00",
        "approved",
    )


# -- evidence: a browser's order never pre-empts a signed postback (one click for these) ---
@pytest.fixture(scope="module")
def shared_click(shared: ServerProcess) -> tuple[ServerProcess, dict, str]:
    world = shared.seed()
    with shared.client() as http:
        location = http.get(f"/c/{world['link']['code']}").headers["location"]
    click_id = parse_qs(urlsplit(location).query)["adt_cid"][0]
    shared.wait_events(1, event_type="click", click_id=click_id)
    return shared, world, click_id


def _rejects_of(server: ServerProcess, reason: str, needle: str) -> list[dict]:
    return [r for r in server.rejects(reason=reason)["rejects"] if needle in r["raw"]]


def _wait_rejects(server: ServerProcess, reason: str, needle: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = _rejects_of(server, reason, needle)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"expected {count} {reason} rejects naming {needle}")


def test_a_forged_browser_order_does_not_pre_empt_the_signed_postback(shared_click):
    """The probe's attack: anyone who clicked reports the order first from a page (pixel,
    guessed order id, 0.01); the advertiser's signed postback for it (500.00) is still
    stored, as signed evidence, and its answer says so; a page's report after it adds
    nothing."""
    server, world, click_id = shared_click
    site = world["site"]["site_key"]
    forged = {"s": site, "e": "order", "cid": click_id, "oid": "SO-GUESSED", "amt": "0.01"}
    with server.client() as http:
        assert http.get("/p.gif", params=forged).status_code == 200
    server.wait_events(1, event_type="order", order_id="SO-GUESSED")  # stored first
    signed = _signed(
        {"cid": click_id, "oid": "SO-GUESSED", "amt": "500.00", "status": "approved"},
        world["advertiser"]["postback_secret"],
    )
    with server.client() as http:
        answer = http.get("/postback", params=signed)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["evidence"]) == ("accepted", "postback")
    rows = server.wait_events(2, event_type="order", order_id="SO-GUESSED")
    assert sorted((r["order_source"], r["amount"]) for r in rows) == [
        ("browser", "0.01"),
        ("postback", "500.00"),
    ]
    [paid] = [r for r in rows if r["order_source"] == "postback"]
    assert (paid["advertiser_id"], paid["click_id"]) == (world["advertiser"]["id"], click_id)
    # A page's report after the signed one (a reload, or the attacker again) is a duplicate.
    with server.client() as http:
        http.get("/p.gif", params={**forged, "amt": "999.00"})
    _wait_rejects(server, "duplicate_order", "999.00", 1)
    assert len(server.events(event_type="order", order_id="SO-GUESSED")) == 2


def test_a_signed_postback_must_name_a_click_this_tracker_issued(shared_click):
    server, world, click_id = shared_click
    secret = world["advertiser"]["postback_secret"]
    code = world["link"]["code"]
    # Well formed, the link's own code, a tail of the right length: never issued.
    never_issued = f"{code}-{secrets.token_urlsafe(24)}"
    assert len(never_issued) == len(click_id)
    # The shape of a click id issued before they carried a MAC: only the store can tell.
    legacy = f"{code}-{secrets.token_urlsafe(12)}"
    with server.client() as http:
        refused = http.get(
            "/postback", params=_signed({"cid": never_issued, "oid": "SO-N"}, secret)
        )
        queued = http.get("/postback", params=_signed({"cid": legacy, "oid": "SO-L"}, secret))
    assert refused.status_code == 400
    assert (refused.json()["error"], refused.json()["field"]) == ("unknown_click", "cid")
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "queued"
    # The loader looks the legacy click up, finds nothing, and says so in rejects.
    [reject] = _wait_rejects(server, "unknown_click", legacy, 1)
    assert reject["endpoint"] == "loader"
    server.wait_drained()
    assert server.events(event_type="order", order_id="SO-N") == []
    assert server.events(event_type="order", order_id="SO-L") == []


def test_a_partner_never_sees_what_the_postback_carried(shared_click):
    server, world, click_id = shared_click
    signed = _signed(
        {"cid": click_id, "oid": "SO-PROPS", "amt": "10", "sub1": "network-secret"},
        world["advertiser"]["postback_secret"],
    )
    with server.client() as http:
        response = http.get("/postback", params=signed, headers={"X-Forwarded-For": "8.8.8.8"})
    assert response.status_code == 200, response.text
    [order] = server.wait_events(1, event_type="order", order_id="SO-PROPS")
    assert order["props"] == {"sub1": "network-secret", "postback_ip": "8.8.8.8"}  # in-house
    partner = make_user(server, "evidence-partner", "partner", partner_id="nmg-portal")
    with bearer(server, api_key(server, partner["id"])) as http:
        orders = http.get(
            "/api/v1/events", params={"click_id": click_id, "event_type": "order"}
        ).json()["events"]
        seen = [e for e in orders if e["event_id"] == order["event_id"]]  # the click is shared
        probe = http.get("/api/v1/events", params={"order_id": "SO-PROPS"})
    # Found by its click, shown without the order id, which is the advertiser's (issue 14);
    # nor may the partner search by one.
    assert probe.status_code == 422 and probe.json()["detail"][0]["loc"] == ["query", "order_id"]
    assert [(e["order_id"], e["amount"], e["props"]) for e in seen] == [("", None, {})]
    assert seen[0]["order_source"] == "postback"
