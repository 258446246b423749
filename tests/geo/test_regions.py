"""Region reference data (GB/T 2260) and the mapping from geo database names to codes.

The last tests read the real default GeoLite2-City database: known addresses, then every
Chinese subdivision and city name in it, with the names that do not map printed
(`pytest -s tests/geo/test_regions.py -k coverage`).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import ipaddress
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import maxminddb
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.geo import regions
from app.geo.geolite import GeoLookup
from app.geo.names import key, variants
from app.geo.regions import Division, Region, RegionRefError


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("app.geo").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _codes(region: Region | None) -> tuple[str, str] | None:
    return (region.province_code, region.city_code) if region else None


# --- the reference data -------------------------------------------------------------------


def test_all_provinces_and_prefectures_are_there() -> None:
    provinces = regions.provinces()
    assert len(provinces) == 34
    kinds = collections.Counter(p.kind for p in provinces)
    assert kinds == {"province": 23, "autonomous_region": 5, "municipality": 4, "sar": 2}
    prefectures = regions.cities()
    assert len(prefectures) == 333
    # 2021 onwards: 293 prefecture-level cities, 7 地区, 30 自治州, 3 盟.
    assert collections.Counter(c.kind for c in prefectures) == {
        "city": 293,
        "prefecture": 7,
        "autonomous_prefecture": 30,
        "league": 3,
    }
    codes = [d.code for d in (*provinces, *prefectures)]
    assert len(codes) == len(set(codes))
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    for city in prefectures:
        assert city.code[:2] == city.province_code[:2]
        assert regions.province(city.province_code) is not None


def test_every_province_has_its_cities() -> None:
    for province in regions.provinces():
        cities = regions.cities(province.code)
        if province.kind == "municipality":
            assert [(c.code, c.kind, c.level) for c in cities] == [
                (province.code, "municipality", "city")
            ]
        elif province.code in ("710000", "810000", "820000"):
            assert cities == []
        else:
            assert cities, province
            assert all(c.province_code == province.code for c in cities)


def test_names() -> None:
    for division in (*regions.provinces(), *regions.cities()):
        assert division.name and division.short_name and division.name_en
        assert division.short_name in division.name
        assert division.name_en.replace("'", "").replace(" ", "").replace("ü", "u").isalpha()
    inner_mongolia = regions.province("150000")
    assert inner_mongolia == Division(
        "150000",
        "内蒙古自治区",
        "内蒙古",
        "Inner Mongolia",
        "province",
        "autonomous_region",
        "150000",
    )
    assert regions.city("150100") == Division(
        "150100", "呼和浩特市", "呼和浩特", "Hohhot", "city", "city", "150000"
    )
    assert regions.city("222400").short_name == "延边"  # 延边朝鲜族自治州
    assert regions.city("653000").short_name == "克孜勒苏"  # 克孜勒苏柯尔克孜自治州
    assert regions.province("610000").name_en == "Shaanxi"
    assert regions.province("140000").name_en == "Shanxi"
    assert regions.city("110000").name == "北京市"
    assert regions.province("999999") is None
    assert regions.city("150000") is None


def test_counties_point_at_existing_cities() -> None:
    cities = {c.code for c in regions.cities()} | {"110000", "120000", "310000", "500000", ""}
    rows = _rows("counties.csv")
    assert len(rows) > 2800
    for row in rows:
        assert row["city"] in cities, row
        assert regions.province(row["province"]) is not None


@pytest.mark.parametrize("name", ["region_aliases.csv", "geo_name_fixes.csv"])
def test_every_alias_resolves_to_its_division(name: str) -> None:
    for row in _rows(name):
        code = row["code"]
        alias = row.get("alias") or row["name"]
        if row.get("level") == "province":
            assert _codes(regions.resolve("CN", alias)) == (code, _municipality(code)), row
        else:
            province = regions.city(code).province_code
            assert _codes(regions.resolve("CN", province, alias)) == (province, code), row


def _municipality(code: str) -> str:
    return code if regions.province(code).kind == "municipality" else ""


# --- names and keys -----------------------------------------------------------------------


def test_keys_and_variants() -> None:
    assert key("Xi'an") == key("XI AN") == key("Xi’an") == "xian"
    assert key("Ürümqi") == "urumqi"
    assert key("北京市") == "北京市"
    assert variants("Inner Mongolia Autonomous Region")[:2] == [
        "innermongoliaautonomousregion",
        "innermongolia",
    ]
    assert variants("Haixi Mongol and Tibetan Autonomous Prefecture")[1] == "haixi"
    assert variants("Huangshi") == ["huangshi", "huang"]  # the whole name is tried first
    assert variants("渑池城关镇")[1] == "渑池"
    assert variants("") == variants("  ") == []


# --- resolve ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "province", "city", "expected"),
    [
        ("CN", "北京市", "北京", ("110000", "110000")),
        ("CN", "Beijing", "Haidian", ("110000", "110000")),  # a district: still the municipality
        ("CN", "上海", "", ("310000", "310000")),
        ("CN", "陕西", "西安", ("610000", "610100")),
        ("CN", "Shaanxi", "Xi'an", ("610000", "610100")),
        ("CN", "Shanxi", "Taiyuanshi", ("140000", "140100")),
        ("CN", "内蒙古自治区", "呼和浩特市", ("150000", "150100")),
        ("CN", "Inner Mongolia Autonomous Region", "Hohhot", ("150000", "150100")),
        ("CN", "Nei Mongol", "Huhhot", ("150000", "150100")),
        ("CN", "NM", "Ordos", ("150000", "150600")),
        ("CN", "CN-15", "包头市", ("150000", "150200")),
        ("CN", "内蒙古", "", ("150000", "")),
        ("CN", "广东", "深圳市", ("440000", "440300")),
        ("CN", "Guangdong", "Shunde", ("440000", "440600")),  # a district of 佛山
        ("CN", "江苏省", "Kunshan", ("320000", "320500")),  # a county-level city of 苏州
        ("CN", "Henan", "Mianchi Chengguanzhen", ("410000", "411200")),  # a county seat
        ("CN", "四川省", "成都", ("510000", "510100")),
        ("CN", "Xinjiang", "Ürümqi", ("650000", "650100")),
        ("CN", "Tibet", "Lhasa", ("540000", "540100")),
        ("CN", "云南", "Xishuangbanna Dai Autonomous Prefecture", ("530000", "532800")),
        ("CN", "Hubei", "Xiangfan", ("420000", "420600")),  # 襄阳's name before 2010
        ("CN", "湖北省", "仙桃", ("420000", "")),  # governed by the province itself
        ("CN", "Hainan", "Hainan", ("460000", "")),  # not the Qinghai prefecture 海南州
        ("CN", "Sichuan", "Beijing", ("510000", "")),  # a village: no city, not Beijing
        ("CN", "Jiangsu", "Taizhou", ("320000", "321200")),  # 泰州; 台州 is in Zhejiang
        ("CN", "Zhejiang", "Taizhou", ("330000", "331000")),
        ("cn", "jilin", "JILIN CITY", ("220000", "220200")),
        ("HK", "Central and Western District", "Hong Kong", ("810000", "")),
        ("MO", "", "澳门", ("820000", "")),
        ("TW", "Taipei City", "台北市", ("710000", "")),
        ("CN", "香港", "", ("810000", "")),
    ],
)
def test_resolve(country: str, province: str, city: str, expected: tuple[str, str]) -> None:
    assert _codes(regions.resolve(country, province, city)) == expected


@pytest.mark.parametrize(
    ("country", "province", "city"),
    [("US", "California", "Mountain View"), ("CN", "", "Hohhot"), ("CN", "Atlantis", ""),
     ("", "北京", "北京"), ("JP", "Tokyo", "")],
)  # fmt: skip
def test_resolve_unknown(country: str, province: str, city: str) -> None:
    assert regions.resolve(country, province, city) is None


def test_resolve_record_uses_iso_code_and_both_languages() -> None:
    record = {
        "country": {"iso_code": "CN"},
        "subdivisions": [{"iso_code": "HN", "names": {"en": "Hunan", "zh-CN": "湖南"}}],
        # GeoLite2's Chinese name here is a misspelling; English comes first anyway.
        "city": {"names": {"en": "Xiangtan", "zh-CN": "响滩"}},
    }
    assert _codes(regions.resolve_record(record)) == ("430000", "430300")
    wrong_english = {
        "country": {"iso_code": "CN"},
        "subdivisions": [{"names": {"en": "Hunan"}}],
        "city": {"names": {"en": "Jianning", "zh-CN": "株洲"}},
    }
    assert _codes(regions.resolve_record(wrong_english)) == ("430000", "430200")
    only_iso = {"country": {"iso_code": "CN"}, "subdivisions": [{"iso_code": "NM"}]}
    assert _codes(regions.resolve_record(only_iso)) == ("150000", "")
    registered = {"registered_country": {"iso_code": "HK"}}
    assert _codes(regions.resolve_record(registered)) == ("810000", "")
    assert regions.resolve_record(None) is None
    assert regions.resolve_record({}) is None
    assert regions.resolve_record({"country": {"iso_code": "US"}}) is None


def test_region_is_in() -> None:
    hohhot = regions.resolve("CN", "内蒙古", "呼和浩特")
    assert hohhot is not None
    assert hohhot.is_in(regions.province("150000"))
    assert hohhot.is_in(regions.city("150100"))
    assert not hohhot.is_in(regions.city("150200"))
    assert not hohhot.is_in(regions.province("110000"))
    province_only = regions.resolve("CN", "内蒙古", "")
    assert province_only.is_in(regions.province("150000"))
    assert not province_only.is_in(regions.city("150100"))
    beijing = regions.resolve("CN", "北京", "")
    assert beijing.is_in(regions.province("110000")) and beijing.is_in(regions.city("110000"))


@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30))
def test_resolve_never_raises(country: str, province: str, city: str) -> None:
    result = regions.resolve(country, province, city)
    assert result is None or isinstance(result, Region)


# --- pickers and references ---------------------------------------------------------------


def test_search() -> None:
    assert [d.code for d in regions.search("内蒙")] == ["150000"]
    assert [d.code for d in regions.search("hohhot")] == ["150100"]
    hu = [d.code for d in regions.search("hu", limit=5)]
    assert hu[:2] == ["420000", "430000"]  # Hubei, Hunan: provinces first among prefixes
    assert "150100" in [d.code for d in regions.search("huhe")]  # pinyin too
    assert [d.code for d in regions.search("呼和")] == ["150100"]
    assert regions.search("") == regions.provinces()[:20]
    assert regions.search("qqqq") == []
    assert len(regions.search("an", limit=3)) == 3


@pytest.mark.parametrize(
    ("ref", "code"),
    [
        ("内蒙古", "150000"),
        ("内蒙古自治区", "150000"),
        ("Inner Mongolia", "150000"),
        ("150000", "150000"),
        ("15", "150000"),
        ("呼和浩特", "150100"),
        ("呼和浩特市", "150100"),
        ("Hohhot", "150100"),
        ("huhehaote", "150100"),
        ("1501", "150100"),
        ("150100", "150100"),
        (" 北京 ", "110000"),
        ("110000", "110000"),
        ("吉林", "220000"),  # the province wins over 吉林市
        ("吉林市", "220200"),
        ("Hainan", "460000"),
        ("海南藏族自治州", "632500"),
        ("青海/海南", "632500"),
        ("浙江/台州", "331000"),
        ("Jiangsu, Taizhou", "321200"),
        ("江苏 泰州", "321200"),
        ("上海/浦东", "310000"),
        ("Shaanxi", "610000"),
        ("Shanxi", "140000"),
        ("Xizang", "540000"),
        ("Macau", "820000"),
        ("Xiangfan", "420600"),
    ],
)
def test_parse_region_ref(ref: str, code: str) -> None:
    assert regions.parse_region_ref(ref).code == code


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "empty"),
        ("Atlantis", "not a province or prefecture-level city"),
        ("999999", "not the code"),
        ("1234567", "not the code"),
        ("Taizhou", "names 2 places"),
        ("Suzhou", "names 2 places"),
        ("昆山", "county-level.*苏州市 \\(320500\\)"),
        ("320583", "county-level.*苏州市 \\(320500\\)"),
        ("仙桃", "county-level.*湖北省 \\(420000\\)"),
        ("浙江/泰州", "no prefecture-level city"),
        ("火星/泰州", "not a province"),
        # Not 保山 in Yunnan: that spelling is a fix for geo database names only.
        ("宝山", "county-level \\(宝山区 in 双鸭山市, 宝山区 in 上海市\\)"),
    ],
)
def test_parse_region_ref_errors(ref: str, message: str) -> None:
    with pytest.raises(RegionRefError, match=message) as caught:
        regions.parse_region_ref(ref)
    assert isinstance(caught.value, ValueError)  # what targeting rules catch


def test_ambiguous_ref_lists_candidates() -> None:
    with pytest.raises(RegionRefError) as caught:
        regions.parse_region_ref("Yulin")
    assert sorted(d.code for d in caught.value.candidates) == ["450900", "610800"]
    assert "玉林市 (450900, 广西)" in str(caught.value)


def test_every_division_round_trips() -> None:
    for division in (*regions.provinces(), *regions.cities()):
        assert regions.parse_region_ref(division.code).code == division.code
        for name in (division.name, division.short_name, division.name_en):
            try:
                found = regions.parse_region_ref(name)
            except RegionRefError as exc:  # a name two cities share
                assert division in exc.candidates, (name, str(exc))
                continue
            if found != division:
                # A city named like a province (北京, 上海 …) is reached by its code instead:
                # the name finds the province of that very name, nothing else.
                assert (division.level, found.level) == ("city", "province"), (name, found)
                assert name in (found.name, found.short_name, found.name_en), (name, found)


@given(st.text(max_size=40))
def test_parse_region_ref_raises_only_its_error(text: str) -> None:
    with contextlib.suppress(RegionRefError):
        assert isinstance(regions.parse_region_ref(text), Division)


# --- the real GeoLite2-City database ----------------------------------------------------------


@pytest.fixture(scope="module")
def reader(geolite_path: Path) -> Iterator[maxminddb.Reader]:
    with maxminddb.open_database(str(geolite_path), maxminddb.MODE_AUTO) as db:
        yield db


# Addresses whose networks the default database (GeoLite2 of Dec 2019) places in these cities.
REAL = [
    ("1.12.0.1", "110000", "110000"),  # Beijing
    ("1.180.4.1", "310000", "310000"),  # Shanghai
    ("1.180.192.1", "120000", "120000"),  # Tianjin
    ("14.106.96.1", "500000", "500000"),  # Chongqing
    ("14.16.0.1", "440000", "440300"),  # Guangdong, Shenzhen
    ("1.184.0.1", "440000", "440100"),  # Guangzhou
    ("14.27.52.1", "440000", "441900"),  # Dongguan
    ("1.25.96.1", "150000", "150100"),  # Inner Mongolia, Hohhot
    ("1.181.128.1", "150000", "150200"),  # Baotou
    ("1.25.48.1", "150000", "150600"),  # Ordos
    ("1.24.0.1", "150000", ""),  # Inner Mongolia, no city
    ("1.80.0.1", "610000", "610100"),  # Shaanxi, Xi'an
    ("14.124.116.1", "510000", "510100"),  # Sichuan, Chengdu
    ("1.84.0.1", "330000", "330100"),  # Zhejiang, Hangzhou
    ("36.19.0.1", "330000", "330700"),  # Yiwu → Jinhua
    ("49.72.104.1", "320000", "320500"),  # Kunshan → Suzhou (zh name 玉山 is a town there)
    ("36.157.96.1", "430000", "430300"),  # Xiangtan (zh name misspelt 响滩)
    ("27.16.169.1", "420000", "420100"),  # Hubei, Wuhan
    ("1.58.0.1", "230000", "230100"),  # Heilongjiang, Harbin
    ("14.204.0.1", "530000", "530100"),  # Yunnan, Kunming
    ("222.220.8.1", "530000", "532800"),  # Xishuangbanna
    ("42.91.16.1", "650000", "650100"),  # Xinjiang, Ürümqi
    ("101.249.0.1", "540000", "540100"),  # Tibet, Lhasa
    ("1.32.192.1", "810000", ""),  # Hong Kong
    ("17.91.136.1", "820000", ""),  # Macao
    ("1.32.194.1", "710000", ""),  # Taiwan
]


@pytest.mark.parametrize(("ip", "province", "city"), REAL)
def test_real_database_lookups(
    reader: maxminddb.Reader, geolite_path: Path, ip: str, province: str, city: str
) -> None:
    # Through the raw record (every name and the ISO code) ...
    assert _codes(regions.resolve_record(reader.get(ip))) == (province, city)
    # ... and through the loader's GeoLookup, which keeps one name each (Chinese first).
    geo = GeoLookup.open(geolite_path)
    assert _codes(regions.resolve(*geo.lookup(ip))) == (province, city)


def test_real_database_outside_china(reader: maxminddb.Reader) -> None:
    assert regions.resolve_record(reader.get("8.8.8.8")) is None
    assert regions.resolve_record(reader.get("10.0.0.1")) is None


def _networks_per_record(reader: maxminddb.Reader, path: Path) -> list[tuple[int, int]]:
    """One address of each distinct record of the database, with the number of networks that
    lead to that record: what `for network, record in reader` gives, grouped, without
    decoding 3.5 million records.

    The search tree is read as an array and walked one depth at a time (numpy): every leaf is
    a network, and its value a data pointer. As the reader's own iteration does, the IPv4
    subtree is walked once, from ::/96, never through its aliases (::ffff:0:0/96, 2002::/16).
    """
    meta = reader.metadata()
    assert (meta.ip_version, meta.record_size) == (6, 28), "a 28-bit IPv6 tree is read below"
    size = meta.node_count
    raw = np.fromfile(path, dtype=np.uint8, count=size * 7).reshape(size, 7).astype(np.uint32)
    children = np.stack(
        [
            (raw[:, 0] << 16) | (raw[:, 1] << 8) | raw[:, 2] | ((raw[:, 3] >> 4) << 24),
            (raw[:, 4] << 16) | (raw[:, 5] << 8) | raw[:, 6] | ((raw[:, 3] & 0x0F) << 24),
        ],
        axis=1,
    )
    ipv4_start = 0
    for _ in range(96):
        ipv4_start = int(children[ipv4_start, 0])
    node = np.zeros(1, np.uint32)
    high, low = np.zeros(1, np.uint64), np.zeros(1, np.uint64)  # the address bits so far
    leaves: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for depth in range(128):
        walked = ~((node == ipv4_start) & ((high != 0) | (low != 0)))
        node, high, low = node[walked], high[walked], low[walked]
        one_high = np.uint64(1 << (63 - depth) if depth < 64 else 0)
        one_low = np.uint64(1 << (127 - depth) if depth >= 64 else 0)
        child = np.concatenate([children[node, 0], children[node, 1]])
        child_high = np.concatenate([high, high | one_high])
        child_low = np.concatenate([low, low | one_low])
        leaf = child > size  # == size: no data
        leaves.append((child[leaf], child_high[leaf], child_low[leaf]))
        inner = child < size
        node, high, low = child[inner], child_high[inner], child_low[inner]
        if not len(node):
            break
    pointers, highs, lows = (np.concatenate(column) for column in zip(*leaves, strict=True))
    _, first, counts = np.unique(pointers, return_index=True, return_counts=True)
    return [
        ((int(highs[i]) << 64) | int(lows[i]), count)
        for i, count in zip(first.tolist(), counts.tolist(), strict=True)
    ]


def _chinese_records(reader: maxminddb.Reader, path: Path) -> Iterator[tuple[dict[str, Any], int]]:
    """Each distinct (country, subdivision, city) of CN, HK, MO and TW with its network count."""
    seen: dict[tuple[Any, ...], list[Any]] = {}
    for address, count in _networks_per_record(reader, path):
        record = reader.get(ipaddress.IPv6Address(address))
        country = (record.get("country") or {}).get("iso_code")
        if country not in ("CN", "HK", "MO", "TW"):
            continue
        subdivision = (record.get("subdivisions") or [{}])[0]
        city = record.get("city") or {}
        names = (
            subdivision.get("iso_code"),
            tuple(sorted((subdivision.get("names") or {}).items())),
            tuple(sorted((city.get("names") or {}).items())),
        )
        entry = seen.setdefault((country, *names), [record, 0])
        entry[1] += count
    for record, count in seen.values():
        yield record, count


# Counted on the default database with the reader's own `for network, record in reader`
# (44 s): the walk above must find the same.
NETWORKS = 3_482_525
CHINESE_RECORDS, CHINESE_NETWORKS = 933, 73_481


@pytest.fixture(scope="module")
def chinese_records(
    reader: maxminddb.Reader, geolite_path: Path
) -> list[tuple[dict[str, Any], int]]:
    return list(_chinese_records(reader, geolite_path))


def test_the_tree_walk_finds_every_network_the_reader_iterates(
    reader: maxminddb.Reader, geolite_path: Path, chinese_records: list[tuple[Any, int]]
) -> None:
    assert sum(count for _, count in _networks_per_record(reader, geolite_path)) == NETWORKS
    chinese = chinese_records
    assert (len(chinese), sum(count for _, count in chinese)) == (
        CHINESE_RECORDS,
        CHINESE_NETWORKS,
    )


def _prefecture_by_rule(province_code: str, names: tuple[str, ...]) -> str:
    """The prefecture a city name plainly is: its name, short name or English name, with a
    trailing City / shi / 市 allowed; "" for anything else (towns, districts, counties)."""
    wanted = set()
    for name in names:
        k = key(name)
        wanted |= {k, k.removesuffix("city"), k.removesuffix("shi"), k.removesuffix("市")}
    for city in regions.cities(province_code):
        if {key(city.name), key(city.short_name), key(city.name_en)} & wanted:
            return city.code
    return ""


@pytest.mark.slow
def test_real_database_coverage(chinese_records: list[tuple[dict[str, Any], int]]) -> None:
    """Every subdivision maps; prefecture-level city names map by every route; the rest is
    reported. Figures on the default database: subdivisions 100%; prefecture-level names 100%
    by record, ≥ 98% by one name (Chinese first, as GeoLookup keeps it)."""
    unmapped_provinces: list[str] = []
    prefecture_names = by_record = by_english = by_chinese = 0
    wrong: list[str] = []
    others = other_mapped = 0
    networks = networks_mapped = 0
    other_unmapped: collections.Counter[str] = collections.Counter()
    for record, count in chinese_records:
        country = record["country"]["iso_code"]
        subdivision = (record.get("subdivisions") or [{}])[0]
        names = subdivision.get("names") or {}
        province_names = (names.get("en"), names.get("zh-CN"))
        city_names = (record.get("city") or {}).get("names") or {}
        if country == "CN" and not subdivision:
            continue  # the database knows only the country
        for name in (*province_names, subdivision.get("iso_code")):
            if name and regions.resolve(country, name) is None:
                unmapped_provinces.append(f"{country} {name}")
        region = regions.resolve_record(record)
        if region is None:
            unmapped_provinces.append(f"{country} {subdivision}")
            continue
        if country != "CN" or region.province.kind == "municipality" or not city_names:
            continue
        en = city_names.get("en", "")
        zh = city_names.get("zh-CN", "") or en
        networks += count
        networks_mapped += count if region.city else 0
        province_en = names.get("en", "")
        province_zh = names.get("zh-CN", "") or province_en
        expected = _prefecture_by_rule(region.province_code, (en, zh))
        if expected:
            prefecture_names += 1
            by_record += region.city_code == expected
            english = regions.resolve(country, province_en, en)
            by_english += bool(english) and english.city_code == expected
            chinese = regions.resolve(country, province_zh, zh)
            by_chinese += bool(chinese) and chinese.city_code == expected
            if region.city_code != expected:
                wrong.append(f"{region.province.short_name} {en}/{zh}: {region.city_code}")
        else:
            others += 1
            if region.city:
                other_mapped += 1
            else:
                other_unmapped[f"{region.province.short_name} {en}/{zh}"] += count

    print(
        f"\nprefecture-level city names: {prefecture_names}; mapped by record {by_record}, "
        f"by English name {by_english}, by Chinese-first name {by_chinese}"
        f"\nother city names (districts, counties, towns): {others}; mapped to their "
        f"prefecture {other_mapped}; not mapped {len(other_unmapped)} (networks each below)"
        f"\nnetworks with a city name outside the municipalities: {networks}, placed in a "
        f"prefecture-level city {networks_mapped} ({networks_mapped / networks:.1%})"
    )
    for name, count in other_unmapped.most_common():
        print(f"  {name} ({count})")
    assert unmapped_provinces == []
    assert prefecture_names > 200
    assert wrong == [] and by_record == prefecture_names  # README: 100%
    assert by_english / prefecture_names >= 0.95
    assert by_chinese / prefecture_names >= 0.98
    assert other_mapped / others >= 0.4
    assert networks_mapped / networks >= 0.95
