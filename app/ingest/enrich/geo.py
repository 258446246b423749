"""Geo enrichment: country, province and city from a GeoIP2/GeoLite2 City database."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import maxminddb

from app.ingest.reasons import RejectReason
from app.ingest.record import Record

log = logging.getLogger(__name__)

# Past this many entries the cache is dropped whole: cheaper than LRU bookkeeping on every hit,
# and a busy network range is back in the cache after one lookup.
CACHE_MAX = 200_000

# Network keys: the leading bytes of the packed address. A /24 (IPv4) or /48 (IPv6) is the
# smallest block GeoIP data is commonly split on; a result is only shared by the whole block
# when the database says the matching network is at least that large.
_V4_KEY_BYTES = 3
_V6_KEY_BYTES = 6
# Names are stored in the first language present; Chinese provinces read naturally in zh-CN.
LANGUAGES = ("zh-CN", "en")


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
    """Cached lookups on an open MaxMind database; never raises on bad input."""

    def __init__(self, reader: maxminddb.Reader, cache_max: int = CACHE_MAX) -> None:
        self._reader = reader
        self._cache: dict[bytes, GeoResult] = {}
        # The same visitor's address comes back within a batch: skip parsing it again.
        self._by_text: dict[str, GeoResult] = {}
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
        # Packing validates the address and gives cheap byte keys; IPv4 and IPv6 keys differ
        # in length (3/4 vs 6/16 bytes), so one dict holds both without collisions.
        try:
            if ":" in ip:
                packed = socket.inet_pton(socket.AF_INET6, ip)
                key_bytes = _V6_KEY_BYTES
            else:
                packed = socket.inet_pton(socket.AF_INET, ip)
                key_bytes = _V4_KEY_BYTES
        except (OSError, TypeError, ValueError):
            return EMPTY
        cache = self._cache
        net_key = packed[:key_bytes]
        hit = cache.get(net_key) or cache.get(packed)
        if hit is not None:
            return hit
        try:
            record, prefix_len = self._reader.get_with_prefix_len(ip)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return EMPTY
        result = to_result(record)
        if len(cache) >= self._cache_max:
            cache.clear()
        # A network smaller than the key block may sit beside others with different data,
        # so only the exact address may be cached then.
        cache[net_key if prefix_len <= key_bytes * 8 else packed] = result
        return result

    # The request path wants the same answer; the name says what it is used for there.
    lookup_region = lookup

    def close(self) -> None:
        self._reader.close()


class NullGeo:
    """Stands in for GeoLookup when no database is installed."""

    def lookup(self, ip: str) -> GeoResult:
        return EMPTY

    lookup_region = lookup

    def close(self) -> None:
        pass


Geo = GeoLookup | NullGeo


def open_geo(path: Path | None) -> Geo:
    """Open the City database at `path`; without one, hits are stored with empty geo."""
    if path is None or not path.is_file():
        log.warning("geo database not found at %s; geo fields will be empty", path)
        return NullGeo()
    return GeoLookup.open(path)


def put_geo(geo: Geo) -> Callable[[Record], RejectReason | None]:
    """Enrichment step: fill country_code, province and city from the record's ip."""
    lookup = geo.lookup

    # Named like the factory so tracebacks and reprs say which step this is.
    def put_geo(record: Record) -> RejectReason | None:
        record["country_code"], record["province"], record["city"] = lookup(record.get("ip") or "")
        return None

    return put_geo
