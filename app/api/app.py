"""FastAPI application factory for everything that is not a hit endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

import app
from app.api import catalog, events


def create_api(runtime: Any, lifespan: Any = None) -> FastAPI:
    api = FastAPI(title="adtrack", version=app.__version__, lifespan=lifespan)
    api.state.runtime = runtime
    api.include_router(catalog.router)
    api.include_router(events.router)
    return api
