"""Landing URLs: control characters are refused in every URL field of the catalog (API and
CSV import), and a redirect never answers 500, even for a URL saved before that rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.catalog import entities as cat
from app.catalog import rows as catalog_rows
from app.catalog.links import landing_with_click, valid_landing_url
from app.store.client import open_store
from app.store.migrate import migrate
from tests.support.server import ServerProcess

GOOD = "https://shop.example.com/landing?p=1"
CONTROLS = ["\x0b", "\x01", "\x7f", "\x00", "\x1f", "\x85", " ", "\t"]
# Saved straight to the store, as a row from before the rule would be.
STORED = "https://shop.example.com/a\x0bb?x=\x01&y=\x7f#top\x0b"


def _header_safe(location: str) -> bool:
    return all(b > 0x20 and b != 0x7F for b in location.encode("utf-8"))


# -- the pure rules -------------------------------------------------------------------------


@pytest.mark.parametrize("char", CONTROLS)
def test_control_characters_are_refused_anywhere_in_a_landing_url(char):
    assert valid_landing_url(GOOD) is None
    assert valid_landing_url("https://例子.cn/路径?q=值") is None
    for bad in (f"https://shop.example.com/a{char}b", f"{GOOD}&x={char}", f"{GOOD}#a{char}"):
        assert valid_landing_url(bad) == "must not contain whitespace or control characters"


def test_a_stored_url_with_control_characters_redirects_percent_encoded():
    location = landing_with_click(STORED, "abc-1", "utm_source=x%0Ay")
    assert location == (
        "https://shop.example.com/a%0Bb?x=%01&y=%7F&utm_source=x%0Ay&adt_cid=abc-1#top%0B"
    )
    # A lone surrogate has no UTF-8 form: encoded as its bytes rather than failing.
    assert landing_with_click("https://x.cn/\ud800", "c") == "https://x.cn/%ED%A0%80?adt_cid=c"
    # Good URLs are untouched, non-ASCII text included.
    assert (
        landing_with_click("https://例子.cn/路径?q=值#f", "c")
        == "https://例子.cn/路径?q=值&adt_cid=c#f"
    )


@given(st.text(), st.text())
def test_any_landing_url_gives_a_location_a_header_can_carry(url, query):
    assert _header_safe(landing_with_click(url, "abc-1", query))


# -- a real server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """A server whose store already holds a link (and a creative) with a stored bad URL."""
    data_dir = tmp_path_factory.mktemp("landing")
    store = open_store(f"chdb://{data_dir / 'clickhouse'}")
    try:
        migrate(store)
        adv = catalog_rows.save(store, cat.new_advertiser("Shop"))
        campaign = catalog_rows.save(store, cat.new_campaign("Q4", adv.id))
        catalog_rows.save(store, cat.Partner(id="p1", name="P1"))
        site = catalog_rows.save(
            store, cat.new_site("Portal", "p1", "portal.example.cn", "local_portal")
        )
        link = catalog_rows.save(store, cat.new_link(campaign.id, site.site_key, STORED))
    finally:
        store.close()
    proc = ServerProcess(data_dir, {"ADTRACK_GEOIP_DB": str(geo_db[0])}).start()
    yield {"server": proc, "campaign": campaign.id, "site": site.site_key, "code": link.code}
    proc.stop()


def test_a_stored_bad_landing_url_redirects_and_records_the_click(world):
    server = world["server"]
    with server.client() as http:
        response = http.get(f"/c/{world['code']}", follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("https://shop.example.com/a%0Bb?x=%01&y=%7F&adt_cid=")
    assert location.endswith("#top%0B")
    [click] = server.wait_events(1, event_type="click", link_code=world["code"])
    assert click["url"] == location


def _refused(response, loc: list) -> None:
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(e["loc"] == loc for e in errors), errors
    assert "control characters" in str(errors)


@pytest.mark.parametrize("char", ["\x0b", "\x01", "\x7f"])
def test_the_api_refuses_control_characters_in_every_url_field(world, char):
    bad = f"https://shop.example.com/a{char}b"
    link = {"campaign_id": world["campaign"], "site_key": world["site"], "landing_url": GOOD}
    rule = {"targeting": {"devices": ["mobile"]}}
    creative = {"campaign_id": world["campaign"], "name": "B", "kind": "image",
                "landing_url": GOOD, "image_url": "https://cdn.example.com/b.png"}  # fmt: skip
    cases = [
        ({**link, "landing_url": bad}, ["landing_url"]),
        ({**link, "fallback_url": bad}, ["fallback_url"]),
        ({**link, "landing_url": "", "variants": [{"url": bad}]}, ["variants", 0, "url"]),
        ({**link, "rules": [{**rule, "landing_url": bad}]}, ["rules", 0, "landing_url"]),
        ({**link, "rules": [{**rule, "variants": [{"url": bad}]}]},
         ["rules", 0, "variants", 0, "url"]),
    ]  # fmt: skip
    with world["server"].admin() as http:
        for body, loc in cases:
            _refused(http.post("/api/v1/links", json=body), ["body", *loc])
        _refused(http.patch(f"/api/v1/links/{world['code']}", json={"landing_url": bad}),
                 ["body", "landing_url"])  # fmt: skip
        for key in ("landing_url", "image_url"):
            _refused(http.post("/api/v1/creatives", json={**creative, key: bad}), ["body", key])


def test_csv_import_refuses_control_characters_naming_line_and_column(world):
    text = (
        "campaign_id,site_key,landing_url,fallback_url\n"
        f"{world['campaign']},{world['site']},{GOOD},\n"
        f"{world['campaign']},{world['site']},https://shop.example.com/a\x0bb,\n"
        f"{world['campaign']},{world['site']},{GOOD},https://shop.example.com/\x7f\n"
    )
    with world["server"].admin() as http:
        response = http.post(
            "/api/v1/import/links", content=text.encode(), headers={"content-type": "text/csv"}
        )
        assert response.status_code == 422, response.text
        locs = [e["loc"] for e in response.json()["detail"]]
        assert locs == [["body", 3, "landing_url"], ["body", 4, "fallback_url"]]
        # All or nothing: the good line was not saved either.
        links = http.get("/api/v1/links").json()
        assert [row["code"] for row in links] == [world["code"]]


@pytest.mark.parametrize(
    "bad",
    ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://cdn.example.cn/a"],
)
def test_the_api_refuses_other_schemes_in_every_url_field(world, bad):
    """Rules, splits, the fallback and creatives take http(s) only, as a link's landing does."""
    link = {"campaign_id": world["campaign"], "site_key": world["site"], "landing_url": GOOD}
    rule = {"targeting": {"devices": ["mobile"]}}
    creative = {"campaign_id": world["campaign"], "name": "B", "kind": "image",
                "landing_url": GOOD, "image_url": "https://cdn.example.com/b.png"}  # fmt: skip
    cases = [
        ("/api/v1/links", {**link, "landing_url": bad}, ["landing_url"]),
        ("/api/v1/links", {**link, "fallback_url": bad}, ["fallback_url"]),
        ("/api/v1/links", {**link, "landing_url": "", "variants": [{"url": bad}]},
         ["variants", 0, "url"]),
        ("/api/v1/links", {**link, "rules": [{**rule, "landing_url": bad}]},
         ["rules", 0, "landing_url"]),
        ("/api/v1/links", {**link, "rules": [{**rule, "variants": [{"url": bad}]}]},
         ["rules", 0, "variants", 0, "url"]),
        ("/api/v1/creatives", {**creative, "landing_url": bad}, ["landing_url"]),
        ("/api/v1/creatives", {**creative, "image_url": bad}, ["image_url"]),
    ]  # fmt: skip
    with world["server"].admin() as http:
        before = {path: len(http.get(path).json()) for path in {c[0] for c in cases}}
        for path, body, loc in cases:
            response = http.post(path, json=body)
            assert response.status_code == 422, (loc, response.text)
            errors = response.json()["detail"]
            assert any(e["loc"] == ["body", *loc] for e in errors), errors
            assert "http or https" in str(errors)
        patched = http.patch(f"/api/v1/links/{world['code']}", json={"fallback_url": bad})
        assert patched.status_code == 422, patched.text
        assert {path: len(http.get(path).json()) for path in before} == before  # nothing saved
