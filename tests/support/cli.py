"""Running `adtrack` in tests: as a subprocess (the real entry point), or through
`app.cli.main` in this process for what never opens the store (refused input, calls through a
running server's API); and data directories for "no server" runs, fresh or a copy of a
store migrated once per session."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import REPO, free_port

DIRECT = "using the store directly"


def adtrack(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`adtrack ARGS` as its own process, `env` its whole environment."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def adtrack_here(
    env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`adtrack ARGS` through `app.cli.main` in this process: its ADTRACK_* settings from
    `env` (the rest of the environment is this process's own, as in every `env` the tests
    build), stdin, stdout and stderr its own, argparse's exits as exit statuses.

    Only for commands that never open the store: the embedded engine admits one data dir
    per process, and this process is the test run's."""
    from app.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with (
        _adtrack_environ(env),
        _stdin(stdin),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, usage errors
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return subprocess.CompletedProcess(["adtrack", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _adtrack_environ(env: dict[str, str]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("ADTRACK_")}
    try:
        for key in saved:
            del os.environ[key]
        os.environ.update({k: v for k, v in env.items() if k.startswith("ADTRACK_")})
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("ADTRACK_")]:
            del os.environ[key]
        os.environ.update(saved)


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)  # not a terminal, like a subprocess's piped stdin
    try:
        yield
    finally:
        sys.stdin = saved


def ok_json(env: dict[str, str], *args: str, run=adtrack, stdin: str = "") -> dict | list:
    result = run(env, *args, "--json", stdin=stdin)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_bad_input(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr


def offline(data_dir: Path) -> dict[str, str]:
    """Settings for a data dir no server runs on (nothing listens on the port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADTRACK_")}
    env.update(ADTRACK_DATA_DIR=str(data_dir), ADTRACK_PORT=str(free_port()))
    return env


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose store `adtrack migrate` brought up to date, once per session: a
    command on a copy finds the schema current (one look at `schema_migrations`) instead of
    creating every table. Never opened again: tests use copies (`copy_of`)."""
    data_dir = tmp_path_factory.mktemp("migrated") / "data"
    done = adtrack(offline(data_dir), "migrate")
    assert done.returncode == 0, done.stderr
    assert "applied 0001_schema_migrations" in done.stdout, done.stdout
    return data_dir


def copy_of(template: Path, dest: Path) -> Path:
    """A private copy of a migrated data dir (the engine's table links are relative, and
    stay links)."""
    shutil.copytree(template, dest, symlinks=True)
    return dest


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """Settings for a fresh data dir (not made yet) no server runs on."""
    return offline(tmp_path / "offline")


@pytest.fixture
def offline_store_env(tmp_path: Path, migrated_template: Path) -> dict[str, str]:
    """Settings for a data dir no server runs on, holding a migrated, empty store."""
    return offline(copy_of(migrated_template, tmp_path / "offline"))
