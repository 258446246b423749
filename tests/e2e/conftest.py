"""The browser for the e2e tests: Debian's chromium driven by Playwright, one per module;
and one adtrack server that the browser and admin-page tests share, each with its own data.

`scripts/install-chromium.sh` (run by `make test`) installs it; a missing browser fails the
tests rather than skipping them, since CI must run them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.server import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
MISSING = f"{CHROMIUM} is missing: install Debian chromium with `bash scripts/install-chromium.sh`"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP *.localtest 127.0.0.1",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(MISSING, pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def e2e_server(
    tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]
) -> Iterator[ServerProcess]:
    """A server for the e2e modules that take it: each test seeds its own sites and links and
    reads only their rows (or compares the server's totals before and after)."""
    proc = ServerProcess(tmp_path_factory.mktemp("e2e"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()
