"""truncate_ip: the IP privacy option, applied after the geo lookup used the full address."""

from __future__ import annotations

import ipaddress

from app.ingest.enrich.pipeline import NO_DROPS, Drops
from app.ingest.record import Record


def truncate(ip: str) -> str:
    """Zero the last IPv4 octet, or the last 80 bits of an IPv6 address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if addr.version == 4:
        return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(addr) & ~((1 << 80) - 1)))


def truncate_ip(records: list[Record]) -> Drops:
    # A visitor's address comes back many times in a slice: truncate each one once.
    done: dict[str, str] = {}
    for record in records:
        ip = record.get("ip")
        if ip:
            short = done.get(ip)
            if short is None:
                short = done[ip] = truncate(ip)
            record["ip"] = short
    return NO_DROPS
