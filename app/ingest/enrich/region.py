"""put_region and put_isp: the visitor's region as GB/T 2260 codes and its carrier.

put_region runs after put_geo and turns the geo database's names (which vary: 北京市 or 北京,
Inner Mongolia or 内蒙古自治区) into stable codes, the ones targeting rules and reports use.
put_isp looks the full address up in the carrier data before any IP truncation.
"""

from __future__ import annotations

from app.geo.isp import Isp
from app.ingest.enrich.pipeline import NO_DROPS, Drops, Step
from app.ingest.record import Record
from app.targeting.visitor import region_codes

CACHE_MAX = 200_000


_CODES: dict[tuple[str, str, str], tuple[str, str]] = {}  # few distinct places: keep them


def put_region(records: list[Record]) -> Drops:
    codes = _CODES
    for record in records:
        country = record.get("country_code")
        if country:
            place = (country, record.get("province") or "", record.get("city") or "")
            found = codes.get(place)
            if found is None:
                if len(codes) >= CACHE_MAX:
                    codes.clear()
                found = codes[place] = region_codes(*place)
            record["province_code"], record["city_code"] = found
    return NO_DROPS


def put_isp(isp: Isp) -> Step:
    lookup = isp.lookup
    cache: dict[str, str] = {}  # the same visitors come back batch after batch

    # Named like the factory so tracebacks and reprs say which step this is.
    def put_isp(records: list[Record]) -> Drops:
        for record in records:
            ip = record.get("ip") or ""
            carrier = cache.get(ip)
            if carrier is None:
                carrier = lookup(ip)
                if len(cache) >= CACHE_MAX:
                    cache.clear()
                cache[ip] = carrier
            if carrier:
                record["isp"] = carrier
        return NO_DROPS

    return put_isp
