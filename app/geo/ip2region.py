"""Reads ip2region's `.db` file (format v1): IPv4 ranges → "国家|区域|省份|城市|ISP".

Layout, all integers little-endian: a super block (first and last index entry offsets, u32
each), an 8 KiB header index for B-tree search (not needed here), the region records, then the
index: 12-byte entries (start IP u32, end IP u32, data pointer u32 whose low 24 bits are the
record's offset and high 8 bits its length) sorted by start IP. A record is a 4-byte city id
and the UTF-8 region text; "0" in a field means unknown.
"""

from __future__ import annotations

import struct
import sys
from array import array
from pathlib import Path
from typing import NamedTuple

_SUPER_BLOCK = struct.Struct("<II")
_ENTRY_BYTES = 12
_CITY_ID_BYTES = 4
_FIELDS = 5


class Ip2RegionError(Exception):
    """The file is not an ip2region v1 database."""


class Index(NamedTuple):
    """The database's ranges, in start order; region text per distinct data pointer."""

    starts: array  # u32 first address of each range
    ends: array  # u32 last address of each range
    pointers: array  # u32 data pointer of each range
    regions: dict[int, str]  # data pointer → "中国|0|内蒙古|呼和浩特市|电信"


def read_index(data: bytes) -> Index:
    """Parse a whole database held in memory; raises Ip2RegionError on a malformed file."""
    if len(data) < _SUPER_BLOCK.size:
        raise Ip2RegionError("file too short for an ip2region header")
    first, last = _SUPER_BLOCK.unpack_from(data, 0)
    end = last + _ENTRY_BYTES
    if not (_SUPER_BLOCK.size <= first <= last and end <= len(data)):
        raise Ip2RegionError(f"index offsets {first}..{last} do not fit a {len(data)}-byte file")
    if (last - first) % _ENTRY_BYTES:
        raise Ip2RegionError("index length is not a whole number of entries")
    words = array("I")
    if words.itemsize != 4:  # pragma: no cover - 'I' is 4 bytes on every supported platform
        raise Ip2RegionError("this platform has no 4-byte unsigned array type")
    words.frombytes(data[first:end])
    if sys.byteorder == "big":  # pragma: no cover
        words.byteswap()
    starts, ends, pointers = words[0::3], words[1::3], words[2::3]
    regions = {pointer: _region(data, pointer) for pointer in set(pointers)}
    return Index(starts, ends, pointers, regions)


def _region(data: bytes, pointer: int) -> str:
    offset, length = pointer & 0xFFFFFF, pointer >> 24
    if length < _CITY_ID_BYTES or offset + length > len(data):
        raise Ip2RegionError(f"data pointer {pointer:#x} is outside the file")
    raw = data[offset + _CITY_ID_BYTES : offset + length]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Ip2RegionError(f"region text at {offset} is not UTF-8") from exc


def fields(region: str) -> tuple[str, str, str, str, str]:
    """(country, area, province, city, isp), "" where the database says 0 or nothing."""
    parts = [("" if part == "0" else part) for part in region.split("|")[:_FIELDS]]
    parts += [""] * (_FIELDS - len(parts))
    return parts[0], parts[1], parts[2], parts[3], parts[4]


def is_valid_db(path: Path) -> bool:
    """True when `path` parses as an ip2region v1 database with at least one range."""
    try:
        index = read_index(path.read_bytes())
    except (OSError, Ip2RegionError):
        return False
    return len(index.starts) > 0
