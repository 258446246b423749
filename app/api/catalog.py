"""Admin API for the catalog the tracking core needs: advertisers, campaigns, sites, links."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, field_validator

from app.api.deps import AdminDep, CatalogDep, RuntimeDep, StoreDep
from app.store import catalog
from app.tracker.links import valid_landing_url

router = APIRouter(prefix="/api/v1", tags=["catalog"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Lower-cased first: StringConstraints would check the pattern before its own to_lower.
# (A BeforeValidator wraps what precedes it in Annotated, so it runs before the pattern.)
_lower = BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)
Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"),
    _lower,
]
Domain = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253, pattern=r"^[a-z0-9.-]+(:\d{1,5})?$"),
    _lower,
]


def _field_error(field: str, message: str, kind: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": kind}])


class AdvertiserIn(BaseModel):
    name: Name


class AdvertiserOut(BaseModel):
    id: str
    name: str
    postback_secret: str
    status: str
    created_at: datetime
    updated_at: datetime


class CampaignIn(BaseModel):
    name: Name
    advertiser_id: Name


class CampaignOut(BaseModel):
    id: str
    advertiser_id: str
    name: str
    status: str
    created_at: datetime
    updated_at: datetime


class SiteIn(BaseModel):
    name: Name
    partner: Slug = Field(description="the partner (publisher) who owns the site")
    domain: Domain
    channel: Slug = Field(description="channel type, e.g. portal, search, community, campus")


class SiteOut(BaseModel):
    site_key: str
    name: str
    partner: str
    domain: str
    channel: str
    status: str
    created_at: datetime
    updated_at: datetime
    snippet: str = Field(description="the <script> tag to embed on the site")
    pixel: str = Field(description="an impression pixel URL for the site")


class LinkIn(BaseModel):
    campaign_id: Name
    site_key: Name
    landing_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048)]
    placement_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] = ""
    creative_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] = ""

    @field_validator("landing_url")
    @classmethod
    def _landing(cls, value: str) -> str:
        problem = valid_landing_url(value)
        if problem:
            raise ValueError(problem)
        return value


class LinkOut(BaseModel):
    code: str
    campaign_id: str
    site_key: str
    landing_url: str
    placement_id: str
    creative_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    url: str = Field(description="the tracked URL to publish")


def site_out(site: catalog.Site, base_url: str) -> SiteOut:
    return SiteOut(
        **site.__dict__,
        snippet=f'<script async src="{base_url}/t.js" data-site="{site.site_key}"></script>',
        pixel=f"{base_url}/p.gif?s={site.site_key}&e=impression",
    )


def link_out(link: catalog.Link, base_url: str) -> LinkOut:
    return LinkOut(**link.__dict__, url=f"{base_url}/c/{link.code}")


def _saved(cache: Any, store: Any, entity: Any) -> Any:
    saved = catalog.save(store, entity)
    cache.refresh()  # this process's hit path sees it at once; others within refresh_s
    return saved


@router.post("/advertisers", status_code=status.HTTP_201_CREATED, response_model=AdvertiserOut)
def create_advertiser(body: AdvertiserIn, _: AdminDep, store: StoreDep, cache: CatalogDep) -> Any:
    return _saved(cache, store, catalog.new_advertiser(body.name)).__dict__


@router.get("/advertisers", response_model=list[AdvertiserOut])
def list_advertisers(_: AdminDep, store: StoreDep) -> Any:
    return [a.__dict__ for a in catalog.load_all(store, catalog.Advertiser)]


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, response_model=CampaignOut)
def create_campaign(body: CampaignIn, _: AdminDep, store: StoreDep, cache: CatalogDep) -> Any:
    if (
        body.advertiser_id not in cache.snapshot.advertisers
        and catalog.get(store, catalog.Advertiser, body.advertiser_id) is None
    ):
        raise _field_error("advertiser_id", "no advertiser has this id", "not_found")
    return _saved(cache, store, catalog.new_campaign(body.name, body.advertiser_id)).__dict__


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(_: AdminDep, store: StoreDep) -> Any:
    return [c.__dict__ for c in catalog.load_all(store, catalog.Campaign)]


@router.post("/sites", status_code=status.HTTP_201_CREATED, response_model=SiteOut)
def create_site(
    body: SiteIn, _: AdminDep, store: StoreDep, cache: CatalogDep, runtime: RuntimeDep
) -> Any:
    site = _saved(
        cache, store, catalog.new_site(body.name, body.partner, body.domain, body.channel)
    )
    return site_out(site, runtime.settings.base_url)


@router.get("/sites", response_model=list[SiteOut])
def list_sites(_: AdminDep, store: StoreDep, runtime: RuntimeDep) -> Any:
    base = runtime.settings.base_url
    return [site_out(s, base) for s in catalog.load_all(store, catalog.Site)]


@router.post("/links", status_code=status.HTTP_201_CREATED, response_model=LinkOut)
def create_link(
    body: LinkIn, _: AdminDep, store: StoreDep, cache: CatalogDep, runtime: RuntimeDep
) -> Any:
    snapshot = cache.snapshot
    if (
        body.campaign_id not in snapshot.campaigns
        and catalog.get(store, catalog.Campaign, body.campaign_id) is None
    ):
        raise _field_error("campaign_id", "no campaign has this id", "not_found")
    if (
        body.site_key not in snapshot.sites
        and catalog.get(store, catalog.Site, body.site_key) is None
    ):
        raise _field_error("site_key", "no site has this key", "not_found")
    link = _saved(
        cache,
        store,
        catalog.new_link(
            body.campaign_id,
            body.site_key,
            body.landing_url,
            placement_id=body.placement_id,
            creative_id=body.creative_id,
        ),
    )
    return link_out(link, runtime.settings.base_url)


@router.get("/links", response_model=list[LinkOut])
def list_links(_: AdminDep, store: StoreDep, runtime: RuntimeDep) -> Any:
    base = runtime.settings.base_url
    return [link_out(link, base) for link in catalog.load_all(store, catalog.Link)]


@router.get("/links/{code}", response_model=LinkOut)
def get_link(code: str, _: AdminDep, store: StoreDep, runtime: RuntimeDep) -> Any:
    link = catalog.get(store, catalog.Link, code)
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"error": "not_found", "field": "code"})
    return link_out(link, runtime.settings.base_url)
