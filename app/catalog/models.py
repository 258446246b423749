"""What a create or an edit may contain, per entity: pydantic models shared by the API, the
CLI, the admin pages and CSV import, so all four accept and refuse the same input."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.catalog.links import valid_landing_url
from app.zones import ZONE_HINT, known_zone


def _channel_types() -> dict[str, dict[str, str]]:
    text = resources.files("app").joinpath("data/channel_types.csv").read_text("utf-8")
    return {row["type"]: row for row in csv.DictReader(text.splitlines())}


CHANNEL_TYPES = _channel_types()
STATUS = Literal["active", "paused", "archived"]
GOALS = ("impression", "click", "visit", "signup", "login", "order")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
# Lower-cased first: StringConstraints would check the pattern before its own to_lower.
# (A BeforeValidator wraps what precedes it in Annotated, so it runs before the pattern.)
_lower = BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)
Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"),
    _lower,
]
OptionalSlug = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^([a-z0-9][a-z0-9_.-]*)?$"), _lower
]
Domain = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253, pattern=r"^[a-z0-9.-]+(:\d{1,5})?$"),
    _lower,
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^([^@\s]+@[^@\s]+)?$")
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Pixels = Annotated[int, Field(ge=0, le=4000)]
Weight = Annotated[int, Field(ge=0, le=10_000)]
Spec = dict[str, Any]


def _url(value: str) -> str:
    problem = valid_landing_url(value)
    if problem:
        raise ValueError(problem)
    return value


LandingUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2048), BeforeValidator(str)
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdvertiserIn(_In):
    name: Name


class AdvertiserPatch(_In):
    name: Name | None = None
    status: STATUS | None = None


# Words the pages use after /admin/catalog/{plural}/: never a key someone chooses.
RESERVED_IDS = frozenset({"import", "new", "export"})


def _not_reserved(value: str) -> str:
    if value in RESERVED_IDS:
        raise ValueError(f"{value!r} is reserved; choose another id")
    return value


class PartnerIn(_In):
    id: Slug = Field(description="a short name for the partner, e.g. nmg-portal; sites use it")
    name: Name
    contact_name: Text = ""
    contact_email: Email = ""

    _id = field_validator("id")(classmethod(lambda cls, v: _not_reserved(v)))


class PartnerPatch(_In):
    name: Name | None = None
    contact_name: Text | None = None
    contact_email: Email | None = None
    status: STATUS | None = None


def _channel_type(value: str) -> str:
    if value not in CHANNEL_TYPES:
        raise ValueError(f"must be one of {', '.join(CHANNEL_TYPES)}")
    return value


class ChannelIn(_In):
    id: Slug
    name: Name
    type: Slug = Field(description="the channel type: portal, search, community, campus, …")
    tags: list[Tag] = Field(default_factory=list, max_length=50)

    _type = field_validator("type")(classmethod(lambda cls, v: _channel_type(v)))
    _id = field_validator("id")(classmethod(lambda cls, v: _not_reserved(v)))


class ChannelPatch(_In):
    name: Name | None = None
    type: Slug | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    status: STATUS | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        return None if value is None else _channel_type(value)


def _timezone(value: str) -> str:
    if not known_zone(value):  # the reports' rule: a 300-character name or right/UTC is none
        raise ValueError(ZONE_HINT)
    return value


class _CampaignFields(_In):
    start_date: date | None = None
    end_date: date | None = None
    budget: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    goal_event: Literal[GOALS] = "order"  # type: ignore[valid-type]
    timezone: str = "Asia/Shanghai"
    frequency_cap: Annotated[int, Field(ge=0, le=1000)] = Field(
        default=0, description="impressions per visitor per day; 0 = no cap"
    )
    targeting: Spec = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _timezone(value)

    @model_validator(mode="after")
    def _dates(self) -> _CampaignFields:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class CampaignIn(_CampaignFields):
    name: Name
    advertiser_id: Name


class CampaignPatch(_In):
    name: Name | None = None
    status: STATUS | None = None
    start_date: date | None = None
    end_date: date | None = None
    budget: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    goal_event: Literal[GOALS] | None = None  # type: ignore[valid-type]
    timezone: str | None = None
    frequency_cap: Annotated[int, Field(ge=0, le=1000)] | None = None
    targeting: Spec | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _timezone(value)


class SiteIn(_In):
    name: Name
    partner: OptionalSlug = Field(default="", description="the partner (publisher) who owns it")
    advertiser_id: Ref = Field(default="", description="or: the advertiser whose own site it is")
    domain: Domain
    channel: Slug = Field(description="channel id, e.g. portal, search, community, campus")

    @model_validator(mode="after")
    def _owner(self) -> SiteIn:
        if bool(self.partner) == bool(self.advertiser_id):
            raise ValueError("give either partner or advertiser_id (the owner of the site)")
        return self


class SitePatch(_In):
    name: Name | None = None
    domain: Domain | None = None
    channel: Slug | None = None
    status: STATUS | None = None


class PlacementIn(_In):
    site_key: Ref
    name: Name
    position: Text = ""
    width: Pixels = 0
    height: Pixels = 0
    campaign_ids: list[Ref] = Field(default_factory=list, max_length=200)
    targeting: Spec = Field(default_factory=dict)


class PlacementPatch(_In):
    name: Name | None = None
    position: Text | None = None
    width: Pixels | None = None
    height: Pixels | None = None
    campaign_ids: list[Ref] | None = Field(default=None, max_length=200)
    targeting: Spec | None = None
    status: STATUS | None = None


class CreativeIn(_In):
    campaign_id: Ref
    name: Name
    kind: Literal["image", "text", "html"]
    landing_url: LandingUrl
    width: Pixels = 0
    height: Pixels = 0
    image_url: LandingUrl = ""
    text: Text = ""
    html: Annotated[str, StringConstraints(max_length=20_000)] = ""
    weight: Weight = 100

    @field_validator("landing_url")
    @classmethod
    def _landing(cls, value: str) -> str:
        return _url(value)

    @field_validator("image_url")
    @classmethod
    def _image(cls, value: str) -> str:
        return _url(value) if value else value

    @model_validator(mode="after")
    def _content(self) -> CreativeIn:
        need = {"image": "image_url", "text": "text", "html": "html"}[self.kind]
        if not getattr(self, need):
            raise ValueError(f"a {self.kind} creative needs {need}")
        return self


class CreativePatch(_In):
    name: Name | None = None
    landing_url: LandingUrl | None = None
    image_url: LandingUrl | None = None
    text: Text | None = None
    html: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    width: Pixels | None = None
    height: Pixels | None = None
    weight: Weight | None = None
    status: STATUS | None = None

    @field_validator("landing_url")
    @classmethod
    def _landing(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)  # never emptied: clicks need it

    @field_validator("image_url")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return _url(value) if value else value


class VariantIn(_In):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")] = ""
    url: LandingUrl
    weight: Annotated[int, Field(ge=1, le=10_000)] = 1

    @field_validator("url")
    @classmethod
    def _landing(cls, value: str) -> str:
        return _url(value)


class RuleIn(_In):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")] = ""
    targeting: Spec
    landing_url: LandingUrl = ""
    variants: list[VariantIn] = Field(default_factory=list, max_length=20)

    @field_validator("landing_url")
    @classmethod
    def _landing(cls, value: str) -> str:
        return _url(value) if value else value

    @model_validator(mode="after")
    def _target(self) -> RuleIn:
        if bool(self.landing_url) == bool(self.variants):
            raise ValueError("a rule needs either landing_url or variants")
        if not self.targeting:
            raise ValueError("a rule needs targeting (who it is for)")
        return self


def _routing_checks(model: Any) -> None:
    # Ids left empty are given by the service; only the ones given here must not repeat.
    ids = [v.id for v in model.variants or [] if v.id]
    if len(set(ids)) != len(ids):
        raise ValueError("variant ids must be unique")
    rule_ids = [r.id for r in model.rules or [] if r.id]
    if len(set(rule_ids)) != len(rule_ids):
        raise ValueError("rule ids must be unique")


class LinkIn(_In):
    campaign_id: Ref
    site_key: Ref
    landing_url: LandingUrl = ""
    placement_id: Ref = ""
    creative_id: Ref = ""
    variants: list[VariantIn] = Field(
        default_factory=list, max_length=20, description="an A/B split of the default landing"
    )
    rules: list[RuleIn] = Field(
        default_factory=list, max_length=100, description="routes by region/device/time"
    )
    targeting: Spec = Field(default_factory=dict, description="who may follow the link at all")
    fallback_url: LandingUrl = Field(
        default="", description="for everyone else; empty: a 'not available' page"
    )

    @field_validator("landing_url", "fallback_url")
    @classmethod
    def _landing(cls, value: str) -> str:
        return _url(value) if value else value

    @model_validator(mode="after")
    def _shape(self) -> LinkIn:
        if not self.landing_url and not self.variants:
            raise ValueError("a link needs landing_url or variants")
        _routing_checks(self)
        return self


class LinkPatch(_In):
    landing_url: LandingUrl | None = None
    placement_id: Ref | None = None
    creative_id: Ref | None = None
    variants: list[VariantIn] | None = Field(default=None, max_length=20)
    rules: list[RuleIn] | None = Field(default=None, max_length=100)
    targeting: Spec | None = None
    fallback_url: LandingUrl | None = None
    status: STATUS | None = None

    @field_validator("landing_url", "fallback_url")
    @classmethod
    def _landing(cls, value: str | None) -> str | None:
        return _url(value) if value else value

    @model_validator(mode="after")
    def _shape(self) -> LinkPatch:
        _routing_checks(self)
        return self
