"""Carrier (China Mobile, China Unicom, China Telecom ...) of an IP address, from ip2region data.

GeoLite2-City has no ISP. ip2region's ranges name one per range ("移动", "联通", "电信"), which
data/isp_names.csv maps to the codes in data/carriers.csv; IPv6 goes by the carriers' own
allocations in data/ipv6_carriers.csv. The same ranges give a province and city, used where
the primary geo database knows none (it is weak for China).
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import logging
import socket
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from app.geo import regions
from app.geo.ip2region import Ip2RegionError, fields, read_index
from app.geo.reference import read_csv
from app.geo.regions import Region

log = logging.getLogger(__name__)

OTHER = "other"  # a carrier the data names but carriers.csv does not list
_CHINA = "中国"
_V4_MAPPED = bytes(10) + b"\xff\xff"


class IpInfo(NamedTuple):
    carrier: str = ""  # a code from carriers.csv, "other", or "" when unknown
    region: Region | None = None


EMPTY = IpInfo()


@dataclass(frozen=True, slots=True)
class Carrier:
    code: str  # china_mobile
    name: str  # 中国移动
    name_en: str  # China Mobile


class IspDatabaseError(Exception):
    """The ISP database exists but cannot be read."""


@functools.cache
def carriers() -> Mapping[str, Carrier]:
    """Every carrier code with its Chinese and English names (for report labels and pickers)."""
    return MappingProxyType(
        {
            row["code"]: Carrier(row["code"], row["name"], row["name_en"])
            for row in read_csv("carriers.csv")
        }
    )


@functools.cache
def _isp_names() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    exact: dict[str, str] = {}
    suffixes: list[tuple[str, str]] = []
    for row in read_csv("isp_names.csv"):
        if row["name"].startswith("*"):
            suffixes.append((row["name"][1:], row["carrier"]))
        else:
            exact[row["name"]] = row["carrier"]
    return exact, tuple(suffixes)


def carrier_code(isp: str) -> str:
    """The carrier code for an ISP name as ip2region writes it: 移动 → china_mobile,
    陕西广电 → china_broadnet, an unlisted name → "other", no name → ""."""
    # "联通/电信": a range two carriers share is counted to the first.
    name = isp.split("/")[0].strip()
    if not name or name in ("0", "内网IP"):
        return ""
    exact, suffixes = _isp_names()
    if code := exact.get(name):
        return code
    return next((code for suffix, code in suffixes if name.endswith(suffix)), OTHER)


@functools.cache
def _v6_networks() -> tuple[tuple[int, int, str], ...]:
    networks = []
    for row in read_csv("ipv6_carriers.csv"):
        network = ipaddress.IPv6Network(row["network"])
        networks.append((int(network.network_address), int(network.netmask), row["carrier"]))
    return tuple(networks)


def info_of(region_text: str) -> IpInfo:
    """Carrier and region of one ip2region record ("中国|0|内蒙古|呼和浩特市|电信")."""
    country, _area, province, city, isp = fields(region_text)
    place = regions.resolve("CN", province, city) if country == _CHINA and province else None
    return IpInfo(carrier_code(isp), place)


class IspLookup:
    """Carrier and place of an address; ranges held as sorted starts, loaded once."""

    def __init__(self, starts: array, infos: list[IpInfo]) -> None:
        self._starts = starts
        self._infos = infos
        self._v6 = _v6_networks()

    @classmethod
    def open(cls, path: Path) -> IspLookup:
        try:
            return cls.from_bytes(path.read_bytes())
        except (OSError, Ip2RegionError) as exc:
            raise IspDatabaseError(f"cannot open ISP database {path}: {exc}") from exc

    @classmethod
    def from_bytes(cls, data: bytes) -> IspLookup:
        """A lookup over a whole ip2region file held in memory (raises Ip2RegionError)."""
        index = read_index(data)
        return cls(*_merge(index.starts, index.ends, index.pointers, index.regions))

    @property
    def ranges(self) -> int:
        """How many ranges of distinct (carrier, region) the lookup holds."""
        return len(self._starts)

    def info(self, ip: str) -> IpInfo:
        """Carrier and region of `ip`; EMPTY for a bad, private or unknown address."""
        try:
            if ":" in ip:
                packed = socket.inet_pton(socket.AF_INET6, ip)
                if not packed.startswith(_V4_MAPPED):
                    return IpInfo(self._v6_carrier(int.from_bytes(packed, "big")))
                packed = packed[12:]
            else:
                packed = socket.inet_pton(socket.AF_INET, ip)
        except (OSError, TypeError, ValueError):
            return EMPTY
        at = bisect.bisect_right(self._starts, int.from_bytes(packed, "big")) - 1
        return self._infos[at] if at >= 0 else EMPTY

    def lookup(self, ip: str) -> str:
        """The carrier code of `ip` (china_mobile, china_unicom, china_telecom ...) or ""."""
        return self.info(ip).carrier

    def region(self, ip: str) -> Region | None:
        """Province and city of `ip` by ip2region: the fallback where GeoLite2 has none."""
        return self.info(ip).region

    def _v6_carrier(self, address: int) -> str:
        return next((code for net, mask, code in self._v6 if address & mask == net), "")

    def close(self) -> None:
        pass


def _merge(
    starts: array, ends: array, pointers: array, texts: dict[int, str]
) -> tuple[array, list[IpInfo]]:
    """One range per run of equal answers; gaps between ranges answer EMPTY."""
    by_text: dict[str, IpInfo] = {"|": EMPTY}
    by_pointer: dict[int, IpInfo] = {}
    for pointer, text in texts.items():
        # Equal answers share one object, so runs are found by identity below.
        info = info_of(text)
        by_pointer[pointer] = by_text.setdefault(f"{info.carrier}|{_codes(info.region)}", info)
    out_starts = array("I")
    infos: list[IpInfo] = []
    next_start = 0
    for start, end, pointer in zip(starts, ends, pointers, strict=True):
        info = by_pointer[pointer]
        if start > next_start and (not infos or infos[-1] is not EMPTY):
            out_starts.append(next_start)
            infos.append(EMPTY)
        if not infos or infos[-1] is not info:
            out_starts.append(start)
            infos.append(info)
        next_start = end + 1
    if next_start <= 0xFFFFFFFF:
        out_starts.append(next_start)
        infos.append(EMPTY)
    return out_starts, infos


def _codes(region: Region | None) -> str:
    return f"{region.province_code}/{region.city_code}" if region else ""


class NullIsp:
    """Stands in for IspLookup when no ISP database is installed."""

    def info(self, ip: str) -> IpInfo:
        return EMPTY

    def lookup(self, ip: str) -> str:
        return ""

    def region(self, ip: str) -> Region | None:
        return None

    def close(self) -> None:
        pass


Isp = IspLookup | NullIsp


def open_isp(path: Path | None) -> Isp:
    """Open the ip2region database at `path`; without one, carriers are left empty."""
    if path is None or not path.is_file():
        log.warning("ISP database not found at %s; carrier fields will be empty", path)
        return NullIsp()
    return IspLookup.open(path)
