"""Catalog rows in ClickHouse: advertisers, partners, channels, sites, campaigns, placements,
creatives and tracked links.

Each change inserts a new versioned row (ReplacingMergeTree), read back with FINAL. Ids and
codes are generated here; secrets come from the OS random source, never from input.
Structured settings (targeting, routing rules, split variants) are JSON text columns: the
hit path reads them from the snapshot, never from SQL.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from app.store.client import Store

_CODE_ALPHABET = string.ascii_letters + string.digits
STATUSES = ("active", "paused", "archived")


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
class Partner:
    """A publisher who earns commission for the results its sites bring."""

    id: str  # a slug chosen by the media buyer; sites and partner users refer to it
    name: str
    contact_name: str = ""
    contact_email: str = ""
    status: str = "active"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Channel:
    """A channel: a type from the users' taxonomy (portal, search, campus…) plus free tags."""

    id: str
    name: str
    type: str
    tags: list[str] = field(default_factory=list)
    status: str = "active"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Campaign:
    id: str
    advertiser_id: str
    name: str
    status: str = "active"
    start_date: date | None = None
    end_date: date | None = None
    budget: Decimal | None = None
    currency: str = "CNY"
    goal_event: str = "order"
    timezone: str = "Asia/Shanghai"
    frequency_cap: int = 0  # impressions per visitor per day (campaign time zone); 0 = none
    targeting: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Site:
    site_key: str
    name: str
    partner: str  # Partner.id; "" for an advertiser's own site
    domain: str
    channel: str  # Channel.id
    status: str = "active"
    advertiser_id: str = ""  # set for the advertiser's own (landing) site
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Placement:
    """A slot on a partner site, and the campaigns booked into it."""

    id: str
    site_key: str
    name: str
    position: str = ""
    width: int = 0
    height: int = 0
    campaign_ids: list[str] = field(default_factory=list)
    targeting: dict[str, Any] = field(default_factory=dict)
    status: str = "active"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Creative:
    id: str
    campaign_id: str
    name: str
    kind: str  # image | text | html
    landing_url: str
    width: int = 0
    height: int = 0
    image_url: str = ""
    text: str = ""
    html: str = ""
    weight: int = 100
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
    # [{"id", "url", "weight"}]: a split of the default landing, sticky per visitor
    variants: list[dict[str, Any]] = field(default_factory=list)
    # [{"id", "targeting", "landing_url" | "variants"}]: routes by visitor, most specific wins
    rules: list[dict[str, Any]] = field(default_factory=list)
    targeting: dict[str, Any] = field(default_factory=dict)  # who may follow the link at all
    fallback_url: str = ""  # where the others go; "" = a "not available in your region" page
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


Entity = Advertiser | Partner | Channel | Campaign | Site | Placement | Creative | Link
E = TypeVar("E", Advertiser, Partner, Channel, Campaign, Site, Placement, Creative, Link)


@dataclass(frozen=True)
class Kind:
    """Where one entity type lives: table, key column, snapshot attribute, audit name."""

    cls: type
    table: str
    key: str
    name: str


KINDS: tuple[Kind, ...] = (
    Kind(Advertiser, "advertisers", "id", "advertiser"),
    Kind(Partner, "partners", "id", "partner"),
    Kind(Channel, "channels", "id", "channel"),
    Kind(Campaign, "campaigns", "id", "campaign"),
    Kind(Site, "sites", "site_key", "site"),
    Kind(Placement, "placements", "id", "placement"),
    Kind(Creative, "creatives", "id", "creative"),
    Kind(Link, "links", "code", "link"),
)
# Table and key column per entity type: identifiers from this allow-list only.
_KIND: dict[type, Kind] = {k.cls: k for k in KINDS}
# Stored as JSON text; everything else maps to a native column type.
_JSON_FIELDS = frozenset({"targeting", "variants", "rules"})


def kind_of(cls: type) -> Kind:
    return _KIND[cls]


def key_of(entity: Entity) -> str:
    return getattr(entity, _KIND[type(entity)].key)


def _columns(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def to_row(entity: Entity) -> dict[str, Any]:
    """The entity as plain values (JSON fields as dicts/lists), e.g. for the audit log."""
    return asdict(entity)


def save(store: Store, entity: E) -> E:
    """Insert a new version of `entity` (create or update)."""
    kind = _KIND[type(entity)]
    entity = replace(entity, updated_at=_now())
    values = asdict(entity)
    columns = _columns(kind.cls)
    row = [orjson.dumps(values[c]).decode() if c in _JSON_FIELDS else values[c] for c in columns]
    store.insert_rows(kind.table, [[*row, _version()]], [*columns, "version"])
    return entity


def load_all(store: Store, cls: type[E]) -> list[E]:
    kind = _KIND[cls]
    cols = _columns(cls)
    sql = f"SELECT {', '.join(cols)} FROM {kind.table} FINAL ORDER BY {kind.key}"  # noqa: S608
    return [cls(**_clean(row)) for row in store.query_dicts(sql)]


def get(store: Store, cls: type[E], key: str) -> E | None:
    kind = _KIND[cls]
    cols = _columns(cls)
    sql = (
        f"SELECT {', '.join(cols)} FROM {kind.table} FINAL "  # noqa: S608 (allow-list)
        f"WHERE {kind.key} = {{key:String}}"
    )
    rows = store.query_dicts(sql, {"key": key})
    return cls(**_clean(rows[0])) if rows else None


def catalog_version(store: Store) -> int:
    """A number that changes whenever any catalog row changes (for cache refresh)."""
    parts = [f"(SELECT max(version) FROM {k.table})" for k in KINDS]  # noqa: S608
    sql = f"SELECT greatest({', '.join(parts)})"  # noqa: S608 (allow-list)
    return int(store.query(sql)[0][0] or 0)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        elif key in _JSON_FIELDS:
            value = orjson.loads(value) if value else ([] if key != "targeting" else {})
        elif key == "tags" or key == "campaign_ids":
            value = list(value)
        out[key] = value
    return out


# -- constructors: generated ids ---------------------------------------------------------


def new_advertiser(name: str) -> Advertiser:
    return Advertiser(id=f"adv_{new_code(10)}", name=name, postback_secret=secrets.token_hex(32))


def new_campaign(name: str, advertiser_id: str, **extra: Any) -> Campaign:
    return Campaign(id=f"cmp_{new_code(10)}", advertiser_id=advertiser_id, name=name, **extra)


def new_site(name: str, partner: str, domain: str, channel: str, **extra: Any) -> Site:
    return Site(
        site_key=new_code(12), name=name, partner=partner, domain=domain, channel=channel, **extra
    )


def new_placement(site_key: str, name: str, **extra: Any) -> Placement:
    return Placement(id=f"pl_{new_code(10)}", site_key=site_key, name=name, **extra)


def new_creative(
    campaign_id: str, name: str, kind: str, landing_url: str, **extra: Any
) -> Creative:
    return Creative(
        id=f"cr_{new_code(10)}",
        campaign_id=campaign_id,
        name=name,
        kind=kind,
        landing_url=landing_url,
        **extra,
    )


def new_link(campaign_id: str, site_key: str, landing_url: str, **extra: Any) -> Link:
    return Link(
        code=new_code(8),
        campaign_id=campaign_id,
        site_key=site_key,
        landing_url=landing_url,
        **extra,
    )


# -- the snapshot the hit path reads -------------------------------------------------------


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
        return getattr(self, _KIND[cls].table)


def load_snapshot(store: Store) -> CatalogSnapshot:
    version = catalog_version(store)
    tables = {k.table: {key_of(e): e for e in load_all(store, k.cls)} for k in KINDS}
    return CatalogSnapshot(version=version, **tables)


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
