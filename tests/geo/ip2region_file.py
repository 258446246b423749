"""Writes small ip2region v1 `.db` files with known ranges, for tests that need real parsing."""

from __future__ import annotations

import ipaddress
import struct

_HEADER_INDEX_BYTES = 8192  # B-tree header index of real files: present, unused by the reader


def build_db(ranges: list[tuple[str, str, str]]) -> bytes:
    """(first address, last address, "国家|区域|省份|城市|ISP") sorted by address → file bytes."""
    records = bytearray()
    pointers: dict[str, int] = {}
    data_start = 8 + _HEADER_INDEX_BYTES
    for _first, _last, region in ranges:
        if region not in pointers:
            raw = struct.pack("<I", len(pointers) + 1) + region.encode("utf-8")
            pointers[region] = (data_start + len(records)) | (len(raw) << 24)
            records += raw
    index = b"".join(
        struct.pack("<III", _int(first), _int(last), pointers[region])
        for first, last, region in ranges
    )
    first_entry = data_start + len(records)
    last_entry = first_entry + len(index) - 12
    return (
        struct.pack("<II", first_entry, last_entry)
        + bytes(_HEADER_INDEX_BYTES)
        + bytes(records)
        + index
    )


def _int(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


# Covers the whole IPv4 space but for one gap (2.0.0.0/8), like the real file does with none.
RANGES = [
    ("0.0.0.0", "0.255.255.255", "0|0|0|内网IP|内网IP"),
    ("1.0.0.0", "1.24.255.255", "中国|0|内蒙古|呼和浩特市|电信"),
    ("1.25.0.0", "1.25.255.255", "中国|0|内蒙古|呼和浩特市|电信"),  # merges with the one before
    ("1.26.0.0", "1.255.255.255", "中国|0|陕西省|西安市|陕西广电"),
    ("3.0.0.0", "9.255.255.255", "美国|0|0|0|威瑞森"),
    ("10.0.0.0", "10.255.255.255", "0|0|0|内网IP|内网IP"),
    ("11.0.0.0", "39.127.255.255", "中国|0|0|0|0"),
    ("39.128.0.0", "39.191.255.255", "中国|0|云南省|红河|移动"),
    ("39.192.0.0", "123.111.255.255", "中国|0|香港|0|电讯盈科"),
    ("123.112.0.0", "123.127.255.255", "中国|0|北京|北京市|联通/电信"),
    ("123.128.0.0", "255.255.255.255", "中国|0|湖北省|仙桃|铁通"),
]
