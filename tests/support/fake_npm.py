"""An offline `npm` for the fetch tests: a script on PATH that logs its arguments and 'packs'
the tarball named by $FAKE_NPM_TGZ, and a helper to build such tarballs."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest


def tarball(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    """A .tgz of `members`; `link` adds a symlink member (which fetches must refuse)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return path


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in `npm` first on PATH; its calls are logged to <tmp>/npm.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text('#!/bin/sh\necho "$@" >> "$FAKE_NPM_LOG"\ncp "$FAKE_NPM_TGZ" ./pkg.tgz\n')
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_NPM_LOG", str(tmp_path / "npm.log"))
    return tmp_path
