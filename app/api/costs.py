"""Spend routes: push rows (JSON), import a CSV (body or upload), list a range. Admins and
media buyers write; finance reads; partners see no spend at all."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from app.costs import service
from app.http.deps import Principal, StoreDep, require_roles

router = APIRouter(prefix="/api/v1", tags=["costs"])

WRITERS = ("admin", "media_buyer")
READERS = ("admin", "media_buyer", "finance")
MAX_BYTES = 10_000_000
WriteDep = Annotated[Principal, Depends(require_roles(*WRITERS))]
ReadDep = Annotated[Principal, Depends(require_roles(*READERS))]


def _actor(principal: Principal) -> service.Actor:
    return service.Actor(principal.username, principal.role)


def _refused(result: service.ImportResult) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("body", line, field), "msg": reason, "type": "value_error"}
         for line, field, reason in result.errors]
    )  # fmt: skip


def _body_error(msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body",), "msg": msg, "type": kind}])


@router.post("/costs", summary="Add or replace spend rows (JSON list; all rows or none)")
def push_costs(
    principal: WriteDep,
    store: StoreDep,
    rows: Annotated[list[dict[str, Any]], Body(max_length=50_000)],
    dry_run: bool = False,
) -> dict[str, Any]:
    """Each row: day, spend, and any of campaign_id, channel, partner_id, site_key,
    placement_id, currency (CNY). The same day and breakdown replaces the earlier spend."""
    result = service.import_items(store, rows, _actor(principal), dry_run=dry_run)
    if result.errors:
        raise _refused(result)
    return result.as_json()


@router.post(
    "/import/costs",
    summary="Import spend from CSV (body or multipart upload; all rows or none)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_costs(
    request: Request, principal: WriteDep, store: StoreDep, dry_run: bool = False
) -> dict[str, Any]:
    """Header line with day, spend and any of campaign_id, channel, partner_id, site_key,
    placement_id, currency. Errors come back as 422 with (line, column, reason) each."""
    raw = await _csv_bytes(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _body_error("the file must be UTF-8", "encoding") from None
    result = await run_in_threadpool(
        service.import_csv, store, text, _actor(principal), dry_run=dry_run
    )
    if result.errors:
        raise _refused(result)
    return result.as_json()


async def _csv_bytes(request: Request) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise _body_error("upload the CSV as the form field `file`", "missing")
        raw = await upload.read()
    else:
        raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise _body_error(f"at most {MAX_BYTES // 1_000_000} MB", "size")
    return raw


@router.get("/costs", summary="Spend rows of a range of days")
def list_costs(
    _: ReadDep,
    store: StoreDep,
    start: date,
    end: date,
    campaign_id: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    if end < start:
        raise RequestValidationError(
            [{"loc": ("query", "end"), "msg": "end is before start", "type": "value_error"}]
        )
    if (end - start).days > 366:
        raise RequestValidationError(
            [{"loc": ("query", "end"), "msg": "at most 367 days", "type": "value_error"}]
        )
    rows = service.list_rows(store, start, end, campaign_id)
    return {"start": start, "end": end, "count": len(rows),
            "rows": [service.row_json(r) for r in rows]}  # fmt: skip
