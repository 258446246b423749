"""Fetch the ip2region database (IPv4 → region and ISP), shipped in the `ip2region` npm package."""

from __future__ import annotations

import logging
import tarfile
import tempfile
from pathlib import Path

from app.geo.ip2region import is_valid_db
from app.geo.npm import NpmFetchError, extract_member, npm_pack

log = logging.getLogger(__name__)

# Pinned: tests check known ranges against this data; move the pin deliberately.
NPM_PACKAGE = "ip2region@2.3.0"
DB_NAME = "ip2region.db"
LICENSE_NAME = "ip2region-LICENSE.txt"
_MEMBER_DB = "package/data/ip2region.db"
_MEMBER_LICENSE = "package/LICENSE"


class IspFetchError(Exception):
    """The ip2region database could not be fetched or is not usable."""


def fetch_ip2region(dest_dir: Path) -> Path:
    """Put ip2region.db (and its package's licence) in `dest_dir`; a valid existing copy is kept."""
    dest = dest_dir / DB_NAME
    if dest.is_file() and is_valid_db(dest):
        return dest
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="ip2region-") as tmp:
            tarball = npm_pack(NPM_PACKAGE, Path(tmp))
            with tarfile.open(tarball, "r:gz") as tar:
                extract_member(tar, _MEMBER_DB, dest, check=is_valid_db)
                try:
                    extract_member(tar, _MEMBER_LICENSE, dest_dir / LICENSE_NAME)
                except NpmFetchError:
                    log.warning("%s has no LICENSE file; %s not written", NPM_PACKAGE, LICENSE_NAME)
    except (NpmFetchError, tarfile.TarError) as exc:
        raise IspFetchError(f"{NPM_PACKAGE}: {exc}") from exc
    log.info("fetched %s into %s", DB_NAME, dest_dir)
    return dest
