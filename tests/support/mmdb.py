"""A small GeoIP2-City-shaped database with known ranges, for tests that need real lookups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet

from app.geo.geolite import GeoResult

CN = {"iso_code": "CN", "names": {"en": "China", "zh-CN": "中国"}}
US = {"iso_code": "US", "names": {"en": "United States", "zh-CN": "美国"}}


def _names(en: str, zh: str | None) -> dict[str, Any]:
    return {"names": {"en": en, "zh-CN": zh} if zh else {"en": en}}


def _city_record(
    country: dict[str, Any],
    province: tuple[str, str | None] | None,
    city: tuple[str, str | None] | None,
) -> dict[str, Any]:
    record: dict[str, Any] = {"country": country, "registered_country": country}
    if province:
        record["subdivisions"] = [_names(*province)]
    if city:
        record["city"] = _names(*city)
    return record


BEIJING = ("Beijing", "北京市")
INNER_MONGOLIA = ("Inner Mongolia", "内蒙古自治区")
GUANGDONG = ("Guangdong", "广东省")
SICHUAN = ("Sichuan", "四川省")

# (network, country, (en, zh-CN) province, (en, zh-CN) city, a sample address in the network)
# The /25 and /56 pairs share a /24 and a /48: lookups must not hand one the other's answer.
RANGES: list[tuple[str, dict[str, Any], Any, Any, str]] = [
    ("202.106.0.0/18", CN, BEIJING, ("Beijing", "北京"), "202.106.0.20"),
    ("1.180.10.0/25", CN, INNER_MONGOLIA, ("Hohhot", "呼和浩特"), "1.180.10.7"),
    ("1.180.10.128/25", CN, INNER_MONGOLIA, ("Baotou", "包头"), "1.180.10.200"),
    ("222.74.0.0/20", CN, INNER_MONGOLIA, None, "222.74.0.1"),
    ("113.96.0.0/16", CN, GUANGDONG, ("Guangzhou", "广州"), "113.96.77.1"),
    ("119.123.0.0/16", CN, GUANGDONG, ("Shenzhen", "深圳"), "119.123.4.5"),
    ("101.80.0.0/16", CN, ("Shanghai", "上海市"), ("Shanghai", "上海"), "101.80.200.9"),
    ("118.112.0.0/16", CN, SICHUAN, ("Chengdu", "成都"), "118.112.3.3"),
    ("1.80.0.0/16", CN, ("Shaanxi", "陕西省"), ("Xi'an", "西安"), "1.80.0.1"),
    ("2001:da8::/32", CN, BEIJING, ("Beijing", "北京"), "2001:da8::1"),
    ("240e:3a1:1234:5600::/56", CN, GUANGDONG, ("Shenzhen", "深圳"), "240e:3a1:1234:5601::1"),
    ("240e:3a1:1234:5700::/56", CN, SICHUAN, ("Chengdu", "成都"), "240e:3a1:1234:5701::1"),
    # English names only: lookups fall back to `en`.
    ("8.8.8.0/24", US, ("California", None), ("Mountain View", None), "8.8.8.8"),
]


def build_test_mmdb(path: Path) -> dict[str, GeoResult]:
    """Write the database to `path`; return a sample address in each range → expected result."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoIP2-City",
        languages=["en", "zh-CN"],
        description="adtrack test geo database",
    )
    expected: dict[str, GeoResult] = {}
    for network, country, province, city, sample in RANGES:
        writer.insert_network(IPSet([network]), _city_record(country, province, city))
        expected[sample] = GeoResult(
            country["iso_code"],
            (province[1] or province[0]) if province else "",
            (city[1] or city[0]) if city else "",
        )
    writer.to_db_file(str(path))
    return expected
