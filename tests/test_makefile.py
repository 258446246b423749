"""`make run` keeps the ADTRACK_* settings it is given: the data directory (spool, catalog
with postback secrets, geo databases) and the geo databases' paths, as `adtrack serve` would.
Dry runs (`make -n`): nothing is installed, fetched or started."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# `var` as a path: the Makefile's default data directory.
DEFAULT_DIR = re.compile(r"(^|[\s=])var(/|\s|$)", re.M)


@pytest.fixture(autouse=True)
def _make() -> None:
    # `make test` runs the suite, so GNU make is there; its absence is a broken set-up.
    if shutil.which("make") is None:
        pytest.fail("GNU make is not on PATH: install it (apt-get install -y make)")


def _dry_run(target: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADTRACK_")}
    clean.pop("DATA_DIR", None)
    clean.pop("MAKEFLAGS", None)
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize("target", ["run", "demo"])
def test_the_data_dir_from_the_environment_holds(target, tmp_path):
    data = str(tmp_path / "elsewhere")
    commands = _dry_run(target, ADTRACK_DATA_DIR=data)
    assert f"ADTRACK_DATA_DIR={data} " in commands
    assert f"--dest {data}/geoip" in commands
    assert not DEFAULT_DIR.search(commands), commands
    # Without it, the documented default.
    assert "ADTRACK_DATA_DIR=var " in _dry_run(target)


def test_geo_databases_named_in_the_environment_are_not_fetched_over(tmp_path):
    city, isp = str(tmp_path / "city.mmdb"), str(tmp_path / "isp.db")
    commands = _dry_run("run", ADTRACK_GEOIP_DB=city)
    assert "geoip fetch" not in commands and "fetch-isp --dest var/geoip" in commands
    commands = _dry_run("run", ADTRACK_GEOIP_DB=city, ADTRACK_ISP_DB=isp)
    assert "fetch" not in commands, commands
    # The server is started with the environment as given: nothing overrides the paths.
    assert "ADTRACK_GEOIP_DB" not in commands and "ADTRACK_ISP_DB" not in commands
