"""The visitor behind a hit, as targeting sees it: country, region codes, device, OS, carrier.

Built only when a decision needs it (a link or placement with geo/device/carrier conditions),
from the same geo database the loader enriches with, so a rule and a report agree on where
a visitor was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.geo.device import device_class, os_family
from app.geo.geolite import open_geo
from app.geo.isp import open_isp
from app.geo.regions import region_codes
from app.settings import Settings
from app.targeting.compile import Visitor

CACHE_MAX = 100_000


class GeoSource(Protocol):
    def lookup(self, ip: str) -> tuple[str, str, str]: ...  # country, province, city names


RegionCodes = Callable[[str, str, str], tuple[str, str]]  # names -> (province, city) codes
Carrier = Callable[[str], str]  # ip -> carrier code or ""


class VisitorLookup:
    def __init__(self, geo: GeoSource, region_codes: RegionCodes, carrier: Carrier) -> None:
        self._geo = geo
        self._region_codes = region_codes
        self._carrier = carrier
        self._places: dict[str, tuple[str, str, str, str]] = {}

    def _place(self, ip: str) -> tuple[str, str, str, str]:
        hit = self._places.get(ip)
        if hit is None:
            country, province, city = self._geo.lookup(ip)
            province_code, city_code = self._region_codes(country, province, city)
            hit = (country, province_code, city_code, self._carrier(ip))
            if len(self._places) >= CACHE_MAX:
                self._places.clear()
            self._places[ip] = hit
        return hit

    def __call__(self, ip: str, ua: str) -> Visitor:
        country, province, city, carrier = self._place(ip)
        return Visitor(country, province, city, device_class(ua), os_family(ua), carrier)


def open_visitor_lookup(settings: Settings) -> VisitorLookup:
    """The edge's lookup: the configured geo and carrier databases (a missing one leaves
    its fields "", so conditions on them match nobody)."""
    path = settings.geoip_db if settings.geoip_db.exists() else None
    return VisitorLookup(open_geo(path), region_codes, open_isp(settings.isp_db).lookup)
