"""The snippet in a real headless Chromium against a real server: a partner page, a tracked
link, an advertiser's landing page with an order, and time on page.

The partner and advertiser pages are served from this process on two hostnames that
Chromium maps to 127.0.0.1, so each has its own first-party cookies, as in production.
Debian's chromium is driven by Playwright; `scripts/install-chromium.sh` installs it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.conftest import CHROMIUM, MISSING
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

PAGES = Path(__file__).parent / "pages"
# Makes the page hidden as a tab switch would: headless Chromium keeps every page visible.
SET_VISIBILITY = """state => {
    Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => state == 'hidden'});
    document.dispatchEvent(new Event('visibilitychange'));
}"""


# -- local partner and advertiser pages ---------------------------------------------------


class Pages:
    """Serves tests/e2e/pages on <name>.localtest, with {{TRACKER}}, {{LINK}} and {{SITE}}
    (the site key registered for that hostname) filled in."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.sites: dict[str, str] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, host: str, page: str) -> str:
        return f"http://{host}.localtest:{self.port}/{page}"

    def render(self, host: str, page: str) -> bytes | None:
        path = PAGES / page
        if "/" in page or not page.endswith(".html") or not path.is_file():
            return None
        values = {**self.values, "SITE": self.sites.get(host, "")}
        html = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], path.read_text("utf-8"))
        return html.encode("utf-8")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                host = (self.headers.get("Host") or "").split(".", 1)[0]
                body = pages.render(host, urlsplit(self.path).path.lstrip("/"))
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> Pages:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="module")
def server(e2e_server: ServerProcess) -> ServerProcess:
    """The e2e modules' server: each test seeds its own world and reads only its rows."""
    return e2e_server


@pytest.fixture
def pages() -> Iterator[Pages]:
    with Pages() as served:
        yield served


# -- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def desktop_ua(chromium: Browser) -> str:
    """Chromium's own user agent without "Headless", which the bot list rightly flags."""
    page = chromium.new_page()
    try:
        return page.evaluate("navigator.userAgent").replace("HeadlessChrome/", "Chrome/")
    finally:
        page.close()


@pytest.fixture
def context(chromium: Browser, desktop_ua: str) -> Iterator[BrowserContext]:
    ctx = chromium.new_context(user_agent=desktop_ua)
    yield ctx
    ctx.close()


def _open(context: BrowserContext) -> tuple[Page, list[str]]:
    """A page, and the errors it throws (the snippet must never throw into it)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def _hits(page: Page) -> list[tuple[str, str]]:
    """(resource type, path) of each hit the page sends to the tracker, as they happen."""
    hits: list[tuple[str, str]] = []

    def seen(request: Any) -> None:
        path = urlsplit(request.url).path
        if path in ("/e", "/p.gif"):
            hits.append((request.resource_type, path))

    page.on("request", seen)
    return hits


def _loaded(page: Page) -> None:
    page.wait_for_load_state("load")
    page.wait_for_function("window.adtrack && window.adtrack.v === 1")


# -- catalog and events -------------------------------------------------------------------


def _world(server: ServerProcess, pages: Pages) -> dict[str, Any]:
    """The seeded partner site and link, plus the advertiser's own site for its landing."""
    world = server.seed(landing_url=pages.url("shop", "landing.html?p=1"))
    with server.admin() as http:
        response = http.post(
            "/api/v1/sites",
            json={
                "name": "China Mobile Shop",
                "advertiser_id": world["advertiser"]["id"],
                "domain": "shop.localtest",
                "channel": "owned",
            },
        )
        assert response.status_code == 201, response.text
    world["shop"] = response.json()
    pages.sites = {"partner": world["site"]["site_key"], "shop": world["shop"]["site_key"]}
    pages.values = {"TRACKER": server.base_url, "LINK": world["link"]["url"]}
    # The server is shared: rejects are counted from here (earlier tests' hits all loaded).
    server.wait_drained()
    world["rejects_before"] = server.rejects()["by_reason"]
    return world


def _no_new_rejects(server: ServerProcess, world: dict[str, Any]) -> None:
    """Not one hit refused since `_world`, on any site."""
    server.wait_drained()
    assert server.rejects()["by_reason"] == world["rejects_before"]


def _wait_rows(
    server: ServerProcess,
    count: int = 1,
    where: Callable[[dict], bool] = lambda row: True,
    timeout: float = 20,
    **filters: Any,
) -> list[dict]:
    """Poll the event log until `count` rows match the filters and `where`."""
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = [row for row in server.events(**filters) if where(row)]
        if len(rows) >= count:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"expected {count} events for {filters}, found {rows}")


def _named(name: str) -> Callable[[dict], bool]:
    return lambda row: row["event_name"] == name


# -- tests --------------------------------------------------------------------------------


def test_chromium_is_installed():
    assert CHROMIUM.exists(), MISSING


def test_partner_click_to_landing_order(server: ServerProcess, pages: Pages, context):
    world = _world(server, pages)
    partner_site, shop_site = pages.sites["partner"], pages.sites["shop"]
    page, errors = _open(context)
    hits = _hits(page)

    page.goto(pages.url("partner", "partner.html"))
    _loaded(page)
    partner_visit = _wait_rows(server, event_type="visit", site_key=partner_site)[0]
    # The tracked link carries the partner page's visitor id to the redirect.
    tagged = f"{world['link']['url']}?vid={partner_visit['visitor_id']}"
    assert page.eval_on_selector("#offer", "a => a.href") == tagged
    page.click("#offer")  # /c/CODE, then a 302 to the landing page with adt_cid
    page.wait_for_url(re.compile(r"^http://shop\.localtest:\d+/landing\.html\?p=1&adt_cid="))
    _loaded(page)

    click = _wait_rows(server, event_type="click", link_code=world["link"]["code"])[0]
    click_id = click["click_id"]
    assert page.url.endswith(f"adt_cid={click_id}")  # no vid forwarded
    assert click["visitor_id"] == partner_visit["visitor_id"]  # impression → click: one person
    visit = _wait_rows(server, event_type="visit", site_key=shop_site)[0]
    order = _wait_rows(server, event_type="order", order_id="o-1", site_key=shop_site)[0]
    signup = _wait_rows(server, event_type="event", site_key=shop_site, where=_named("signup"))[0]

    # The partner page's own visit, from its own visitor cookie.
    assert partner_visit["url"] == pages.url("partner", "partner.html")
    assert partner_visit["partner_id"] == "nmg-portal"
    assert partner_visit["click_id"] == ""
    # The landing visit, order and event all carry the click and inherit its source.
    for row in (visit, order, signup):
        assert row["click_id"] == click_id
        assert row["campaign_id"] == world["campaign"]["id"]
        assert row["advertiser_id"] == world["advertiser"]["id"]
        assert row["placement_id"] == "home-banner"
    assert visit["url"] == page.url
    assert visit["referrer"].startswith(pages.url("partner", ""))
    assert Decimal(order["amount"]) == Decimal("88.50")
    assert order["currency"] == "CNY"
    assert order["order_status"] == "approved"
    assert signup["props"] == {"plan": "basic"}
    # One visitor, session and page view on the shop; a different visitor on the partner.
    shop_rows = (visit, order, signup)
    assert len({r["visitor_id"] for r in shop_rows}) == 1 and visit["visitor_id"]
    assert len({r["session_id"] for r in shop_rows}) == 1 and visit["session_id"]
    assert len({r["pageview_id"] for r in shop_rows}) == 1 and visit["pageview_id"]
    assert partner_visit["visitor_id"] and partner_visit["visitor_id"] != visit["visitor_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", visit["visitor_id"])
    # Browser fields, from the real request.
    for row in (partner_visit, visit, order, signup):
        assert row["device_type"] == "desktop"
        assert "Chrome" in row["browser"]
        assert row["is_bot"] == 0
        assert row["client_ts"]
    assert re.fullmatch(r"\d+x\d+", visit["screen"])
    assert visit["language"]

    # First-party cookies, each on its own site; the click id kept on the landing site.
    cookies = {(c["domain"], c["name"]): c for c in context.cookies()}
    assert cookies[("shop.localtest", "_adt_cid")]["value"] == click_id
    assert cookies[("shop.localtest", "_adt_vid")]["value"] == visit["visitor_id"]
    assert cookies[("partner.localtest", "_adt_vid")]["value"] == partner_visit["visitor_id"]
    assert ("partner.localtest", "_adt_cid") not in cookies
    assert cookies[("shop.localtest", "_adt_vid")]["sameSite"] == "Lax"

    added = page.evaluate(
        "Object.getOwnPropertyNames(window).filter(k => !globalsBefore.includes(k))"
    )
    assert set(added) <= {"globalsBefore", "adtrack"}
    assert set(hits) == {("ping", "/e")}  # sendBeacon
    assert errors == []
    _no_new_rejects(server, world)


def test_landing_hits_belong_to_the_partner_of_the_click(
    server: ServerProcess, pages: Pages, context
):
    world = _world(server, pages)
    page, _ = _open(context)
    page.goto(pages.url("partner", "partner.html"))
    _loaded(page)
    page.click("#offer")
    _loaded(page)
    click = _wait_rows(server, event_type="click", link_code=world["link"]["code"])[0]
    order = _wait_rows(server, event_type="order", order_id="o-1", site_key=pages.sites["shop"])[0]
    assert (click["partner_id"], click["channel"]) == ("nmg-portal", "local_portal")
    assert (order["partner_id"], order["channel"]) == ("nmg-portal", "local_portal")


def test_reloading_the_landing_page_does_not_double_the_order(
    server: ServerProcess, pages: Pages, context
):
    world = _world(server, pages)
    shop_site = pages.sites["shop"]
    page, errors = _open(context)
    page.goto(world["link"]["url"])
    _loaded(page)
    first = _wait_rows(server, event_type="order", order_id="o-1", site_key=shop_site)[0]

    page.reload()
    _loaded(page)
    visits = _wait_rows(server, 2, event_type="visit", site_key=shop_site)
    assert len({v["pageview_id"] for v in visits}) == 2
    # The reloaded page sent the order again; the loader dropped it as a duplicate.
    dropped = _wait_rejects(server, "duplicate_order", site_key=shop_site)
    assert '"o-1"' in dropped[0]["raw"]
    server.wait_drained()
    orders = server.events(event_type="order", site_key=shop_site)
    assert [o["event_id"] for o in orders] == [first["event_id"]]
    assert errors == []


@pytest.mark.parametrize(
    ("disable", "transport"),
    [
        pytest.param("Navigator.prototype.sendBeacon = undefined;", ("fetch", "/e"), id="fetch"),
        pytest.param(
            "Navigator.prototype.sendBeacon = undefined; window.fetch = undefined;",
            ("image", "/p.gif"),
            id="pixel",
        ),
    ],
)
def test_without_sendbeacon_the_snippet_falls_back(
    server: ServerProcess, pages: Pages, context, disable: str, transport: tuple[str, str]
):
    world = _world(server, pages)
    context.add_init_script(disable)
    page, errors = _open(context)
    hits = _hits(page)
    page.goto(world["link"]["url"])
    _loaded(page)
    click = _wait_rows(server, event_type="click", link_code=world["link"]["code"])[0]
    visit = _wait_rows(server, event_type="visit", site_key=pages.sites["shop"])[0]
    order = _wait_rows(server, event_type="order", order_id="o-1", site_key=pages.sites["shop"])[0]
    assert visit["click_id"] == order["click_id"] == click["click_id"]
    assert visit["visitor_id"] == order["visitor_id"] != ""
    assert Decimal(order["amount"]) == Decimal("88.50")
    assert set(hits) == {transport}
    assert errors == []
    _no_new_rejects(server, world)


def _wait_rejects(
    server: ServerProcess, reason: str, site_key: str, timeout: float = 20
) -> list[dict]:
    """The site's rejects for `reason`, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = server.rejects(reason=reason)["rejects"]
        rows = [row for row in rows if row["site_key"] == site_key]
        if rows:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"no {reason} reject for {site_key} within {timeout}s")


def test_leaving_the_page_sends_time_on_page_once(server: ServerProcess, pages: Pages, context):
    _world(server, pages)
    site = pages.sites["partner"]
    page, errors = _open(context)
    page.goto(pages.url("partner", "partner.html"))
    _loaded(page)
    visit = _wait_rows(server, event_type="visit", site_key=site)[0]
    page.wait_for_timeout(400)

    # Navigating away fires pagehide and then visibilitychange: one page_leave, not two.
    page.goto(pages.url("partner", "partner.html?again"))
    _loaded(page)
    _wait_rows(server, 2, event_type="visit", site_key=site)
    leave = _wait_rows(server, event_type="event", site_key=site, where=_named("page_leave"))[0]
    assert leave["pageview_id"] == visit["pageview_id"]
    assert leave["visitor_id"] == visit["visitor_id"]
    assert leave["session_id"] == visit["session_id"]
    assert 350 <= leave["duration_ms"] < 60_000
    server.wait_drained()
    leaves = [
        r
        for r in server.events(event_type="event", site_key=site)
        if r["event_name"] == "page_leave"
    ]
    assert len(leaves) == 1
    assert errors == []


def test_hidden_page_sends_visible_time_once_per_hidden_period(
    server: ServerProcess, pages: Pages, context
):
    _world(server, pages)
    site = pages.sites["partner"]
    page, errors = _open(context)
    page.goto(pages.url("partner", "partner.html"))
    _loaded(page)
    visit = _wait_rows(server, event_type="visit", site_key=site)[0]
    page.wait_for_timeout(300)

    page.evaluate(SET_VISIBILITY, "hidden")
    first = _wait_rows(server, event_type="event", site_key=site, where=_named("page_leave"))
    assert first[0]["pageview_id"] == visit["pageview_id"]
    assert first[0]["duration_ms"] >= 250
    page.evaluate(SET_VISIBILITY, "hidden")  # still hidden: nothing new to report
    page.wait_for_timeout(1_000)  # hidden time does not count

    visible_from = time.monotonic()
    page.evaluate(SET_VISIBILITY, "visible")
    page.wait_for_timeout(200)
    page.goto(pages.url("partner", "partner.html?next"))  # pagehide while visible
    visible_ms = (time.monotonic() - visible_from) * 1000  # an upper bound, navigation included
    _loaded(page)
    _wait_rows(server, 2, event_type="visit", site_key=site)
    leaves = _wait_rows(server, 2, event_type="event", site_key=site, where=_named("page_leave"))
    server.wait_drained()
    leaves = [
        r
        for r in server.events(event_type="event", site_key=site)
        if r["event_name"] == "page_leave"
    ]
    assert len(leaves) == 2
    durations = sorted(r["duration_ms"] for r in leaves)
    assert {r["pageview_id"] for r in leaves} == {visit["pageview_id"]}
    # The second report is the page view's visible time so far: both visible periods
    # (300 ms, then 200 ms and the navigation), not the second spent hidden — however long
    # the navigation took on a busy machine (the bound is measured around it, not fixed).
    assert 150 <= durations[1] - durations[0] <= visible_ms + 50
    assert errors == []


def test_virtual_page_view_in_a_single_page_app(server: ServerProcess, pages: Pages, context):
    _world(server, pages)
    site = pages.sites["partner"]
    page, errors = _open(context)
    page.goto(pages.url("partner", "partner.html"))
    _loaded(page)
    page.wait_for_timeout(200)
    page.evaluate("history.pushState({}, '', '/partner.html?view=2'); adtrack('visit')")

    visits = _wait_rows(server, 2, event_type="visit", site_key=site)
    first, second = sorted(visits, key=lambda row: row["client_ts"])
    assert second["url"] == pages.url("partner", "partner.html?view=2")
    assert second["referrer"] == first["url"]
    assert second["pageview_id"] != first["pageview_id"]
    assert second["session_id"] == first["session_id"]
    assert second["visitor_id"] == first["visitor_id"]
    # The virtual navigation ends the first page view's visible time.
    leave = _wait_rows(server, event_type="event", site_key=site, where=_named("page_leave"))[0]
    assert leave["pageview_id"] == first["pageview_id"]
    assert leave["url"] == first["url"]
    assert leave["duration_ms"] >= 150
    assert errors == []


def test_links_added_later_are_tagged_as_they_are_pressed(
    server: ServerProcess, pages: Pages, context
):
    world = _world(server, pages)
    page, errors = _open(context)
    page.goto(pages.url("partner", "partner.html"))
    _loaded(page)
    vid = next(c["value"] for c in context.cookies() if c["name"] == "_adt_vid")
    link = world["link"]["url"]
    page.evaluate(
        """([link, other]) => {
            for (const [id, href] of [['late', link + '?utm_source=qq&vid=stale#top'],
                                      ['other', other]]) {
                const a = document.createElement('a');
                a.id = id; a.href = href; a.textContent = id;
                document.body.appendChild(a);
            }
        }""",
        [link, pages.url("shop", "c/not-the-tracker.html")],
    )
    assert page.eval_on_selector("#late", "a => a.href").endswith("vid=stale#top")
    page.dispatch_event("#late", "mousedown")
    assert page.eval_on_selector("#late", "a => a.href") == f"{link}?utm_source=qq&vid={vid}#top"
    # Other sites' links are left alone, even with a /c/ path.
    assert page.eval_on_selector("#other", "a => a.href") == pages.url(
        "shop", "c/not-the-tracker.html"
    )
    assert errors == []


def test_a_share_link_brings_a_friend_who_carries_the_sharer(
    server: ServerProcess, pages: Pages, context, chromium: Browser, desktop_ua: str
):
    world = _world(server, pages)
    shop_site = pages.sites["shop"]
    page, errors = _open(context)
    page.goto(world["link"]["url"])  # the sharer arrived through a tracked link
    _loaded(page)
    sharer = _wait_rows(server, event_type="visit", site_key=shop_site)[0]
    shared = page.evaluate("adtrack.share('wechat')")
    # The page's own URL: its parameters kept, the click id not passed on, the sharer added.
    assert shared == pages.url("shop", f"landing.html?p=1&adt_ref={sharer['visitor_id']}")
    share = _wait_rows(server, event_type="event", site_key=shop_site, where=_named("share"))[0]
    assert share["props"] == {"medium": "wechat"}
    assert share["visitor_id"] == sharer["visitor_id"]

    # The friend's browser falls back to the pixel, whose hits' fields the test can read
    # (a beacon's body is not visible to Playwright).
    friend = chromium.new_context(user_agent=desktop_ua)
    friend.add_init_script("Navigator.prototype.sendBeacon = undefined; window.fetch = undefined;")
    try:
        other, other_errors = _open(friend)
        sent: list[dict[str, list[str]]] = []
        other.on(
            "request",
            lambda r: (
                sent.append(parse_qs(urlsplit(r.url).query))
                if urlsplit(r.url).path == "/p.gif"
                else None
            ),
        )
        other.goto(shared)
        _loaded(other)
        visits = _wait_rows(server, 2, event_type="visit", site_key=shop_site)
        [arrival] = [v for v in visits if v["visitor_id"] != sharer["visitor_id"]]
        assert arrival["click_id"] == ""  # not the sharer's click
        [visit] = [q for q in sent if q["e"] == ["visit"]]
        assert visit["ref_id"] == [sharer["visitor_id"]]
        assert visit["vid"] == [arrival["visitor_id"]]
        assert other_errors == []
    finally:
        friend.close()
    assert errors == []
    _no_new_rejects(server, world)
