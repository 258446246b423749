"""Column steps answer each distinct key once; every row must get what a per-row lookup gives.

Property: for any mix of addresses and user agents (repeated, empty, malformed, IPv6), the
table a column step returns equals, row by row, the step's rule applied to that row alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.geo.device import DeviceParser
from app.geo.geolite import GeoLookup
from app.geo.regions import region_codes
from app.ingest.columns import events_table
from app.ingest.enrich.device import put_device
from app.ingest.enrich.geo import put_geo
from app.ingest.enrich.privacy import truncate, truncate_ip
from app.ingest.enrich.region import put_isp, put_region

UAS = [
    "",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/4G Language/zh_CN",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "okhttp/4.9.3",
    "x" * 2000,
]
EXTRA_IPS = ["", "garbage", "8.8.8.8", "240e:3a1:1234:5601::1", "::ffff:1.2.3.4", "999.1.1.1"]


class _Carriers:
    """The carrier data as a table of known addresses (the step's only dependency)."""

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known

    def lookup(self, ip: str) -> str:
        return self.known.get(ip, "")


@pytest.fixture(scope="module")
def steps(geo_db: tuple[Path, dict]) -> dict:
    ips = sorted(geo_db[1]) + EXTRA_IPS
    geo = GeoLookup.open(geo_db[0])
    carriers = _Carriers({ip: f"carrier-{n % 3}" for n, ip in enumerate(ips) if n % 2})
    return {"ips": ips, "geo": geo, "carriers": carriers, "parser": DeviceParser()}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_column_steps_equal_the_rule_row_by_row(steps: dict, data: st.DataObject) -> None:
    picks = st.tuples(st.sampled_from(steps["ips"]), st.sampled_from(UAS))
    rows = data.draw(st.lists(picks, max_size=40))
    table = events_table([{"ip": ip, "user_agent": ua} for ip, ua in rows])
    for step in (
        put_geo(steps["geo"]),
        put_region,
        put_isp(steps["carriers"]),
        put_device(steps["parser"]),
        truncate_ip,
    ):
        table = step(table)
    got = table.to_pylist()
    assert len(got) == len(rows)
    for row, (ip, ua) in zip(got, rows, strict=True):
        place = steps["geo"].lookup(ip)
        device = steps["parser"].parse(ua)
        codes = region_codes(*place) if place.country_code else ("", "")
        assert (row["country_code"], row["province"], row["city"]) == tuple(place)
        assert (row["province_code"], row["city_code"]) == codes
        assert row["isp"] == steps["carriers"].lookup(ip)
        assert tuple(row[name] for name in device._fields) == tuple(device)
        assert row["ip"] == (truncate(ip) if ip else "")
        assert row["user_agent"] == ua
