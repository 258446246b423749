"""Targeting specs, matchers and link routing as pure functions: normalisation with clear
errors, the most specific rule wins, sticky splits, campaign flights and time windows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.catalog.entities import Campaign, Link
from app.catalog.service import resolve_region
from app.geo.device import os_family
from app.targeting.compile import CITY, COUNTRY, PROVINCE, Visitor, compile_targeting
from app.targeting.routing import compile_link
from app.targeting.spec import TargetingError, normalize
from app.targeting.split import Weighted, bucket

HOHHOT = Visitor("CN", "150000", "150100", "mobile", "ios", "china_mobile")
BAOTOU = Visitor("CN", "150000", "150200", "desktop", "windows", "china_unicom")
BEIJING = Visitor("CN", "110000", "110000", "mobile", "android", "china_telecom")
ABROAD = Visitor("US", "", "", "desktop", "macos", "")
# 2026-11-24 is a Tuesday; 10:30 in Shanghai is 02:30 UTC.
TUESDAY_1030_CST = int(datetime(2026, 11, 24, 2, 30, tzinfo=UTC).timestamp() * 1000)


def test_names_become_codes_and_enums_are_normalised():
    spec = normalize(
        {"regions": ["内蒙古", "呼和浩特", "Hohhot", "150000"], "countries": ["cn"],
         "devices": ["Mobile"], "os": ["iOS"], "weekdays": [5, 1, 1], "hours": [[14, 18], [9, 12]],
         "exclude_regions": [], "carriers": ["china_mobile"]},
        resolve_region,
    )  # fmt: skip
    assert spec == {
        "countries": ["CN"], "regions": ["150000", "150100"], "devices": ["mobile"],
        "os": ["ios"], "carriers": ["china_mobile"], "weekdays": [1, 5],
        "hours": [[9, 12], [14, 18]],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"regions": ["Atlantis"]}, "regions.0"),
        ({"regions": "150000"}, "regions"),
        ({"countries": ["China"]}, "countries.0"),
        ({"devices": ["phone"]}, "devices.0"),
        ({"weekdays": [0]}, "weekdays.0"),
        ({"weekdays": [True]}, "weekdays.0"),
        ({"hours": [[18, 9]]}, "hours.0"),
        ({"hours": [[0, 25]]}, "hours.0"),
        ({"provinces": ["150000"]}, "provinces"),
        ({"carriers": ["China Mobile"]}, "carriers.0"),
    ],
)
def test_a_bad_spec_names_the_field(spec, field):
    with pytest.raises(TargetingError) as caught:
        normalize(spec, resolve_region, where="targeting.")
    assert caught.value.field == f"targeting.{field}"


def test_specificity_city_over_province_over_country():
    regions = compile_targeting({"regions": ["150000", "150100"]})
    assert regions.match(HOHHOT, TUESDAY_1030_CST) == CITY
    assert regions.match(BAOTOU, TUESDAY_1030_CST) == PROVINCE
    assert regions.match(BEIJING, TUESDAY_1030_CST) is None
    assert compile_targeting({"countries": ["CN"]}).match(BEIJING, TUESDAY_1030_CST) == COUNTRY
    excluded = compile_targeting({"countries": ["CN"], "exclude_regions": ["150100"]})
    assert excluded.match(HOHHOT, TUESDAY_1030_CST) is None
    assert excluded.match(BAOTOU, TUESDAY_1030_CST) == COUNTRY
    assert compile_targeting({"regions": ["150000"]}).match(ABROAD, TUESDAY_1030_CST) is None


def test_time_windows_use_the_campaign_time_zone():
    office = {"weekdays": [1, 2, 3, 4, 5], "hours": [[9, 12]]}
    assert compile_targeting(office, "Asia/Shanghai").match(HOHHOT, TUESDAY_1030_CST) == 0
    # 02:30 on a Tuesday in London: outside 9-12.
    assert compile_targeting(office, "Europe/London").match(HOHHOT, TUESDAY_1030_CST) is None
    weekend = compile_targeting({"weekdays": [6, 7]}, "Asia/Shanghai")
    assert weekend.match(HOHHOT, TUESDAY_1030_CST) is None


def _link(**fields) -> Link:
    return Link(code="abc12345", campaign_id="cmp_1", site_key="s1",
                landing_url="https://x.cn/default", **fields)  # fmt: skip


def _campaign(**fields) -> Campaign:
    return Campaign(id="cmp_1", advertiser_id="adv_1", name="c", **fields)


RULES = [
    {"id": "nmg", "targeting": {"regions": ["150000"]}, "landing_url": "https://x.cn/nmg",
     "variants": []},
    {"id": "hohhot", "targeting": {"regions": ["150100"]}, "landing_url": "https://x.cn/hohhot",
     "variants": []},
    {"id": "mobile", "targeting": {"devices": ["mobile"]}, "landing_url": "https://x.cn/m",
     "variants": []},
]  # fmt: skip


def test_the_most_specific_matching_rule_wins_then_the_first_listed():
    route = compile_link(_link(rules=RULES), _campaign())
    decide = lambda v: route.decide(lambda: v, "vid", TUESDAY_1030_CST)  # noqa: E731
    assert decide(HOHHOT)[:2] == ("https://x.cn/hohhot", "hohhot")
    assert decide(BAOTOU)[:2] == ("https://x.cn/nmg", "nmg")
    assert decide(BEIJING)[:2] == ("https://x.cn/m", "mobile")
    assert decide(ABROAD)[:2] == ("https://x.cn/default", "default")


def test_gates_send_others_to_the_fallback_or_the_unavailable_page():
    gated = compile_link(_link(targeting={"regions": ["150000"]}, fallback_url="https://x.cn/fb"),
                         _campaign())  # fmt: skip
    assert gated.decide(lambda: BEIJING, "v", TUESDAY_1030_CST) == (
        "https://x.cn/fb",
        "fallback",
        "",
    )
    bare = compile_link(_link(), _campaign(targeting={"devices": ["desktop"]}))
    assert bare.decide(lambda: HOHHOT, "v", TUESDAY_1030_CST) == (None, "unavailable", "")
    assert bare.decide(lambda: BAOTOU, "v", TUESDAY_1030_CST)[1] == "default"


def test_a_link_without_visitor_conditions_never_looks_the_visitor_up():
    route = compile_link(_link(), _campaign())
    assert not route.needs_visitor

    def explode() -> Visitor:
        raise AssertionError("looked up")

    assert route.decide(explode, "v", TUESDAY_1030_CST)[1] == "default"


def test_flight_dates_and_status():
    ended = compile_link(
        _link(fallback_url="https://x.cn/fb"), _campaign(end_date=date(2026, 11, 23))
    )
    assert ended.decide(lambda: HOHHOT, "v", TUESDAY_1030_CST) == ("https://x.cn/fb", "paused", "")
    today = compile_link(
        _link(), _campaign(start_date=date(2026, 11, 24), end_date=date(2026, 11, 24))
    )
    assert today.decide(lambda: HOHHOT, "v", TUESDAY_1030_CST)[1] == "default"
    paused = compile_link(_link(), _campaign(status="paused"))
    assert paused.decide(lambda: HOHHOT, "v", TUESDAY_1030_CST) == (None, "paused", "")


def test_split_shares_follow_the_weights():
    split = Weighted.of([("A", 1), ("B", 2), ("C", 0), ("D", 1)])
    counts = Counter(split.sticky(f"visitor-{n}", "link1") for n in range(20_000))
    assert set(counts) == {"A", "B", "D"}  # weight 0 never serves
    assert counts["B"] / 20_000 == pytest.approx(0.5, abs=0.02)
    assert counts["A"] / 20_000 == pytest.approx(0.25, abs=0.02)


@given(st.text(min_size=1, max_size=40), st.text(max_size=10), st.integers(1, 10_000))
def test_buckets_are_stable_and_in_range(visitor, salt, total):
    first = bucket(visitor, salt, total)
    assert 0 <= first < total
    assert bucket(visitor, salt, total) == first


@pytest.mark.parametrize(
    ("ua", "family"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)", "ios"),
        ("Mozilla/5.0 (Linux; Android 14; V2227A)", "android"),
        ("Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00)", "harmonyos"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)", "macos"),
        ("Mozilla/5.0 (X11; Linux x86_64)", "linux"),
        ("curl/8.0", "other"),
    ],
)
def test_os_family(ua, family):
    assert os_family(ua) == family
