"""The rollups' state and a refresh on demand (after a bulk import, say), for admins."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException

from app.http.deps import AdminDep, RuntimeDep, StoreDep
from app.rollups import funnels

router = APIRouter(prefix="/api/v1/rollups", tags=["rollups"])


@router.get("", summary="Per rolled-up funnel: days computed, oldest and newest computation")
def rollup_state(_: AdminDep, runtime: RuntimeDep, store: StoreDep) -> dict[str, Any]:
    job = runtime.rollups
    return {
        "job": {
            "running": job is not None,
            "interval_s": runtime.settings.rollup_interval_s,
            "last_run": job.last_run if job else None,
            "last_seconds": job.last_seconds if job else None,
            "last_error": (job.last_error if job else "") or None,
        },
        "funnels": funnels.computed(store),
    }


@router.post("/refresh", summary="Recompute the funnel days that changed, now")
async def refresh(_: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    job = runtime.rollups
    if job is None:
        raise HTTPException(409, "the rollup job does not run in this process")
    done = await asyncio.to_thread(job.refresh_now)
    return {
        "refreshed": [r.as_json() for r in done],
        "ranking_snapshots": [d.isoformat() for d in job.snapshot_days],
        "seconds": round(job.last_seconds, 3),
    }
