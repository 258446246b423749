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

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from app.catalog import csv_import, service
from app.catalog import entities as cat
from app.catalog.access import EVERYONE, READERS, STAFF, shown_to, visible_rows
from app.catalog.models import CHANNEL_TYPES
from app.catalog.published import row_out
from app.geo import regions
from app.http.deps import CatalogDep, Principal, RuntimeDep, StoreDep, require_roles
from app.store import audit

router = APIRouter(prefix="/api/v1", tags=["catalog"])


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


# The response model of each kind (what /docs shows); rows are built by published.row_out.
OUT_MODEL: dict[str, Any] = {
    "advertisers": cat.Advertiser,
    "partners": cat.Partner,
    "channels": cat.Channel,
    "campaigns": cat.Campaign,
    "sites": SiteOut,
    "placements": PlacementOut,
    "creatives": cat.Creative,
    "links": LinkOut,
}


def actor_of(principal: Principal) -> service.Actor:
    return service.Actor(principal.username, principal.role)


def _not_found(plural: str, key: str) -> HTTPException:
    rules = service.ENTITIES[plural]
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        {"error": "not_found", "field": rules.kind.key, "detail": f"no {rules.kind.name} {key!r}"},
    )


def _routes(plural: str) -> None:
    rules = service.ENTITIES[plural]
    model = OUT_MODEL[plural]
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
        entity = service.create(store, plural, body, actor_of(principal))
        cache.refresh()  # this process's hit path sees it at once; others within refresh_s
        return shown_to(principal, plural, row_out(plural, entity, runtime.settings.base_url))

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
        return [shown_to(principal, plural, row_out(plural, r, base)) for r in rows]

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
        return shown_to(principal, plural, row_out(plural, row, runtime.settings.base_url))

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
        cache.refresh()
        return shown_to(principal, plural, row_out(plural, entity, runtime.settings.base_url))

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
    base = runtime.settings.base_url
    return {
        "dry_run": dry_run,
        "count": len(result.created),
        "created": [row_out(kind, e, base) for e in result.created],
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
