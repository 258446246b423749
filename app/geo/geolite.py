"""Country, province and city of an IP address, from a GeoIP2/GeoLite2 City database.

The loader's geo enrichment (`app.ingest.enrich.geo`) and the edge's targeting both look
addresses up here, so a rule and a report agree on where a visitor was.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any, NamedTuple

import maxminddb

log = logging.getLogger(__name__)

# Past this many addresses (or networks) a cache is dropped whole: cheaper than LRU
# bookkeeping on every hit, and a busy network is back in the cache after one lookup.
CACHE_MAX = 200_000

# Names are stored in the first language present; Chinese provinces read naturally in zh-CN.
LANGUAGES = ("zh-CN", "en")


_V4_MAPPED = bytes(10) + b"\xff\xff"


class GeoResult(NamedTuple):
    country_code: str = ""
    province: str = ""
    city: str = ""


EMPTY = GeoResult()


class GeoDatabaseError(Exception):
    """The geo database exists but cannot be read."""


def _name(entry: dict[str, Any] | None) -> str:
    if not entry:
        return ""
    names = entry.get("names") or {}
    for lang in LANGUAGES:
        if name := names.get(lang):
            return name
    return ""


def to_result(record: Any) -> GeoResult:
    """Map a GeoIP2 City record (or None for an address with no data) to a GeoResult."""
    if not isinstance(record, dict):
        return EMPTY
    country = record.get("country") or record.get("registered_country") or {}
    subdivisions = record.get("subdivisions") or [None]
    return GeoResult(
        country_code=country.get("iso_code", ""),
        province=_name(subdivisions[0]),
        city=_name(record.get("city")),
    )


class GeoLookup:
    """Cached lookups on an open MaxMind database; never raises on bad input.

    The database is a prefix tree: every address falls in exactly one of its leaf networks,
    and the whole network has one answer. So an answer is cached for the network the database
    reports (`prefix_len`), and an address of a network seen before is answered without
    reading the database: Chinese carrier blocks are /13 to /22, so 100k visitors' addresses
    fall in a few thousand networks, where a /24 cache would hold tens of thousands.
    """

    def __init__(self, reader: maxminddb.Reader, cache_max: int = CACHE_MAX) -> None:
        self._reader = reader
        # The same visitor's address comes back within a batch: skip parsing it again.
        self._by_text: dict[str, GeoResult] = {}
        # Leaf networks seen, per family: {prefix length: {address >> host bits: result}},
        # the most used prefix lengths first (probed in this order).
        self._networks: dict[int, dict[int, dict[int, GeoResult]]] = {32: {}, 128: {}}
        self._network_count = 0
        self._cache_max = cache_max

    @classmethod
    def open(cls, path: Path) -> GeoLookup:
        try:
            reader = maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoDatabaseError(f"cannot open geo database {path}: {exc}") from exc
        return cls(reader)

    def lookup(self, ip: str) -> GeoResult:
        hit = self._by_text.get(ip)
        if hit is not None:
            return hit
        result = self._lookup(ip)
        if len(self._by_text) >= self._cache_max:
            self._by_text.clear()
        self._by_text[ip] = result
        return result

    def _lookup(self, ip: str) -> GeoResult:
        # Packing validates the address; IPv4 and IPv6 keep separate network tables, since
        # their prefix lengths count from different roots. An IPv4-mapped IPv6 address is
        # looked up as the IPv4 address it carries.
        try:
            if ":" in ip:
                packed = socket.inet_pton(socket.AF_INET6, ip)
                bits = 128
                if packed[:12] == _V4_MAPPED:  # ::ffff:a.b.c.d is a.b.c.d (dual-stack peers)
                    packed, bits = packed[12:], 32
                    ip = socket.inet_ntop(socket.AF_INET, packed)  # not every database aliases
            else:
                packed = socket.inet_pton(socket.AF_INET, ip)
                bits = 32
        except (OSError, TypeError, ValueError):
            return EMPTY
        address = int.from_bytes(packed, "big")
        by_length = self._networks[bits]
        for prefix_len, networks in by_length.items():
            hit = networks.get(address >> (bits - prefix_len))
            if hit is not None:
                return hit
        try:
            record, prefix_len = self._reader.get_with_prefix_len(ip)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return EMPTY
        result = to_result(record)
        if 0 <= prefix_len <= bits:
            self._remember(bits, prefix_len, address >> (bits - prefix_len), result)
        return result

    def _remember(self, bits: int, prefix_len: int, network: int, result: GeoResult) -> None:
        if self._network_count >= self._cache_max:
            self._networks = {32: {}, 128: {}}
            self._network_count = 0
        by_length = self._networks[bits]
        by_length.setdefault(prefix_len, {})[network] = result
        self._network_count += 1
        self._networks[bits] = dict(sorted(by_length.items(), key=lambda kv: -len(kv[1])))

    def close(self) -> None:
        self._reader.close()


class NullGeo:
    """Stands in for GeoLookup when no database is installed."""

    def lookup(self, ip: str) -> GeoResult:
        return EMPTY

    def close(self) -> None:
        pass


Geo = GeoLookup | NullGeo


def open_geo(path: Path | None) -> Geo:
    """Open the City database at `path`; without one, hits are stored with empty geo."""
    if path is None or not path.is_file():
        log.warning("geo database not found at %s; geo fields will be empty", path)
        return NullGeo()
    return GeoLookup.open(path)
