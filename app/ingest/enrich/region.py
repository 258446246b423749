"""put_region and put_isp: the visitor's region as GB/T 2260 codes and its carrier.

put_region runs after put_geo and turns the geo database's names (which vary: 北京市 or 北京,
Inner Mongolia or 内蒙古自治区) into stable codes, the ones targeting rules and reports use.
put_isp looks the full address up in the carrier data before any IP truncation.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from app.geo.isp import Isp
from app.geo.regions import region_codes
from app.ingest.enrich.columnar import distinct, put, spread
from app.ingest.enrich.pipeline import ColumnStep

CACHE_MAX = 200_000
# Joins a place's three names into one key column; no name holds this control character.
_SEP = "\x1f"

_CODES: dict[tuple[str, str, str], tuple[str, str]] = {}  # few distinct places: keep them


def put_region(table: pa.Table) -> pa.Table:
    """Column step: province_code and city_code for each distinct place put_geo found."""
    places, rows = distinct(
        pc.binary_join_element_wise(table["country_code"], table["province"], table["city"], _SEP)
    )
    codes = _CODES
    province_codes, city_codes = [], []
    for place in places:
        country, province, city = place.split(_SEP)
        found = ("", "")
        if country:
            found = codes.get((country, province, city))
            if found is None:
                if len(codes) >= CACHE_MAX:
                    codes.clear()
                found = codes[(country, province, city)] = region_codes(country, province, city)
        province_codes.append(found[0])
        city_codes.append(found[1])
    table = put(table, "province_code", spread(province_codes, pa.string(), rows))
    return put(table, "city_code", spread(city_codes, pa.string(), rows))


def put_isp(isp: Isp) -> ColumnStep:
    lookup = isp.lookup
    cache: dict[str, str] = {}  # the same visitors come back batch after batch

    # Named like the factory so tracebacks and reprs say which step this is.
    def put_isp(table: pa.Table) -> pa.Table:
        """Column step: the carrier of each distinct address."""
        ips, rows = distinct(table["ip"])
        carriers = []
        for ip in ips:
            carrier = cache.get(ip)
            if carrier is None:
                carrier = lookup(ip)
                if len(cache) >= CACHE_MAX:
                    cache.clear()
                cache[ip] = carrier
            carriers.append(carrier)
        return put(table, "isp", spread(carriers, pa.string(), rows))

    return put_isp
