"""Admin API for the catalog: advertisers, partners, channels, campaigns, sites, placements,
creatives and tracked links; create, read, edit, pause, archive; the audit log; CSV import.

Every entity gets the same five routes, built from one table (`app.catalog.service`):
POST /{plural}, GET /{plural}, GET /{plural}/{key}, PATCH /{plural}/{key} (pause/archive
are a PATCH of `status`), GET /{plural}/{key}/history. Reads are scoped: a partner user sees
only its own partner, sites, placements and links (another's answers 404, so ids cannot be
probed); finance reads but never edits; only admins and media buyers change anything.

No `from __future__ import annotations` here: the route functions are built in a loop, and
FastAPI must see their parameter types (the entity's own models) as objects, not names.
"""

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from app.api.deps import CatalogDep, Principal, RuntimeDep, StoreDep, require_roles
from app.catalog import csv_import, service
from app.catalog.models import CHANNEL_TYPES
from app.geo import regions
from app.store import audit
from app.store import catalog as cat

router = APIRouter(prefix="/api/v1", tags=["catalog"])

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
_SECRET_READERS = frozenset(STAFF)


class SiteOut(BaseModel):
    site_key: str
    name: str
    partner: str
    advertiser_id: str
    domain: str
    channel: str
    status: str
    created_at: datetime
    updated_at: datetime
    snippet: str = Field(description="the <script> tag to embed on the site")
    pixel: str = Field(description="an impression pixel URL for the site")


class LinkOut(BaseModel):
    code: str
    campaign_id: str
    site_key: str
    landing_url: str
    placement_id: str
    creative_id: str
    status: str
    variants: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    targeting: dict[str, Any]
    fallback_url: str
    created_at: datetime
    updated_at: datetime
    url: str = Field(description="the tracked URL to publish")


class PlacementOut(BaseModel):
    id: str
    site_key: str
    name: str
    position: str
    width: int
    height: int
    campaign_ids: list[str]
    targeting: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    serve_url: str = Field(description="GET for the snippet (JSON), ?format=img or html")
    embed: str = Field(description="an <iframe> tag that shows the slot on the partner's page")


def site_out(site: cat.Site, base_url: str) -> dict[str, Any]:
    return {
        **asdict(site),
        "snippet": f'<script async src="{base_url}/t.js" data-site="{site.site_key}"></script>',
        "pixel": f"{base_url}/p.gif?s={site.site_key}&e=impression",
    }


def link_out(link: cat.Link, base_url: str) -> dict[str, Any]:
    return {**asdict(link), "url": f"{base_url}/c/{link.code}"}


# The embed frame's sandbox: a creative runs its script and opens its landing page (a new
# tab, or the partner's tab on a click), in an opaque origin. Never allow-same-origin: with
# allow-scripts it would let the creative lift the sandbox. The served document carries the
# same policy as a CSP header (app.tracker.serve), for a page that frames it without this.
EMBED_SANDBOX = (
    "allow-scripts allow-popups allow-popups-to-escape-sandbox"
    " allow-top-navigation-by-user-activation"
)


def placement_out(placement: cat.Placement, base_url: str) -> dict[str, Any]:
    serve = f"{base_url}/serve/{placement.id}"
    size = ""
    if placement.width and placement.height:
        size = f' width="{placement.width}" height="{placement.height}"'
    return {
        **asdict(placement),
        "serve_url": serve,
        "embed": f'<iframe src="{serve}?format=html"{size} frameborder="0" scrolling="no"'
        f' sandbox="{EMBED_SANDBOX}"></iframe>',
    }


def _plain(entity: Any, base_url: str) -> dict[str, Any]:
    return asdict(entity)


OUT: dict[str, tuple[Any, Callable[[Any, str], dict[str, Any]]]] = {
    "advertisers": (cat.Advertiser, _plain),
    "partners": (cat.Partner, _plain),
    "channels": (cat.Channel, _plain),
    "campaigns": (cat.Campaign, _plain),
    "sites": (SiteOut, site_out),
    "placements": (PlacementOut, placement_out),
    "creatives": (cat.Creative, _plain),
    "links": (LinkOut, link_out),
}


def actor_of(principal: Principal) -> service.Actor:
    return service.Actor(principal.username, principal.role)


def _errors(exc: service.CatalogError) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("body", *field.split(".")), "msg": reason, "type": kind}
         for field, reason, kind in exc.errors]
    )  # fmt: skip


def _not_found(plural: str, key: str) -> HTTPException:
    rules = service.ENTITIES[plural]
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        {"error": "not_found", "field": rules.kind.key, "detail": f"no {rules.kind.name} {key!r}"},
    )


def visible_rows(principal: Principal, plural: str, snapshot: cat.CatalogSnapshot) -> Callable:
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


def _shown(principal: Principal, plural: str, row: dict[str, Any]) -> dict[str, Any]:
    if plural == "advertisers" and principal.role not in _SECRET_READERS:
        row["postback_secret"] = ""  # finance reads advertisers, never their secrets
    return row


def _routes(plural: str) -> None:
    rules = service.ENTITIES[plural]
    model, out = OUT[plural]
    key_name = rules.kind.key
    read = Depends(require_roles(*READERS[plural]))
    write = Depends(require_roles(*STAFF))
    name = rules.kind.name

    def create(
        body: Annotated[rules.model_in, Body()],  # type: ignore[name-defined]
        principal: Annotated[Principal, write],
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
    ) -> Any:
        try:
            entity = service.create(store, plural, body, actor_of(principal))
        except service.CatalogError as exc:
            raise _errors(exc) from None
        cache.refresh()  # this process's hit path sees it at once; others within refresh_s
        return _shown(principal, plural, out(entity, runtime.settings.base_url))

    def list_(
        principal: Annotated[Principal, read],
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
        state: Annotated[
            str | None, Query(alias="status", pattern="^(active|paused|archived)$")
        ] = None,
    ) -> Any:
        keep = visible_rows(principal, plural, cache.snapshot)
        rows = service.list_all(
            store, plural, lambda r: keep(r) and (state is None or r.status == state)
        )
        base = runtime.settings.base_url
        return [_shown(principal, plural, out(r, base)) for r in rows]

    key_param = Annotated[str, Path(alias=key_name)]

    def get_one(
        key: key_param,  # type: ignore[valid-type]
        principal: Annotated[Principal, read],
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
    ) -> Any:
        try:
            row = service.get(store, plural, key)
        except service.NotFound:
            raise _not_found(plural, key) from None
        if not visible_rows(principal, plural, cache.snapshot)(row):
            raise _not_found(plural, key)  # the same answer as a key that does not exist
        return _shown(principal, plural, out(row, runtime.settings.base_url))

    def patch(
        key: key_param,  # type: ignore[valid-type]
        body: Annotated[rules.model_patch, Body()],  # type: ignore[name-defined]
        principal: Annotated[Principal, write],
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
    ) -> Any:
        try:
            entity = service.update(store, plural, key, body, actor_of(principal))
        except service.NotFound:
            raise _not_found(plural, key) from None
        except service.CatalogError as exc:
            raise _errors(exc) from None
        cache.refresh()
        return _shown(principal, plural, out(entity, runtime.settings.base_url))

    def history(
        key: key_param,  # type: ignore[valid-type]
        principal: Annotated[Principal, Depends(require_roles(*STAFF))],
        store: StoreDep,
    ) -> Any:
        return [asdict(e) for e in audit.history(store, entity=name, entity_key=key)]

    path = f"/{plural}"
    item = f"/{plural}/{{{key_name}}}"
    summary = plural.rstrip("s")
    for func in (create, list_, get_one, patch, history):
        func.__name__ = f"{func.__name__.strip('_')}_{summary}"
    router.add_api_route(path, create, methods=["POST"], status_code=201, response_model=model,
                         summary=f"Create a {name}")  # fmt: skip
    router.add_api_route(path, list_, methods=["GET"], response_model=list[model],
                         summary=f"List {plural}")  # fmt: skip
    router.add_api_route(item, get_one, methods=["GET"], response_model=model,
                         summary=f"One {name}")  # fmt: skip
    router.add_api_route(item, patch, methods=["PATCH"], response_model=model,
                         summary=f"Edit, pause, activate or archive a {name}")  # fmt: skip
    router.add_api_route(f"{item}/history", history, methods=["GET"],
                         summary=f"Changes to a {name} (audit log)")  # fmt: skip


for _plural in service.ENTITIES:
    _routes(_plural)


@router.get("/channel-types", summary="The channel taxonomy")
def channel_types(_: Annotated[Principal, Depends(require_roles(*EVERYONE))]) -> Any:
    return list(CHANNEL_TYPES.values())


@router.get("/audit", summary="Recent catalog and account changes")
def audit_log(
    _: Annotated[Principal, Depends(require_roles(*STAFF))],
    store: StoreDep,
    entity: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    return [asdict(e) for e in audit.history(store, entity=entity, limit=limit)]


@router.post(
    "/import/{kind}",
    summary="Bulk import partners, sites or links from CSV (all rows or none)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_csv(
    kind: Annotated[str, Path(pattern="^(partners|sites|links)$")],
    request: Request,
    principal: Annotated[Principal, Depends(require_roles(*STAFF))],
    store: StoreDep,
    cache: CatalogDep,
    runtime: RuntimeDep,
    dry_run: bool = False,
) -> Any:
    raw = await request.body()
    if len(raw) > 5_000_000:
        raise RequestValidationError([{"loc": ("body",), "msg": "at most 5 MB", "type": "size"}])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "the file must be UTF-8", "type": "encoding"}]
        ) from None
    result = await run_in_threadpool(
        csv_import.import_csv, store, kind, text, actor_of(principal), dry_run=dry_run
    )
    if result.errors:
        raise RequestValidationError(
            [{"loc": ("body", line, field), "msg": reason, "type": "value_error"}
             for line, field, reason in result.errors]
        )  # fmt: skip
    if not dry_run:
        cache.refresh()
    _, out = OUT[kind]
    base = runtime.settings.base_url
    return {
        "dry_run": dry_run,
        "count": len(result.created),
        "created": [out(e, base) for e in result.created],
    }


@router.get("/regions", summary="Provinces and prefecture-level cities (GB/T 2260), searchable")
def list_regions(
    _: Annotated[Principal, Depends(require_roles(*EVERYONE))],
    q: Annotated[str, Query(max_length=50)] = "",
    province: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """`q` matches Chinese, short and English names (内蒙古, 呼和, hohhot); `province` lists
    that province's cities; neither: the provinces."""
    if province is not None:
        found = regions.cities(province)[:limit]
    elif q:
        found = regions.search(q, limit)
    else:
        found = regions.provinces()[:limit]
    return [asdict(d) for d in found]
