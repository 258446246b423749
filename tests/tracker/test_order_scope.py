"""Signed orders on one server: scoped per advertiser (two advertisers' postbacks with the
same order id are two orders; a repeat within one is still one), and a network's status
words stored as our four statuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.tracker.postback import sign
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    proc = ServerProcess(
        tmp_path_factory.mktemp("order-scope"), {"ADTRACK_GEOIP_DB": str(geo_db[0])}
    ).start()
    yield proc
    proc.stop()


def _second_advertiser(server: ServerProcess, site_key: str) -> dict:
    """Another advertiser with its own campaign and link on the same partner site."""
    with server.admin() as http:
        adv = http.post("/api/v1/advertisers", json={"name": "Unicom Shop"}).json()
        cmp_ = http.post(
            "/api/v1/campaigns", json={"name": "Broadband", "advertiser_id": adv["id"]}
        ).json()
        link = http.post(
            "/api/v1/links",
            json={
                "campaign_id": cmp_["id"],
                "site_key": site_key,
                "landing_url": "https://unicom.example.cn/broadband",
            },
        ).json()
    return {"advertiser": adv, "link": link}


def _click(server: ServerProcess, code: str) -> str:
    with server.client() as http:
        response = http.get(f"/c/{code}")
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["location"]).query)["adt_cid"][0]


def _postback(server: ServerProcess, click_id: str, secret: str, amount: str) -> dict:
    params = {"cid": click_id, "oid": "SO-1001", "amt": amount, "status": "approved"}
    with server.client() as http:
        response = http.get("/postback", params={**params, "sig": sign(params, secret)})
    assert response.status_code == 200, response.text
    return response.json()


def test_two_advertisers_with_the_same_order_id_both_get_their_order(server):
    first = server.seed()
    second = _second_advertiser(server, first["site"]["site_key"])
    click_a = _click(server, first["link"]["code"])
    click_b = _click(server, second["link"]["code"])

    secret_a = first["advertiser"]["postback_secret"]
    assert _postback(server, click_a, secret_a, "128.50")["status"] == "accepted"
    server.wait_drained()  # the first order is in the store when the second is loaded
    answer_b = _postback(server, click_b, second["advertiser"]["postback_secret"], "66.00")
    assert answer_b["status"] == "accepted"
    # Within one advertiser the same order id and status is still one order.
    assert _postback(server, click_a, secret_a, "128.50")["status"] == "duplicate"
    server.wait_drained()

    orders = [o for o in server.events(event_type="order") if o["order_id"] == "SO-1001"]
    stored = sorted((o["advertiser_id"], o["order_id"], o["amount"], o["click_id"]) for o in orders)
    assert stored == sorted(
        [
            (first["advertiser"]["id"], "SO-1001", "128.50", click_a),
            (second["advertiser"]["id"], "SO-1001", "66.00", click_b),
        ]
    )
    assert {o["order_source"] for o in orders} == {"postback"}
    assert server.rejects(reason="duplicate_order")["rejects"] == []


STATUS_WORDS = [
    ("status", "confirmed", "approved"),
    ("state", "1", "approved"),
    ("state", "hold", "pending"),
    ("status", "0", "pending"),
    ("state", "chargeback", "refunded"),
    ("status", "rejected", "cancelled"),
    ("state", "declined", "cancelled"),
    ("status", "-1", "cancelled"),
]


def test_a_networks_status_words_are_stored_as_our_statuses(server):
    world = server.seed()
    secret = world["advertiser"]["postback_secret"]
    click_id = _click(server, world["link"]["code"])
    with server.client() as http:
        for n, (name, word, _) in enumerate(STATUS_WORDS):
            params = {"cid": click_id, "oid": f"W-{n}", "amt": "10", name: word}
            response = http.get("/postback", params={**params, "sig": sign(params, secret)})
            assert response.status_code == 200, response.text
    server.wait_drained()
    stored = {
        o["order_id"]: o["order_status"]
        for o in server.events(event_type="order")
        if o["order_id"].startswith("W-")
    }
    assert stored == {f"W-{n}": status for n, (_, _, status) in enumerate(STATUS_WORDS)}
