"""The catalog's entities: advertisers, partners, channels, campaigns, sites, placements,
creatives and tracked links, as frozen dataclasses, with their constructors and generated ids.

Plain values only, no storage: the edge reads them from the snapshot file without loading
the ClickHouse driver (`app.catalog.rows` stores them). Ids and codes come from the OS random
source, never from input.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

_CODE_ALPHABET = string.ascii_letters + string.digits
STATUSES = ("active", "paused", "archived")


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def now() -> datetime:
    # Millisecond precision, as stored (DateTime64(3)): what a create returns equals a read.
    stamp = datetime.now(UTC)
    return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Advertiser:
    id: str
    name: str
    postback_secret: str
    status: str = "active"
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class Partner:
    """A publisher who earns commission for the results its sites bring."""

    id: str  # a slug chosen by the media buyer; sites and partner users refer to it
    name: str
    contact_name: str = ""
    contact_email: str = ""
    status: str = "active"
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class Channel:
    """A channel: a type from the users' taxonomy (portal, search, campus…) plus free tags."""

    id: str
    name: str
    type: str
    tags: list[str] = field(default_factory=list)
    status: str = "active"
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


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
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class Site:
    site_key: str
    name: str
    partner: str  # Partner.id; "" for an advertiser's own site
    domain: str
    channel: str  # Channel.id
    status: str = "active"
    advertiser_id: str = ""  # set for the advertiser's own (landing) site
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


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
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


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
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


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
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


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


def kind_of(cls: type) -> Kind:
    return _KIND[cls]


def key_of(entity: Entity) -> str:
    return getattr(entity, _KIND[type(entity)].key)


def to_row(entity: Entity) -> dict[str, Any]:
    """The entity as plain values (JSON fields as dicts/lists), e.g. for the audit log."""
    return asdict(entity)


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
