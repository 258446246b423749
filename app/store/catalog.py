"""Catalog rows in ClickHouse: advertisers, campaigns, sites and tracked links.

Each change inserts a new versioned row (ReplacingMergeTree), read back with FINAL.
Ids and codes are generated here; secrets come from os.urandom, never from input.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from app.store.client import Store

_CODE_ALPHABET = string.ascii_letters + string.digits


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def _now() -> datetime:
    # Millisecond precision, as stored (DateTime64(3)): what a create returns equals a read.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _version() -> int:
    return time.time_ns()


@dataclass(frozen=True)
class Advertiser:
    id: str
    name: str
    postback_secret: str
    status: str = "active"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Campaign:
    id: str
    advertiser_id: str
    name: str
    status: str = "active"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Site:
    site_key: str
    name: str
    partner: str
    domain: str
    channel: str
    status: str = "active"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Link:
    code: str
    campaign_id: str
    site_key: str
    landing_url: str
    placement_id: str = ""
    creative_id: str = ""
    status: str = "active"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


Entity = Advertiser | Campaign | Site | Link
E = TypeVar("E", Advertiser, Campaign, Site, Link)

# Table and key column per entity type: identifiers from this allow-list only.
_TABLES: dict[type, tuple[str, str]] = {
    Advertiser: ("advertisers", "id"),
    Campaign: ("campaigns", "id"),
    Site: ("sites", "site_key"),
    Link: ("links", "code"),
}


def _columns(kind: type) -> list[str]:
    return [f.name for f in fields(kind)]


def save(store: Store, entity: Entity) -> Entity:
    """Insert a new version of `entity` (create or update)."""
    kind = type(entity)
    table, _ = _TABLES[kind]
    entity = replace(entity, updated_at=_now())
    values = asdict(entity)
    columns = [*_columns(kind), "version"]
    row = [values[c] for c in columns[:-1]] + [_version()]
    store.insert_rows(table, [row], columns)
    return entity


def load_all(store: Store, kind: type[E]) -> list[E]:
    table, key = _TABLES[kind]
    cols = _columns(kind)
    sql = f"SELECT {', '.join(cols)} FROM {table} FINAL ORDER BY {key}"  # noqa: S608 (allow-list)
    return [kind(**_clean(row)) for row in store.query_dicts(sql)]


def get(store: Store, kind: type[E], key: str) -> E | None:
    table, key_col = _TABLES[kind]
    cols = _columns(kind)
    sql = (
        f"SELECT {', '.join(cols)} FROM {table} FINAL "  # noqa: S608 (allow-list)
        f"WHERE {key_col} = {{key:String}}"
    )
    rows = store.query_dicts(sql, {"key": key})
    return kind(**_clean(rows[0])) if rows else None


def catalog_version(store: Store) -> int:
    """A number that changes whenever any catalog row changes (for cache refresh)."""
    parts = [f"(SELECT max(version) FROM {table})" for table, _ in _TABLES.values()]  # noqa: S608
    sql = f"SELECT greatest({', '.join(parts)})"  # noqa: S608 (allow-list)
    return int(store.query(sql)[0][0] or 0)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        out[key] = value
    return out


def new_advertiser(name: str) -> Advertiser:
    return Advertiser(id=f"adv_{new_code(10)}", name=name, postback_secret=secrets.token_hex(32))


def new_campaign(name: str, advertiser_id: str) -> Campaign:
    return Campaign(id=f"cmp_{new_code(10)}", advertiser_id=advertiser_id, name=name)


def new_site(name: str, partner: str, domain: str, channel: str) -> Site:
    return Site(site_key=new_code(12), name=name, partner=partner, domain=domain, channel=channel)


def new_link(campaign_id: str, site_key: str, landing_url: str, **extra: str) -> Link:
    return Link(
        code=new_code(8),
        campaign_id=campaign_id,
        site_key=site_key,
        landing_url=landing_url,
        **extra,
    )


@dataclass(frozen=True)
class CatalogSnapshot:
    """Everything the hit path needs, as plain dicts; swapped whole on refresh."""

    version: int = 0
    advertisers: dict[str, Advertiser] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)

    def advertiser_for_link(self, code: str) -> Advertiser | None:
        link = self.links.get(code)
        campaign = self.campaigns.get(link.campaign_id) if link else None
        return self.advertisers.get(campaign.advertiser_id) if campaign else None


def load_snapshot(store: Store) -> CatalogSnapshot:
    version = catalog_version(store)
    return CatalogSnapshot(
        version=version,
        advertisers={a.id: a for a in load_all(store, Advertiser)},
        campaigns={c.id: c for c in load_all(store, Campaign)},
        sites={s.site_key: s for s in load_all(store, Site)},
        links={link.code: link for link in load_all(store, Link)},
    )


def snapshot_to_json(snapshot: CatalogSnapshot) -> bytes:
    def rows(items: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(item).items()}
            for item in items.values()
        ]

    return orjson.dumps(
        {
            "version": snapshot.version,
            "advertisers": rows(snapshot.advertisers),
            "campaigns": rows(snapshot.campaigns),
            "sites": rows(snapshot.sites),
            "links": rows(snapshot.links),
        }
    )


def snapshot_from_json(data: bytes) -> CatalogSnapshot:
    raw = orjson.loads(data)

    def build(kind: type[E], key: str, items: list[dict[str, Any]]) -> dict[str, E]:
        out = {}
        for item in items:
            for stamp in ("created_at", "updated_at"):
                item[stamp] = datetime.fromisoformat(item[stamp])
            entity = kind(**item)
            out[getattr(entity, key)] = entity
        return out

    return CatalogSnapshot(
        version=raw["version"],
        advertisers=build(Advertiser, "id", raw["advertisers"]),
        campaigns=build(Campaign, "id", raw["campaigns"]),
        sites=build(Site, "site_key", raw["sites"]),
        links=build(Link, "code", raw["links"]),
    )
