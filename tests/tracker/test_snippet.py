"""The embeddable snippet /t.js: how the real server serves it, and its size budget."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.serve.edge import snippet_bytes
from tests.support.server import ServerProcess

# Minified, the snippet must stay under 4 KiB: it is on every partner page. (3 KiB until
# referral sharing and tracked-link tagging came in: about 3.6 KiB, 1.9 KiB gzipped.)
MINIFIED_BUDGET = 4 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """One server for the module: these tests only read /t.js."""
    proc = ServerProcess(tmp_path_factory.mktemp("snippet"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


def _minified(source: str) -> str:
    """The snippet minified with local names mangled, as a deployment would ship it.

    calmjs.parse only parses ES5, so this also keeps the snippet's syntax ES5 for old
    in-app WebViews."""
    try:
        from calmjs.parse import es5
        from calmjs.parse.unparsers.es5 import minify_print
    except ImportError:  # pragma: no cover - a broken dev install, not a reason to skip
        pytest.fail("calmjs.parse is missing: install the dev extras (pip install -e '.[dev]')")
    return minify_print(es5(source), obfuscate=True, obfuscate_globals=False)


def test_snippet_is_served_as_cacheable_javascript(server: ServerProcess):
    with server.client() as http:
        response = http.get("/t.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
    assert response.content == snippet_bytes()
    assert b"placeholder" not in response.content


def test_snippet_revalidates_with_etag(server: ServerProcess):
    with server.client() as http:
        etag = http.get("/t.js").headers["etag"]
        fresh = http.get("/t.js", headers={"If-None-Match": etag})
        stale = http.get("/t.js", headers={"If-None-Match": '"0123456789abcdef"'})
    assert fresh.status_code == 304
    assert fresh.content == b""
    assert fresh.headers["etag"] == etag
    assert stale.status_code == 200
    assert stale.content == snippet_bytes()


def test_snippet_fits_the_size_budget():
    source = snippet_bytes().decode("utf-8")
    minified = _minified(source).encode("utf-8")
    assert len(minified) < MINIFIED_BUDGET, (
        f"t.js is {len(minified)} bytes minified (gzip {len(gzip.compress(minified, 9))}); "
        f"the budget is {MINIFIED_BUDGET}"
    )
    # The mangled output really is the snippet, not an empty parse.
    assert "adtrack" in minified.decode() and "sendBeacon" in minified.decode()


def test_snippet_is_gzipped_when_accepted_and_304_matches_lists(server):
    import gzip

    with server.client() as http:
        plain = http.get("/t.js", headers={"Accept-Encoding": "identity"})
        zipped = http.get("/t.js", headers={"Accept-Encoding": "gzip, br"})
        etag = plain.headers["etag"]
        listed = http.get("/t.js", headers={"If-None-Match": f'"other", W/{etag}'})
        star = http.get("/t.js", headers={"If-None-Match": "*"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == plain.content  # httpx decodes: same script either way
    assert int(zipped.headers["content-length"]) < len(gzip.compress(plain.content)) + 64
    assert listed.status_code == 304 and star.status_code == 304
    assert listed.headers["cache-control"] == "public, max-age=3600"
