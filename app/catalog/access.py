"""Who may read and change which part of the catalog: one policy for the API, the pages and
the CLI. Partners see only their own partner row, sites, placements and links (another's
rows are filtered out, so they answer as absent); finance reads without postback secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.auth.principal import Principal
from app.catalog.snapshot import CatalogSnapshot

STAFF = ("admin", "media_buyer")
EVERYONE = ("admin", "media_buyer", "finance", "partner")
# Who may read each kind; partners only their own rows (see `visible_rows`).
READERS: dict[str, tuple[str, ...]] = {
    "advertisers": ("admin", "media_buyer", "finance"),
    "partners": EVERYONE,
    "channels": EVERYONE,
    "campaigns": ("admin", "media_buyer", "finance"),
    "sites": EVERYONE,
    "placements": EVERYONE,
    "creatives": ("admin", "media_buyer", "finance"),
    "links": EVERYONE,
}
SECRET_READERS = frozenset(STAFF)


def visible_rows(principal: Principal, plural: str, snapshot: CatalogSnapshot) -> Callable:
    """A filter for the rows this principal may see."""
    if principal.role != "partner":
        return lambda row: True
    partner = principal.partner_id or ""
    if plural == "partners":
        return lambda row: row.id == partner
    if plural == "channels":
        return lambda row: True
    sites = set(snapshot.sites_of(partner))
    if plural == "sites":
        return lambda row: row.partner == partner
    return lambda row: row.site_key in sites  # placements, links


def shown_to(principal: Principal, plural: str, row: dict[str, Any]) -> dict[str, Any]:
    if plural == "advertisers" and principal.role not in SECRET_READERS:
        row["postback_secret"] = ""  # finance reads advertisers, never their secrets
    return row
