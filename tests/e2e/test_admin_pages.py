"""The catalog pages in a real headless Chromium: a media buyer logs in through the login page
and sets up an advertiser, a campaign, a geo-targeted link and a placement with the forms."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.auth.helpers import PASSWORD, make_user
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

_ITEM = r"/admin/catalog/{plural}/([^/?]+)\?notice=created$"


@pytest.fixture(scope="module")
def server(e2e_server: ServerProcess) -> ServerProcess:
    return e2e_server


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def _submit(page: Page, plural: str, button: str) -> str:
    """Clicks the form's button; the key of the row it created (from the item page's URL)."""
    page.get_by_role("button", name=button).click()
    pattern = re.compile(_ITEM.format(plural=plural))
    page.wait_for_url(pattern)
    expect(page.get_by_role("status")).to_have_text("Created.")
    match = pattern.search(page.url)
    assert match
    return match.group(1)


def test_a_media_buyer_sets_up_a_campaign_with_the_pages(server: ServerProcess, page: Page):
    make_user(server, "mona", "media_buyer")
    with server.admin() as http:  # the partner's site, as set up earlier
        http.post("/api/v1/partners", json={"id": "nmg-portal", "name": "Hohhot Portal Co."})
        site = http.post(
            "/api/v1/sites",
            json={"name": "Hohhot City Portal", "partner": "nmg-portal",
                  "domain": "portal.example.cn", "channel": "local_portal"},
        ).json()  # fmt: skip

    # Logging in through the login page leads back to the page asked for.
    page.goto(f"{server.base_url}/admin/catalog/advertisers")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#username", "mona")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.base_url}/admin/catalog/advertisers")

    page.fill("#name", "内蒙古移动")
    advertiser = _submit(page, "advertisers", "Create advertiser")

    page.goto(f"{server.base_url}/admin/catalog/campaigns")
    page.fill("#name", "宽带 2025")
    page.select_option("#advertiser_id", advertiser)
    page.fill("#start_date", "2025-01-01")
    page.fill("#end_date", "2025-06-30")
    page.fill("#budget", "20000")
    page.fill("#t_regions", "内蒙古")
    page.check("input[name=t_devices][value=mobile]")
    page.fill("#t_hours", "8-23")
    campaign = _submit(page, "campaigns", "Create campaign")
    expect(page.locator("#fields")).to_contain_text("内蒙古自治区 · Inner Mongolia (150000)")

    page.goto(f"{server.base_url}/admin/catalog/links")
    page.select_option("#campaign_id", campaign)
    page.select_option("#site_key", site["site_key"])
    page.fill("#landing_url", "https://shop.example.cn/broadband")
    page.fill(
        "#rules", "内蒙古 => https://shop.example.cn/nmg\n呼和浩特 => https://shop.example.cn/hh"
    )
    code = _submit(page, "links", "Create link")
    expect(page.locator("#fields")).to_contain_text(f"{server.base_url}/c/{code}")

    page.goto(f"{server.base_url}/admin/catalog/placements")
    page.select_option("#site_key", site["site_key"])
    page.fill("#name", "首页横幅")
    page.fill("#width", "728")
    page.fill("#height", "90")
    page.check(f"input[name=campaign_ids][value={campaign}]")
    placement = _submit(page, "placements", "Create placement")

    listed = {
        "campaigns": ["宽带 2025", campaign],
        "links": [code, f"{server.base_url}/c/{code}"],
        "placements": ["首页横幅", f"/serve/{placement}?format=html"],
    }
    for plural, texts in listed.items():
        page.goto(f"{server.base_url}/admin/catalog/{plural}")
        for text in texts:
            expect(page.locator("#rows")).to_contain_text(text)

    with server.admin() as http:
        link = http.get(f"/api/v1/links/{code}").json()
        booked = http.get(f"/api/v1/placements/{placement}").json()
    assert link["rules"][0]["targeting"] == {"regions": ["150000"]}
    assert link["rules"][0]["landing_url"] == "https://shop.example.cn/nmg"
    assert link["rules"][1]["targeting"] == {"regions": ["150100"]}
    assert booked["campaign_ids"] == [campaign]
