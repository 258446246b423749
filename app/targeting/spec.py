"""Targeting specs: validated and normalised at the API, stored as JSON, compiled at the edge.

A spec is a dict; every key is optional and an absent or empty key means "any":

    {"countries": ["CN"], "exclude_countries": [],
     "regions": ["150000", "150100"], "exclude_regions": [],   # GB/T 2260 codes
     "devices": ["mobile", "tablet"], "os": ["android", "ios"],
     "carriers": ["china_mobile"],
     "weekdays": [1, 2, 3, 4, 5],                                # ISO: Monday = 1
     "hours": [[9, 12], [14, 18]]}                               # [start, end) in local hours

Regions may be given as codes or names (内蒙古, 呼和浩特, Hohhot): `normalize` turns them into
codes with the resolver it is given, so rules and reports use stable codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

DEVICES = ("desktop", "mobile", "tablet", "other")
OS_FAMILIES = ("android", "ios", "harmonyos", "windows", "macos", "linux", "other")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CARRIER = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
_LIST_KEYS = (
    "countries", "exclude_countries", "regions", "exclude_regions", "devices", "os",
    "carriers", "weekdays", "hours",
)  # fmt: skip
_MAX_ITEMS = 500

# A code or name to its code: None or ValueError (with the reason) when it names no region.
RegionResolver = Callable[[str], str | None]


class TargetingError(ValueError):
    """A spec that cannot be used: `field` is a dotted path inside the spec."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _items(spec: dict[str, Any], key: str, where: str) -> list[Any]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TargetingError(f"{where}{key}", "must be a list")
    if len(value) > _MAX_ITEMS:
        raise TargetingError(f"{where}{key}", f"at most {_MAX_ITEMS} entries")
    return value


def _strings(spec: dict[str, Any], key: str, where: str) -> list[str]:
    values = _items(spec, key, where)
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise TargetingError(f"{where}{key}.{i}", "must be a non-empty string")
    return [v.strip() for v in values]


def _dedup(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def normalize(spec: Any, resolve_region: RegionResolver, where: str = "") -> dict[str, Any]:
    """The spec with codes for regions, lower-case enums and sorted hour windows; empty
    lists dropped. Raises TargetingError naming the first bad field."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise TargetingError(where.rstrip(".") or "targeting", "must be an object")
    unknown = sorted(set(spec) - set(_LIST_KEYS))
    if unknown:
        raise TargetingError(f"{where}{unknown[0]}", f"unknown key; use {', '.join(_LIST_KEYS)}")
    out: dict[str, Any] = {}
    for key in ("countries", "exclude_countries"):
        codes = [c.upper() for c in _strings(spec, key, where)]
        for i, code in enumerate(codes):
            if not _COUNTRY.match(code):
                raise TargetingError(f"{where}{key}.{i}", "must be an ISO 3166 alpha-2 code")
        if codes:
            out[key] = _dedup(codes)
    for key in ("regions", "exclude_regions"):
        codes = []
        for i, ref in enumerate(_strings(spec, key, where)):
            try:
                code = resolve_region(ref)
            except ValueError as exc:  # the resolver says why (unknown, ambiguous)
                raise TargetingError(f"{where}{key}.{i}", str(exc)) from None
            if code is None:
                raise TargetingError(
                    f"{where}{key}.{i}", f"unknown region {ref!r}: use a GB/T 2260 code or name"
                )
            codes.append(code)
        if codes:
            out[key] = _dedup(codes)
    for key, allowed in (("devices", DEVICES), ("os", OS_FAMILIES)):
        values = [v.lower() for v in _strings(spec, key, where)]
        for i, value in enumerate(values):
            if value not in allowed:
                raise TargetingError(f"{where}{key}.{i}", f"must be one of {', '.join(allowed)}")
        if values:
            out[key] = _dedup(values)
    carriers = [v.lower() for v in _strings(spec, "carriers", where)]
    for i, value in enumerate(carriers):
        if not _CARRIER.match(value):
            raise TargetingError(f"{where}carriers.{i}", "must be a carrier code like china_mobile")
    if carriers:
        out["carriers"] = _dedup(carriers)
    weekdays = _items(spec, "weekdays", where)
    for i, day in enumerate(weekdays):
        if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 7:
            raise TargetingError(f"{where}weekdays.{i}", "must be 1 (Monday) to 7 (Sunday)")
    if weekdays:
        out["weekdays"] = sorted(set(weekdays))
    hours = _items(spec, "hours", where)
    windows = []
    for i, window in enumerate(hours):
        ok = (
            isinstance(window, list)
            and len(window) == 2
            and all(isinstance(h, int) and not isinstance(h, bool) for h in window)
            and 0 <= window[0] < window[1] <= 24
        )
        if not ok:
            raise TargetingError(
                f"{where}hours.{i}", "must be [start, end] with 0 <= start < end <= 24"
            )
        windows.append((window[0], window[1]))
    if windows:
        out["hours"] = [list(w) for w in sorted(set(windows))]
    return out
