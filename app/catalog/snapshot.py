"""The catalog snapshot the hit path reads, and its file format: every entity by key, as
JSON, in `<data dir>/catalog.json`, which the core rewrites on every change and the edges read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from app.catalog.entities import (
    KINDS,
    Advertiser,
    Campaign,
    Channel,
    Creative,
    E,
    Link,
    Partner,
    Placement,
    Site,
    kind_of,
)

# The snapshot's file name in the data directory (Settings.catalog_file). It holds the
# advertisers' postback secrets: written 0600.
SNAPSHOT_FILE = "catalog.json"


@dataclass(frozen=True)
class CatalogSnapshot:
    """Everything the hit path needs, as plain dicts; swapped whole on refresh."""

    version: int = 0
    advertisers: dict[str, Advertiser] = field(default_factory=dict)
    partners: dict[str, Partner] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    placements: dict[str, Placement] = field(default_factory=dict)
    creatives: dict[str, Creative] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)

    def click_source(self, code: str) -> tuple[dict[str, str], Advertiser] | None:
        """What a click id's prefix says about the click: a tracked link's code or a served
        creative's id; the source fields and the advertiser (None: no such source)."""
        link = self.links.get(code)
        if link is not None:
            source = {
                "site_key": link.site_key,
                "campaign_id": link.campaign_id,
                "placement_id": link.placement_id,
                "creative_id": link.creative_id,
                "link_code": code,
            }
        elif (creative := self.creatives.get(code)) is not None:
            source = {"campaign_id": creative.campaign_id, "creative_id": creative.id}
        else:
            return None
        campaign = self.campaigns.get(source["campaign_id"])
        advertiser = self.advertisers.get(campaign.advertiser_id) if campaign else None
        return (source, advertiser) if advertiser else None

    def sites_of(self, partner_id: str) -> list[str]:
        """The keys of a partner's sites, sorted (none for an empty partner id)."""
        if not partner_id:
            return []
        return sorted(k for k, site in self.sites.items() if site.partner == partner_id)

    def of(self, cls: type[E]) -> dict[str, E]:
        return getattr(self, kind_of(cls).table)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot_to_json(snapshot: CatalogSnapshot) -> bytes:
    out: dict[str, Any] = {"version": snapshot.version}
    for kind in KINDS:
        out[kind.table] = [
            {k: _jsonable(v) for k, v in asdict(item).items()}
            for item in getattr(snapshot, kind.table).values()
        ]
    return orjson.dumps(out)


def _from_jsonable(item: dict[str, Any]) -> dict[str, Any]:
    for stamp in ("created_at", "updated_at"):
        item[stamp] = datetime.fromisoformat(item[stamp])
    for day in ("start_date", "end_date"):
        if item.get(day):
            item[day] = date.fromisoformat(item[day])
    if item.get("budget") is not None:
        item["budget"] = Decimal(item["budget"])
    return item


def snapshot_from_json(data: bytes) -> CatalogSnapshot:
    raw = orjson.loads(data)
    tables = {}
    for kind in KINDS:
        items = (kind.cls(**_from_jsonable(item)) for item in raw.get(kind.table, []))
        tables[kind.table] = {getattr(e, kind.key): e for e in items}
    return CatalogSnapshot(version=raw["version"], **tables)
