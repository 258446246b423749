"""FastAPI application factory for everything that is not a hit endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import app
from app.api import catalog, costs, events, rollups, stats, users
from app.api.deps import PageDenied
from app.auth.state import build_state
from app.store.client import StoreError
from app.web import catalog_pages, pages


def create_api(runtime: Any, lifespan: Any = None) -> FastAPI:
    api = FastAPI(title="adtrack", version=app.__version__, lifespan=lifespan)
    api.state.runtime = runtime
    api.state.auth = build_state(runtime.settings)

    @api.exception_handler(StoreError)
    async def store_unavailable(_: Request, exc: StoreError) -> JSONResponse:
        # Hits keep spooling during an outage; only reads and catalog writes need the store.
        return JSONResponse(
            {"error": "store_unavailable", "detail": str(exc)[:500]}, status_code=503
        )

    api.add_exception_handler(PageDenied, pages.page_denied)
    # Before catalog: its /import/{kind} would otherwise take /import/costs.
    api.include_router(costs.router)
    api.include_router(catalog.router)
    api.include_router(events.router)
    api.include_router(users.router)
    api.include_router(stats.router)
    api.include_router(rollups.router)
    api.include_router(pages.router)
    api.include_router(catalog_pages.router)
    return api
