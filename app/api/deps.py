"""FastAPI dependencies: the runtime, the store, and the admin bearer token check."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.store.catalog_cache import CatalogCache
from app.store.client import Store

_bearer = HTTPBearer(auto_error=False)


def get_runtime(request: Request) -> Any:
    return request.app.state.runtime


RuntimeDep = Annotated[Any, Depends(get_runtime)]


def get_store(runtime: RuntimeDep) -> Store:
    if runtime.store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "store not open")
    return runtime.store


def get_catalog(runtime: RuntimeDep) -> CatalogCache:
    if runtime.catalog is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "catalog not loaded")
    return runtime.catalog


def require_admin(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The admin bearer token (constant-time compare); 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            {"error": "unauthorized", "detail": "bearer token required"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(credentials.credentials.encode(), runtime.admin_token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            {"error": "unauthorized", "detail": "invalid token"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return "admin"


StoreDep = Annotated[Store, Depends(get_store)]
CatalogDep = Annotated[CatalogCache, Depends(get_catalog)]
AdminDep = Annotated[str, Depends(require_admin)]
