"""Carriers (ISP) and the ip2region data: parsing, lookups, fetching, and the real dataset."""

from __future__ import annotations

import bisect
import collections
import csv
import functools
import ipaddress
import random
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.geo import regions
from app.geo.__main__ import main
from app.geo.ip2region import Ip2RegionError, fields, is_valid_db, read_index
from app.geo.isp import (
    EMPTY,
    OTHER,
    IspDatabaseError,
    IspLookup,
    NullIsp,
    carrier_code,
    carriers,
    open_isp,
)
from app.geo.isp_db import DB_NAME, LICENSE_NAME, NPM_PACKAGE, IspFetchError, fetch_ip2region
from tests.geo.ip2region_file import RANGES, build_db
from tests.support.fake_npm import tarball


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("app.geo").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


# --- carrier names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("isp", "code"),
    [
        ("电信", "china_telecom"),
        ("联通", "china_unicom"),
        ("移动", "china_mobile"),
        ("铁通", "china_mobile"),
        ("教育网", "cernet"),
        ("西安交通大学", "cernet"),
        ("陕西广电", "china_broadnet"),
        ("歌华", "china_broadnet"),
        ("阿里云", "alibaba_cloud"),
        ("中华电信", "chunghwa_telecom"),  # not China Telecom
        ("西班牙电信", OTHER),
        ("联通/电信", "china_unicom"),
        ("电信/基站WiFi", "china_telecom"),
        ("0", ""),
        ("", ""),
        ("内网IP", ""),
    ],
)
def test_carrier_code(isp: str, code: str) -> None:
    assert carrier_code(isp) == code


def test_every_carrier_named_in_the_data_files_is_listed() -> None:
    listed = carriers()
    assert listed["china_mobile"].name == "中国移动"
    assert listed["china_mobile"].name_en == "China Mobile"
    assert OTHER in listed
    for name in ("isp_names.csv", "ipv6_carriers.csv"):
        for row in _rows(name):
            assert row["carrier"] in listed, row


def test_fields() -> None:
    assert fields("中国|0|内蒙古|呼和浩特市|电信") == ("中国", "", "内蒙古", "呼和浩特市", "电信")
    assert fields("中国|0") == ("中国", "", "", "", "")
    assert fields("") == ("", "", "", "", "")


# --- a built database ---------------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path) -> Path:
    path = tmp_path / DB_NAME
    path.write_bytes(build_db(RANGES))
    return path


def test_read_index(built: Path) -> None:
    index = read_index(built.read_bytes())
    assert len(index.starts) == len(RANGES)
    assert index.starts[1] == 1 << 24
    assert sorted(set(index.regions.values())) == sorted({r for _, _, r in RANGES})
    assert is_valid_db(built)


def test_lookups_on_built_database(built: Path) -> None:
    isp = IspLookup.open(built)
    hohhot = isp.info("1.20.3.4")
    assert hohhot.carrier == "china_telecom"
    assert (hohhot.region.province_code, hohhot.region.city_code) == ("150000", "150100")
    assert isp.info("1.25.255.255") is hohhot  # equal neighbours are one range
    assert isp.lookup("1.26.0.0") == "china_broadnet"
    assert isp.region("1.26.0.0").city_code == "610100"
    assert isp.lookup("39.128.0.1") == "china_mobile"
    assert isp.region("39.128.0.1").city_code == "532500"  # 红河 → 红河哈尼族彝族自治州
    assert isp.lookup("123.112.0.0") == "china_unicom"
    assert isp.region("123.127.255.255").city_code == "110000"
    hubei = isp.info("200.1.1.1")
    assert hubei.carrier == "china_mobile"  # 铁通
    assert (hubei.region.province_code, hubei.region.city_code) == ("420000", "")
    assert isp.info("60.0.0.1").region.province_code == "810000"
    assert isp.info("60.0.0.1").carrier == "pccw"
    assert isp.info("20.0.0.1") == EMPTY  # China, nothing more known
    assert isp.info("8.8.8.8") == ("other", None)
    assert isp.info("255.255.255.255").carrier == "china_mobile"


def test_gaps_private_and_bad_addresses(built: Path) -> None:
    isp = IspLookup.open(built)
    assert isp.info("2.1.1.1") == EMPTY  # in no range
    assert isp.info("10.1.2.3") == EMPTY
    assert isp.info("0.0.0.0") == EMPTY
    for bad in ("", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4x", "abc", "1.2.3.4\x00"):
        assert isp.info(bad) == EMPTY, bad
    assert isp.info(None) == EMPTY  # type: ignore[arg-type]
    assert isp.info(123) == EMPTY  # type: ignore[arg-type]


def test_ipv6(built: Path) -> None:
    isp = IspLookup.open(built)
    assert isp.lookup("240e:3a1:1234::1") == "china_telecom"
    assert isp.lookup("2408:8456::1") == "china_unicom"
    assert isp.lookup("2409:8a1e:6a00::1") == "china_mobile"
    assert isp.lookup("2001:da8:8000::1") == "cernet"
    assert isp.lookup("2001:250:1::1") == "cernet"
    assert isp.info("240e::1").region is None  # ip2region's file is IPv4 only
    assert isp.lookup("2400:da00::1") == ""
    assert isp.lookup("::1") == ""
    assert isp.lookup("fe80::1%eth0") == ""
    assert isp.lookup("2409:8000::1::1") == ""
    # An IPv4-mapped address is the IPv4 address.
    assert isp.info("::ffff:39.128.0.1") == isp.info("39.128.0.1")


@functools.cache
def _built_lookup() -> IspLookup:
    return IspLookup.from_bytes(build_db(RANGES))


@given(st.text(max_size=50))
def test_lookup_never_raises(text: str) -> None:
    assert isinstance(_built_lookup().lookup(text), str)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 7,
        b"\xff" * 64,  # offsets past the end
        build_db(RANGES)[:-5],  # truncated index
        b"\x08\x00\x00\x00\x08\x00\x00\x00" + b"\x00" * 20,  # one entry, empty record
    ],
)
def test_malformed_files(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(data)
    assert not is_valid_db(path)
    with pytest.raises(IspDatabaseError):
        IspLookup.open(path)
    with pytest.raises(Ip2RegionError):
        read_index(data)


def test_open_isp(built: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance(open_isp(built), IspLookup)
    missing = open_isp(tmp_path / "nope.db")
    assert isinstance(missing, NullIsp)
    assert "ISP database not found" in caplog.text
    assert isinstance(open_isp(None), NullIsp)
    assert missing.lookup("1.2.3.4") == "" and missing.region("1.2.3.4") is None
    assert missing.info("1.2.3.4") == EMPTY
    missing.close()


# --- fetching -----------------------------------------------------------------------------


def test_fetch_extracts_database_and_licence(
    fake_npm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = {"package/data/ip2region.db": build_db(RANGES), "package/LICENSE": b"MIT"}
    monkeypatch.setenv("FAKE_NPM_TGZ", str(tarball(fake_npm / "pkg.tgz", members)))
    dest_dir = fake_npm / "out"
    path = fetch_ip2region(dest_dir)
    assert path == dest_dir / DB_NAME
    assert (dest_dir / LICENSE_NAME).read_bytes() == b"MIT"
    assert sorted(p.name for p in dest_dir.iterdir()) == sorted([DB_NAME, LICENSE_NAME])
    assert IspLookup.open(path).lookup("39.128.0.1") == "china_mobile"
    fetch_ip2region(dest_dir)  # already there and valid: npm is not run again
    assert (fake_npm / "npm.log").read_text().splitlines() == [f"pack {NPM_PACKAGE} --silent"]


def test_fetch_refuses_links_and_bad_databases(
    fake_npm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest_dir = fake_npm / "out"
    linked = tarball(fake_npm / "link.tgz", {}, link="package/data/ip2region.db")
    monkeypatch.setenv("FAKE_NPM_TGZ", str(linked))
    with pytest.raises(IspFetchError, match="not a regular file"):
        fetch_ip2region(dest_dir)
    garbage = tarball(fake_npm / "bad.tgz", {"package/data/ip2region.db": b"junk"})
    monkeypatch.setenv("FAKE_NPM_TGZ", str(garbage))
    with pytest.raises(IspFetchError, match="not usable"):
        fetch_ip2region(dest_dir)
    empty = tarball(fake_npm / "empty.tgz", {"package/README.md": b""})
    monkeypatch.setenv("FAKE_NPM_TGZ", str(empty))
    with pytest.raises(IspFetchError, match="has no package/data/ip2region.db"):
        fetch_ip2region(dest_dir)
    assert list(dest_dir.iterdir()) == []  # no temp files left behind


def test_fetch_without_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(IspFetchError, match="npm is not on PATH"):
        fetch_ip2region(tmp_path / "out")


def test_cli(
    fake_npm: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    members = {"package/data/ip2region.db": build_db(RANGES)}
    monkeypatch.setenv("FAKE_NPM_TGZ", str(tarball(fake_npm / "pkg.tgz", members)))
    assert main(["fetch-isp", "--dest", str(fake_npm / "out")]) == 0
    assert capsys.readouterr().out.strip() == str(fake_npm / "out" / DB_NAME)
    monkeypatch.setenv("PATH", str(fake_npm / "empty-bin"))
    assert main(["fetch-isp", "--dest", str(fake_npm / "elsewhere")]) == 1
    assert "npm is not on PATH" in capsys.readouterr().err


# --- the real dataset ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(ip2region_path: Path) -> IspLookup:
    return IspLookup.open(ip2region_path)


# Ranges checked against the data (every sampled address of each block has this carrier):
# China Mobile 39.128.0.0/10, 117.128.0.0/10; China Unicom 123.112.0.0/12 and 111.192.0.0/12
# (Beijing); China Telecom 180.96.0.0/11 (Jiangsu), 114.80.0.0/12 (Shanghai); CERNET 202.112/13.
@pytest.mark.parametrize(
    ("ip", "carrier", "province", "city"),
    [
        ("39.130.1.1", "china_mobile", "530000", "532500"),  # Yunnan, Honghe
        ("117.136.0.1", "china_mobile", "110000", "110000"),
        ("221.130.33.52", "china_mobile", "110000", "110000"),
        ("123.112.1.1", "china_unicom", "110000", "110000"),
        ("111.206.1.1", "china_unicom", "110000", "110000"),
        ("202.106.0.20", "china_unicom", "110000", "110000"),
        ("180.96.1.1", "china_telecom", "320000", "320100"),  # Jiangsu, Nanjing
        ("114.80.1.1", "china_telecom", "310000", "310000"),
        ("202.96.134.133", "china_telecom", "440000", "440300"),  # Shenzhen
        ("1.180.10.7", "china_telecom", "150000", "150100"),  # Inner Mongolia, Hohhot
        ("113.96.77.1", "china_telecom", "440000", "440600"),  # Foshan
        ("202.112.0.1", "cernet", None, None),
        ("120.24.78.68", "alibaba_cloud", "440000", "440300"),
    ],
)
def test_real_known_ranges(
    real: IspLookup, ip: str, carrier: str, province: str | None, city: str | None
) -> None:
    info = real.info(ip)
    assert info.carrier == carrier
    if province is not None:
        assert info.region is not None
        assert (info.region.province_code, info.region.city_code) == (province, city)


def test_real_whole_blocks(real: IspLookup) -> None:
    for network, carrier in (("39.128.0.0/10", "china_mobile"), ("123.112.0.0/12", "china_unicom"),
                             ("180.96.0.0/11", "china_telecom")):  # fmt: skip
        block = ipaddress.IPv4Network(network)
        for offset in range(0, block.num_addresses, block.num_addresses // 1000):
            ip = str(block.network_address + offset)
            assert real.lookup(ip) == carrier, ip


def test_real_private_unknown_and_ipv6(real: IspLookup) -> None:
    for ip in ("10.0.0.1", "192.168.1.1", "172.16.0.1", "127.0.0.1", "0.0.0.0", "not an ip"):
        assert real.info(ip) == EMPTY, ip
    assert real.lookup("8.8.8.8") == OTHER  # a foreign carrier
    assert real.lookup("240e:3a1::1") == "china_telecom"
    assert real.lookup("2409:8a00::1") == "china_mobile"
    assert real.lookup("::1") == ""
    assert real.info("::ffff:39.130.1.1").carrier == "china_mobile"


def test_real_regions_resolve(ip2region_path: Path) -> None:
    """Every Chinese province name in the data maps; every city name but the counties the
    provinces govern themselves (济源 ...)."""
    index = read_index(ip2region_path.read_bytes())
    unmapped = set()
    for text in index.regions.values():
        country, _area, province, city, _isp = fields(text)
        if country != "中国" or not province:
            continue
        region = regions.resolve("CN", province, city)
        assert region is not None, text
        if city and region.city is None and regions.cities(region.province_code):
            unmapped.add(f"{province} {city}")
    assert unmapped <= {"河南省 济源"}, unmapped


def _sampled_addresses(count: int, seed: int = 7) -> list[str]:
    """Addresses in blocks Chinese carriers hold (loadtest/bench_isp.py times the same)."""
    rng = random.Random(seed)
    firsts = (1, 36, 39, 58, 60, 101, 112, 117, 120, 123, 180, 183, 202, 220, 223)
    return [
        f"{rng.choice(firsts)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(count)
    ]


def test_real_sampled_lookups_match_the_raw_ranges(real: IspLookup, ip2region_path: Path) -> None:
    """The lookups loadtest/bench_isp.py times, each held to the database's own range for the
    address (merged ranges and gaps must not change an answer). Speed is measured there."""
    index = read_index(ip2region_path.read_bytes())
    carriers_seen = collections.Counter()
    for ip in _sampled_addresses(100_000):
        address = int(ipaddress.IPv4Address(ip))
        at = bisect.bisect_right(index.starts, address) - 1
        if at >= 0 and address <= index.ends[at]:
            country, _area, province, city, isp = fields(index.regions[index.pointers[at]])
            place = (
                regions.resolve("CN", province, city) if country == "中国" and province else None
            )
            expected = (carrier_code(isp), place and (place.province_code, place.city_code))
        else:
            expected = ("", None)
        info = real.info(ip)
        region = info.region and (info.region.province_code, info.region.city_code)
        assert (info.carrier, region) == expected, ip
        carriers_seen[info.carrier] += 1
    # Not empty against empty: ip2region 2.3.0 puts 41% of these in the big three's ranges.
    big_three = sum(carriers_seen[c] for c in ("china_mobile", "china_unicom", "china_telecom"))
    assert big_three > 35_000, carriers_seen
