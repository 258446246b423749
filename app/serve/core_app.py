"""The core's ASGI app, assembled in this one place: the front door (app/http/guard.py), the
error answers every face shares, the JSON API (app/api/) and the back-office pages
(app/web/) side by side. Neither face imports the other."""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

import app
from app.api import catalog, costs, events, rollups, stats, users
from app.auth.state import build_state
from app.errors import Refused
from app.http.deps import PageDenied
from app.http.guard import RequestGuard
from app.store.client import StoreError
from app.web import catalog_pages, pages

API_ROUTERS = (
    costs.router,  # before catalog: its /import/{kind} would otherwise take /import/costs
    catalog.router,
    events.router,
    users.router,
    stats.router,
    rollups.router,
)
PAGE_ROUTERS = (pages.router, catalog_pages.router)

log = logging.getLogger("adtrack")

DOCS_ASSETS = "/docs/assets"


def create_core_api(runtime: Any, lifespan: Any = None) -> FastAPI:
    # Swagger UI from a pinned package, served by us: no third-party script on our origin.
    api = FastAPI(
        title="adtrack",
        version=app.__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    api.state.runtime = runtime
    api.state.auth = build_state(runtime.settings)
    api.add_middleware(RequestGuard)

    @api.exception_handler(StoreError)
    async def store_unavailable(_: Request, exc: StoreError) -> JSONResponse:
        # Hits keep spooling during an outage; only reads and catalog writes need the store.
        # The engine's own words stay in the log: they name tables, queries and versions.
        incident = secrets.token_hex(4)
        log.error("store error (incident %s): %s", incident, exc)
        detail = f"the data store could not answer (incident {incident}); hits are still recorded"
        return JSONResponse({"error": "store_unavailable", "detail": detail}, status_code=503)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Each error names the field and the reason, never the value sent: it may be a
        # password or a key.
        errors = [
            {k: v for k, v in error.items() if k not in ("input", "url")} for error in exc.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @api.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        # A service's refusal of well-formed input: the same shape as a validation error.
        errors = [
            {"loc": ["body", *field.split(".")], "msg": reason, "type": kind}
            for field, reason, kind in exc.errors
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    async def page_denied(request: Request, exc: Exception) -> Response:
        response = await pages.page_denied(request, exc)
        if isinstance(exc, PageDenied) and exc.retry_after_s > 0:
            response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return response

    api.add_exception_handler(PageDenied, page_denied)
    _mount_docs(api)
    for router in (*API_ROUTERS, *PAGE_ROUTERS):
        api.include_router(router)
    return api


def _mount_docs(api: FastAPI) -> None:
    from swagger_ui_bundle import swagger_ui_path

    api.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=api.openapi_url or "/openapi.json",
            title="adtrack API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
