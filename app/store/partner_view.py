"""What a partner sees of an event or reject row: nothing personal beyond what its own page
collected, and nothing of the advertiser's business.

- The visitor's address is truncated (last IPv4 octet, last 80 IPv6 bits zeroed), as
  ADTRACK_IP_PRIVACY=truncate would store it: enough to check geo, not to find a person.
- An order is the advertiser's: on a row the partner's own page did not report (a signed
  postback, or an order on the advertiser's site that its click brought) the partner sees
  that an order happened, with its status, time, click and place, but no order id, amount,
  currency or props (the postback's address, the network's parameters).
- A row on another site (the advertiser's landing pages its clicks brought) shows no page
  address, referrer or the advertiser's first-party visitor, session or page-view ids.
- A rejected postback's raw query (signature, amounts) is the advertiser's too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from typing import Any

_ORDER_DETAILS = ("order_id", "amount", "currency")
_ADVERTISER_PAGE = (
    "url",
    "referrer",
    "referrer_id",
    "visitor_id",
    "session_id",
    "pageview_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)


def truncated_ip(ip: str) -> str:
    """Zero the last IPv4 octet or the last 80 bits of an IPv6 address ("" if not one).
    The loader's truncate_ip does the same at storage (app/ingest/enrich/privacy.py)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if addr.version == 4:
        return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(addr) & ~((1 << 80) - 1)))


def event_for_partner(row: dict[str, Any], own_sites: Collection[str]) -> dict[str, Any]:
    out = dict(row)
    if "ip" in out:
        out["ip"] = truncated_ip(out["ip"] or "")
    props = out.get("props") or {}
    own_page = out.get("site_key") in own_sites
    # Orders stored before `order_source` existed are known as postbacks by `postback_ip`.
    postback = out.get("order_source") == "postback" or "postback_ip" in props
    if out.get("event_type") == "order" and (postback or not own_page):
        for column in _ORDER_DETAILS:
            if column in out:
                out[column] = None if column == "amount" else ""
        out["props"] = {}
    elif postback:
        out["props"] = {}
    if not own_page:
        for column in _ADVERTISER_PAGE:
            if column in out:
                out[column] = ""
        out["props"] = {}
    return out


def reject_for_partner(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    if "ip" in out:
        out["ip"] = truncated_ip(out["ip"] or "")
    if out.get("endpoint") == "/postback":
        out["raw"] = ""
    return out
