"""The event log on the store (what `adtrack events tail` reads without a server, and the
API's /api/v1/events): every filter keeps exactly the rows a brute-force look at the stored
events keeps, the geo and device columns come back, bad filter values are refused naming the
filter, and a partner's view has no full address and none of the advertiser's order details.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import Refused
from app.geo.device import DEVICE_TYPES
from app.ingest.record import EventIds
from app.store import event_log
from app.store.event_log import PartnerScope
from tests.support.loading import world

HOHHOT, GUANGZHOU, BEIJING = "1.180.10.7", "113.96.77.1", "202.106.0.20"
TRUNCATED = {
    HOHHOT: "1.180.10.0",
    GUANGZHOU: "113.96.77.0",
    BEIJING: "202.106.0.0",
    "2001:da8::1": "2001:da8::",
}
ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
NOW_MS = int(time.time() * 1000)
HOUR_MS = 3600 * 1000


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, geo_db, migrated_template):
    w = world(tmp_path_factory.mktemp("eventlog"), geo_db[0], template=migrated_template)
    ids = EventIds()
    portal, forum = w.sites["national_portal"], w.sites["forum"]
    records = []
    for i in range(36):
        site = (portal, forum, w.landing)[i % 3]
        kind = ("impression", "visit", "order")[i % 3] if site == w.landing else "impression"
        record = {
            "event_id": ids.next(),
            "event_type": kind,
            "site_key": site,
            "ts": NOW_MS - (i % 6) * 12 * HOUR_MS,  # over three days
            "ip": (HOHHOT, GUANGZHOU, BEIJING, "2001:da8::1")[i % 4],
            "user_agent": (ANDROID, WINDOWS)[i % 2],
            "visitor_id": f"v{i % 5}",
            "url": f"https://{site}.example/page?x={i}",
        }
        if kind == "order":
            record.update(order_id=f"SO-{i}", amount="12.50", currency="CNY")
            record["order_status"] = "approved"
        records.append(record)
    assert w.load(records) == len(records)
    yield w
    w.store.close()


def _ts(row: dict) -> datetime:
    return datetime.fromisoformat(row["ts"]).replace(tzinfo=UTC)  # stored in UTC


def _all(store) -> list[dict]:
    return event_log.recent_events(store, {}, 1000, None)


# (filter, the stored column a brute-force look compares, a value to pick from the rows)
_PICKS = {
    "event_type": "event_type",
    "site_key": "site_key",
    "partner_id": "partner_id",
    "device_type": "device_type",
    "os": "os",
    "browser": "browser",
    "province": "province_code",
    "city": "city_code",
}


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_combination_of_filters_keeps_exactly_the_matching_rows(loaded, data):
    everything = _all(loaded.store)
    names = data.draw(st.sets(st.sampled_from(sorted(_PICKS)), max_size=3))
    filters = {}
    for name in names:
        values = sorted({r[_PICKS[name]] for r in everything})
        filters[name] = data.draw(st.sampled_from(values))
    hours = data.draw(st.none() | st.integers(0, 80))
    since = None
    if hours is not None:
        since = datetime.now(UTC) - timedelta(hours=hours)
        filters["since"] = since.isoformat()
    got = event_log.recent_events(loaded.store, filters, 1000, None)
    expected = [
        r
        for r in everything
        if all(r[_PICKS[n]] == filters[n] for n in names) and (since is None or _ts(r) >= since)
    ]
    assert sorted(r["event_id"] for r in got) == sorted(r["event_id"] for r in expected)


def test_a_region_is_a_code_or_the_stored_name_and_since_a_duration(loaded):
    store = loaded.store
    # The geo and device columns the filters match come with every row.
    rows = _all(loaded.store)
    assert len(rows) == 36
    hohhot = next(r for r in rows if r["ip"] == HOHHOT)
    assert (hohhot["province_code"], hohhot["city_code"]) == ("150000", "150100")
    assert hohhot["province"] and hohhot["city"]
    assert {r["device_type"] for r in rows} == {"mobile", "desktop"}
    assert {r["os"] for r in rows} >= {"Android", "Windows"}
    assert {r["browser"] for r in rows} == {"Chrome Mobile", "Firefox"}
    by_code = event_log.recent_events(store, {"city": "150100"}, 1000, None)
    assert by_code and {r["ip"] for r in by_code} == {HOHHOT}
    name = by_code[0]["city"]
    assert event_log.recent_events(store, {"city": name}, 1000, None) == by_code
    recent = event_log.recent_events(store, {"since": "13h"}, 1000, None)
    assert 0 < len(recent) < 36
    assert all(_ts(r) >= datetime.now(UTC) - timedelta(hours=13, minutes=1) for r in recent)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"device_type": "phone"}, "device_type"),
        ({"event_type": "clicks"}, "event_type"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2999-01-01"}, "since"),
        ({"province": "x" * 200}, "province"),
        ({"browser": "Chrome\n"}, "browser"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_filter_value_is_refused_naming_the_filter(loaded, filters, field):
    with pytest.raises(Refused) as caught:
        event_log.recent_events(loaded.store, filters, 10, None)
    assert [f for f, _, _ in caught.value.errors] == [field]


def test_the_device_types_are_the_device_lookups():
    from app.store import event_filters

    assert event_filters.DEVICE_TYPES == DEVICE_TYPES


def test_a_partner_sees_truncated_addresses_and_no_advertisers_order_details(loaded):
    store = loaded.store
    portal = loaded.sites["national_portal"]
    # A partner owning the portal whose partner id the landing site's rows carry (as the
    # visits and orders its clicks brought do): those rows are not its own page's.
    admin = {r["event_id"]: r for r in _all(store)}
    seen = event_log.recent_events(store, {}, 1000, PartnerScope("adv", (portal,)))
    assert {r["site_key"] for r in seen} == {portal, loaded.landing}
    for row in seen:
        full = admin[row["event_id"]]
        assert row["ip"] == TRUNCATED[full["ip"]]
        assert row["province_code"] == full["province_code"]
        if row["site_key"] == loaded.landing:
            assert (row["url"], row["visitor_id"]) == ("", "")
        else:
            assert (row["url"], row["visitor_id"]) == (full["url"], full["visitor_id"])
    orders = [r for r in seen if r["event_type"] == "order"]
    assert orders and all(
        (r["order_id"], r["amount"], r["props"]) == ("", None, {}) for r in orders
    )
    assert all(admin[r["event_id"]]["order_id"].startswith("SO-") for r in orders)
    # Nor may it probe for an order id it is not shown; in-house readers may.
    known = admin[orders[0]["event_id"]]["order_id"]
    with pytest.raises(Refused) as refused:
        event_log.recent_events(store, {"order_id": known}, 10, PartnerScope("adv", (portal,)))
    assert refused.value.errors[0][0] == "order_id"
    assert event_log.recent_events(store, {"order_id": known}, 10, None)


def test_truncated_ip():
    from app.store.partner_view import truncated_ip

    assert truncated_ip("1.180.10.7") == "1.180.10.0"
    assert truncated_ip("2001:da8:1:2:3:4:5:6") == "2001:da8:1::"
    assert truncated_ip("") == ""
