"""The time zones adtrack accepts (reports, campaigns): IANA names that Python's zoneinfo
and the engine (ClickHouse ships its own copy of the database) both know."""

from __future__ import annotations

from zoneinfo import available_timezones

# available_timezones() leaves out the posix/ and right/ copies (ClickHouse refuses right/:
# leap seconds); "localtime" is whatever the host is set to and "Factory" is no place.
ZONES: frozenset[str] = frozenset(available_timezones()) - {"localtime", "Factory"}
ZONE_HINT = "not a known IANA time zone, e.g. Asia/Shanghai"


def known_zone(name: object) -> bool:
    """Whether `name` is a zone a report or a campaign may use: a set look-up, so a long or
    odd string (a path, 300 characters) is simply not one."""
    return isinstance(name, str) and name in ZONES
