"""truncate_ip: the IP privacy option, applied after the geo lookup used the full address."""

from __future__ import annotations

import ipaddress

import pyarrow as pa

from app.ingest.enrich.columnar import distinct, put, spread


def truncate(ip: str) -> str:
    """Zero the last IPv4 octet, or the last 80 bits of an IPv6 address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if addr.version == 4:
        return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(addr) & ~((1 << 80) - 1)))


def truncate_ip(table: pa.Table) -> pa.Table:
    """Column step: each distinct address truncated once; an empty one stays empty."""
    ips, rows = distinct(table["ip"])
    return put(table, "ip", spread([truncate(ip) if ip else "" for ip in ips], pa.string(), rows))
