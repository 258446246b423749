"""Paths of the real reference databases the geo tests read, and how to get them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GEOIP_CACHE = REPO_ROOT / ".cache" / "geoip"


def _database(env: str, name: str, fetch: str) -> Path:
    path = Path(os.environ.get(env) or GEOIP_CACHE / name)
    if not path.is_file():
        # `make test` fetches it first (test-setup); a missing database is a broken set-up,
        # not a reason to skip the tests that read it.
        pytest.fail(f"{path} is missing: run `make test-setup`, set {env}, or fetch it: {fetch}")
    return path


@pytest.fixture(scope="session")
def geolite_path() -> Path:
    """The default GeoLite2-City database, as `make` fetches it."""
    return _database(
        "ADTRACK_GEOIP_DB",
        "GeoLite2-City.mmdb",
        ".venv/bin/adtrack geoip fetch --dest .cache/geoip",
    )


@pytest.fixture(scope="session")
def ip2region_path() -> Path:
    """The ip2region database from the npm package, as `make` fetches it."""
    return _database(
        "ADTRACK_ISP_DB",
        "ip2region.db",
        ".venv/bin/adtrack geoip fetch --only isp --dest .cache/geoip",
    )
