"""Shared fixtures: a test GeoIP database and real server processes on the embedded engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.cli import migrated_template  # noqa: F401 (a session fixture, CLI tests)
from tests.support.fake_npm import fake_npm  # noqa: F401 (a fixture for the fetch tests)
from tests.support.mmdb import build_test_mmdb
from tests.support.server import ServerProcess

# No per-example deadline: on a loaded 2-core machine an example may take longer than
# Hypothesis's default 200 ms without being wrong. Example counts stay each test's own.
settings.register_profile("adtrack", deadline=None)
settings.load_profile("adtrack")


@pytest.fixture(scope="session")
def geo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(path, {ip: expected GeoResult}) of a small City database with known ranges."""
    path = tmp_path_factory.mktemp("geo") / "test-city.mmdb"
    expected = build_test_mmdb(path)
    return path, expected


@pytest.fixture
def make_server(tmp_path: Path, geo_db: tuple[Path, dict]) -> Iterator:
    """Factory: make_server(**env) starts a server with its own data dir (stopped after)."""
    started: list[ServerProcess] = []

    def make(data_dir: Path | None = None, **env: str) -> ServerProcess:
        env.setdefault("ADTRACK_GEOIP_DB", str(geo_db[0]))
        server = ServerProcess(data_dir or tmp_path / f"data{len(started)}", env)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server) -> ServerProcess:
    return make_server()
