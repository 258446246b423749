"""Field validation: a pure function that never raises and never lets unknown data through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ingest.reasons import RejectReason
from app.tracker.fields import _TEXT_FIELDS, VISITOR_ID, Invalid, validate_event
from app.tracker.pixel import PIXEL_TYPES

EVENT_COLUMNS = {
    "event_type", "site_key", "event_name", "campaign_id", "placement_id", "creative_id",
    "click_id", "visitor_id", "session_id", "pageview_id", "url", "referrer", "screen",
    "language", "order_id", "utm_source", "utm_medium", "utm_campaign", "utm_term",
    "utm_content", "amount", "currency", "order_status", "duration_ms", "client_ts", "props",
}  # fmt: skip
KEYS = st.sampled_from(
    [
        "e",
        "s",
        "n",
        "c",
        "pl",
        "cr",
        "cid",
        "vid",
        "sid",
        "pv",
        "url",
        "ref",
        "sr",
        "lang",
        "oid",
        "amt",
        "cur",
        "d",
        "ts",
        "p",
        "utm_source",
        "zz",
    ]
)
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.lists(st.integers(), max_size=2),
)


@given(st.dictionaries(KEYS, VALUES, max_size=12))
def test_validate_event_never_raises_and_keeps_to_known_columns(params):
    result = validate_event(
        params, allowed_types=PIXEL_TYPES, default_type="impression", now_ms=1_700_000_000_000
    )
    if isinstance(result, Invalid):
        assert isinstance(result.reason, RejectReason) and result.field and result.detail
        return
    assert set(result) <= EVENT_COLUMNS
    assert result["event_type"] in PIXEL_TYPES
    assert isinstance(result["site_key"], str) and result["site_key"]
    for key, value in result.items():
        if key == "props":
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        elif key not in ("duration_ms", "client_ts"):
            assert isinstance(value, str), key


def test_orders_need_an_id_and_get_a_currency():
    base = {"e": "order", "s": "S"}
    missing = validate_event(base, allowed_types=PIXEL_TYPES, default_type=None, now_ms=0)
    assert isinstance(missing, Invalid) and missing.field == "oid"
    ok = validate_event(
        {**base, "oid": "o1", "amt": "12.345"},
        allowed_types=PIXEL_TYPES,
        default_type=None,
        now_ms=0,
    )
    assert ok["amount"] == "12.35" and ok["currency"] == "CNY"  # half-up to cents


# A good value of every field that has a pattern; the same value with a trailing newline
# must be refused (a pattern ending in `$` would accept it).
GOOD = {
    "n": "signup.done",
    "cid": "abc-123",
    "vid": "v.1:2",
    "ref_id": "v.1:2",
    "sid": "s:1",
    "pv": "p:1",
    "sr": "390x844",
    "lang": "zh-CN",
    "cur": "USD",
}


@pytest.mark.parametrize("key", sorted(GOOD))
def test_field_patterns_refuse_a_trailing_newline(key):
    base = {"e": "event", "s": "S", "n": "x"}
    checked = {"allowed_types": PIXEL_TYPES, "default_type": None, "now_ms": 0}
    assert not isinstance(validate_event({**base, key: GOOD[key]}, **checked), Invalid)
    for bad in (GOOD[key] + "\n", GOOD[key] + "\r\n", "\n" + GOOD[key]):
        refused = validate_event({**base, key: bad}, **checked)
        assert isinstance(refused, Invalid) and refused.field == key, (key, bad)
    assert VISITOR_ID.match("v1") and not VISITOR_ID.match("v1\n")  # redirect's ?vid= test


def test_every_field_pattern_has_a_good_value_above():
    assert {k for k, (_, _, pattern) in _TEXT_FIELDS.items() if pattern} | {"cur"} == set(GOOD)


def test_a_served_slots_visitor_id_matches_the_whole_value():
    from app.tracker.ad_serving import _VID

    assert _VID.match("abcdefgh")
    for bad in ("abcdefgh\n", "abcdefgh\r\n", "\nabcdefgh", "abc"):
        assert not _VID.match(bad), repr(bad)
