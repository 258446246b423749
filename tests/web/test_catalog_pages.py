"""The catalog pages on a real server, as a browser uses them: a media buyer creates, edits,
pauses and imports through the forms; finance only reads; a partner sees only its own rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.web.catalog_pages import changes
from tests.auth.helpers import form_token, logged_in, make_user
from tests.support.server import ServerProcess
from tests.web.html_forms import read_form

LANDING = "https://shop.example.cn/landing"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    """One server for the module: the tests add rows and look for their own."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("catalog-pages"), {"ADTRACK_GEOIP_DB": str(geo_db[0])}
    )
    yield proc.start()
    proc.stop()


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    """The seeded partner nmg-portal (site, link), another partner's site and link, and the
    users: a media buyer, finance, and a partner user of nmg-portal."""
    seeded = server.seed(landing_url=LANDING)
    with server.admin() as http:
        http.post("/api/v1/partners", json={"id": "other-co", "name": "Other Co"})
        site = http.post(
            "/api/v1/sites",
            json={"name": "Other BBS", "partner": "other-co", "domain": "bbs.other.cn",
                  "channel": "forum"},
        ).json()  # fmt: skip
        link = http.post(
            "/api/v1/links",
            json={"campaign_id": seeded["campaign"]["id"], "site_key": site["site_key"],
                  "landing_url": LANDING},
        ).json()  # fmt: skip
    make_user(server, "mia", "media_buyer")
    make_user(server, "fred", "finance")
    make_user(server, "pat", "partner", partner_id="nmg-portal")
    return {**seeded, "other_site": site, "other_link": link}


@pytest.fixture(scope="module")
def buyer(server: ServerProcess, world: dict) -> Iterator[httpx.Client]:
    with logged_in(server, "mia") as http:
        yield http


def _token(http: httpx.Client, path: str = "/admin/catalog/advertisers") -> str:
    return form_token(http.get(path).text)


def _post(http: httpx.Client, path: str, data: dict[str, Any]) -> httpx.Response:
    return http.post(path, data={"csrf_token": _token(http), **data})


def _created(http: httpx.Client, plural: str, data: dict[str, Any]) -> tuple[str, str]:
    """Posts the "new" form; the new row's key and its page."""
    response = _post(http, f"/admin/catalog/{plural}", data)
    assert response.status_code == 303, _alerts(response.text)
    location = response.headers["location"]
    match = re.fullmatch(rf"/admin/catalog/{plural}/([^/?]+)\?notice=created", location)
    assert match, location
    page = http.get(location)
    assert page.status_code == 200
    assert "Created." in page.text
    return match.group(1), unescape(page.text)


def _alerts(html: str) -> list[str]:
    """The error messages a page shows."""
    found = re.findall(r'role="alert"[^>]*>(.*?)</(?:p|div)>', html, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", text)).strip() for text in found]


def _field_error(html: str, name: str) -> str:
    match = re.search(rf'id="{name}-error">(.*?)</div>', html, re.S)
    return unescape(match.group(1)) if match else ""


def _api(server: ServerProcess, path: str) -> Any:
    with server.admin() as http:
        response = http.get(path)
    assert response.status_code == 200, response.text
    return response.json()


# -- a media buyer at work --------------------------------------------------------------------


def test_the_overview_counts_rows_and_links_to_each_list(buyer, world):
    page = buyer.get("/admin/catalog")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    for plural in ("advertisers", "partners", "sites", "placements", "links"):
        assert f'href="/admin/catalog/{plural}"' in page.text


def test_a_media_buyer_creates_through_the_forms_and_sees_the_rows(server, buyer, world):
    adv_id, _ = _created(buyer, "advertisers", {"name": "内蒙古移动 Shop"})
    assert adv_id.startswith("adv_")
    campaign_id, page = _created(
        buyer,
        "campaigns",
        {
            "name": "Broadband 2025",
            "advertiser_id": adv_id,
            "start_date": "2025-01-01",
            "end_date": "2025-03-31",
            "budget": "5000.50",
            "currency": "CNY",
            "goal_event": "signup",
            "timezone": "Asia/Shanghai",
            "frequency_cap": "3",
            "t_regions": "内蒙古, 呼和浩特",
            "t_devices": ["mobile", "tablet"],
            "t_weekdays": ["1", "2", "3"],
            "t_hours": "9-12, 14-18",
        },
    )
    assert "内蒙古自治区 · Inner Mongolia (150000)" in page
    assert "呼和浩特市 · Hohhot (150100)" in page
    assert "Weekdays: Mon, Tue, Wed" in page and "Hours: 9-12, 14-18" in page
    stored = _api(server, f"/api/v1/campaigns/{campaign_id}")
    assert stored["targeting"]["regions"] == ["150000", "150100"]
    assert stored["targeting"]["devices"] == ["mobile", "tablet"]
    assert (stored["budget"], stored["start_date"], stored["frequency_cap"]) == (
        "5000.50",
        "2025-01-01",
        3,
    )

    site_key, page = _created(
        buyer,
        "sites",
        {"name": "Baotou News", "partner": "nmg-portal", "domain": "news.baotou.cn",
         "channel": "local_portal"},
    )  # fmt: skip
    assert f'data-site="{site_key}"' in page  # the snippet to put on the site
    placement_id, page = _created(
        buyer,
        "placements",
        {"site_key": site_key, "name": "Home top", "width": "728", "height": "90",
         "campaign_ids": [campaign_id]},
    )  # fmt: skip
    assert f"/serve/{placement_id}?format=html" in page
    code, page = _created(
        buyer,
        "links",
        {
            "campaign_id": campaign_id,
            "site_key": site_key,
            "landing_url": LANDING,
            "rules": "内蒙古 => https://shop.example.cn/nmg\n北京 => https://shop.example.cn/bj 3 "
            "| https://shop.example.cn/bj2",
            "placement_id": placement_id,
        },
    )
    assert f"{server.base_url}/c/{code}" in page
    assert (
        "rule1: Regions: 内蒙古自治区 · Inner Mongolia (150000) ⇒ https://shop.example.cn/nmg"
        in page
    )
    rules = _api(server, f"/api/v1/links/{code}")["rules"]
    assert rules[0]["targeting"] == {"regions": ["150000"]}
    assert [v["weight"] for v in rules[1]["variants"]] == [3, 1]

    listed = {
        "campaigns": ("Broadband 2025", campaign_id),
        "sites": ("Baotou News", f'data-site="{site_key}"'),
        "placements": ("Home top", f"/serve/{placement_id}?format=html"),
        "links": (f"/c/{code}", "Baotou News"),
    }
    for plural, expected in listed.items():
        text = unescape(buyer.get(f"/admin/catalog/{plural}").text)
        assert all(e in text for e in expected), plural


def test_the_edit_form_saves_changes_and_the_history_shows_them(buyer, world):
    key = world["campaign"]["id"]
    page = buyer.get(f"/admin/catalog/campaigns/{key}")
    form = read_form(page.text, "edit-form")
    assert form["name"] == ["Data plan Q4"] and form["currency"] == ["CNY"]
    form.update(name=["Data plan Q4 (extended)"], budget=["800"], t_regions=["呼和浩特"])
    response = buyer.post(f"/admin/catalog/campaigns/{key}", data=form)
    assert response.status_code == 303
    page = unescape(buyer.get(response.headers["location"]).text)
    assert "Saved." in page
    assert "Data plan Q4 (extended)" in page and "呼和浩特市 · Hohhot (150100)" in page
    history = re.sub(r"<[^>]+>", "", page[page.index('id="history"') :])
    assert "mia" in history and "update" in history
    assert "Data plan Q4 → Data plan Q4 (extended)" in history
    # Sent back unchanged, the form changes nothing (regions read back as the same codes).
    form = read_form(buyer.get(f"/admin/catalog/campaigns/{key}").text, "edit-form")
    assert form["t_regions"] == ["呼和浩特"]
    assert buyer.post(f"/admin/catalog/campaigns/{key}", data=form).status_code == 303


def test_pause_activate_and_archive_buttons_and_the_status_filter(buyer, world):
    key, _ = _created(buyer, "advertisers", {"name": "Paused Adv"})
    url = f"/admin/catalog/advertisers/{key}"
    form = read_form(buyer.get(url).text, "status-form")
    response = buyer.post(f"{url}/status", data={**form, "status": "paused"})
    assert response.status_code == 303
    page = buyer.get(response.headers["location"]).text
    assert "Status: paused" in page and ">pause<" in page  # the history names the action
    assert "Paused Adv" in buyer.get("/admin/catalog/advertisers?status=paused").text
    assert "Paused Adv" not in buyer.get("/admin/catalog/advertisers?status=active").text
    bad = buyer.post(f"{url}/status", data={**form, "status": "deleted"})
    assert bad.status_code == 422
    assert response.headers["x-frame-options"] == "DENY"


def test_validation_errors_show_the_form_again_with_the_values_and_messages(buyer, world):
    adv = world["advertiser"]["id"]
    data = {"name": "Backwards", "advertiser_id": adv, "start_date": "2025-05-01",
            "end_date": "2025-04-01", "t_regions": "内蒙古, 火星"}  # fmt: skip
    response = _post(buyer, "/admin/catalog/campaigns", data)
    assert response.status_code == 422
    assert "end_date is before start_date" in _alerts(response.text)
    assert response.headers["cache-control"] == "no-store"
    form = read_form(response.text, "new-form")
    assert (form["name"], form["start_date"], form["t_regions"]) == (
        ["Backwards"],
        ["2025-05-01"],
        ["内蒙古, 火星"],
    )
    # Dates fixed: the service refuses the unknown region, next to the regions field.
    response = _post(buyer, "/admin/catalog/campaigns", {**data, "end_date": "2025-06-01"})
    assert response.status_code == 422
    assert (
        _field_error(response.text, "t_regions")
        == "'火星' is not a province or prefecture-level city"
    )
    assert "Backwards" not in buyer.get("/admin/catalog/campaigns").text


def test_bad_rule_lines_and_weights_are_shown_by_line(buyer, world):
    base = {"campaign_id": world["campaign"]["id"], "site_key": world["site"]["site_key"],
            "landing_url": LANDING}  # fmt: skip
    response = _post(buyer, "/admin/catalog/links", {**base, "rules": "内蒙古 https://x.cn/a"})
    assert response.status_code == 422
    assert _field_error(response.text, "rules") == "line 1: no '=>'; write regions => URL"
    response = _post(
        buyer, "/admin/catalog/links", {**base, "variants": "https://x.cn/a\nhttps://x.cn/b 0"}
    )
    assert response.status_code == 422
    assert _field_error(response.text, "variants").startswith("line 2: weight: ")
    response = _post(buyer, "/admin/catalog/links", {**base, "rules": "\n\n月球 => https://x.cn/a"})
    assert response.status_code == 422
    assert _field_error(response.text, "rules") == (
        "line 3: regions: '月球' is not a province or prefecture-level city"
    )
    assert read_form(response.text, "new-form")["rules"] == ["\n\n月球 => https://x.cn/a"]


def test_a_form_without_its_csrf_token_is_refused(buyer):
    for data in ({"name": "No Token Adv"}, {"name": "No Token Adv", "csrf_token": "forged"}):
        response = buyer.post("/admin/catalog/advertisers", data=data)
        assert response.status_code == 403
    upload = buyer.post(
        "/admin/catalog/partners/import", files={"file": ("p.csv", b"id,name\nx-1,X\n")}
    )
    assert upload.status_code == 403
    assert "No Token Adv" not in buyer.get("/admin/catalog/advertisers").text


def test_an_unknown_row_is_a_404_page(buyer):
    response = buyer.get("/admin/catalog/links/nosuchcode")
    assert response.status_code == 404
    assert "There is no link nosuchcode" in response.text


def test_a_page_without_a_login_sends_you_to_log_in(server, world):
    with logged_in(server, "mia"):
        pass  # someone else's login must not count for the next client
    with server.client() as http:
        response = http.get("/admin/catalog/links?status=active")
        assert response.status_code == 303
        assert response.headers["location"] == (
            "/login?next=%2Fadmin%2Fcatalog%2Flinks%3Fstatus%3Dactive"
        )
        assert http.post("/admin/catalog/advertisers", data={"name": "x"}).status_code == 401


# -- CSV import -------------------------------------------------------------------------------


def test_a_csv_file_imports_every_row(buyer, world):
    token = _token(buyer, "/admin/catalog/partners")
    csv = "id,name,contact_email\nimp-one,Import One,a@example.cn\nimp-two,Import Two,\n"
    response = buyer.post(
        "/admin/catalog/partners/import",
        data={"csrf_token": token},
        files={"file": ("partners.csv", csv.encode("utf-8-sig"), "text/csv")},
    )
    assert response.status_code == 303
    page = buyer.get(response.headers["location"]).text
    assert "Imported 2 rows." in page
    assert "Import One" in page and "Import Two" in page


def test_a_bad_csv_file_shows_its_line_errors_and_saves_nothing(buyer, world):
    token = _token(buyer, "/admin/catalog/sites")
    csv = (
        "name,partner,domain,channel\n"
        "Good Site,nmg-portal,good.example.cn,forum\n"
        "Bad Partner,nobody-here,bad.example.cn,forum\n"
        "Bad Domain,nmg-portal,not a domain,forum\n"
    )
    response = buyer.post(
        "/admin/catalog/sites/import",
        data={"csrf_token": token},
        files={"file": ("sites.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == 422
    errors = response.text[response.text.index('id="import-errors"') :]
    rows = [
        [unescape(cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", errors.split("</table>")[0], re.S)
        if "<td>" in row
    ]
    assert rows[0] == ["3", "partner", "no partner has this id"]
    assert rows[1][:2] == ["4", "domain"]
    assert "Good Site" not in buyer.get("/admin/catalog/sites").text
    # No file, or not UTF-8: said so, nothing saved.
    response = buyer.post("/admin/catalog/sites/import", data={"csrf_token": token},
                          files={"file": ("", b"", "text/csv")})  # fmt: skip
    assert response.status_code == 422 and "choose a CSV file" in response.text
    response = buyer.post("/admin/catalog/sites/import", data={"csrf_token": token},
                          files={"file": ("s.csv", "name\n北京".encode("gbk"))})  # fmt: skip
    assert response.status_code == 422 and "must be UTF-8" in response.text


# -- who sees what ----------------------------------------------------------------------------


def test_finance_reads_the_lists_but_sees_no_forms_and_may_not_post(server, world):
    with logged_in(server, "fred") as http:
        for plural in ("advertisers", "campaigns", "sites", "links"):
            page = http.get(f"/admin/catalog/{plural}")
            assert page.status_code == 200, plural
            assert 'action="/admin/catalog' not in page.text, plural
        page = http.get(f"/admin/catalog/advertisers/{world['advertiser']['id']}")
        assert page.status_code == 200
        assert 'action="/admin/catalog' not in page.text
        assert world["advertiser"]["postback_secret"] not in page.text
        assert 'id="history"' not in page.text  # the audit log is for staff, as in the API
        assert "China Mobile Shop" in page.text
        token = _token(http, "/admin/catalog/advertisers")  # the logout form's token
        refused = [
            http.post("/admin/catalog/advertisers", data={"csrf_token": token, "name": "F"}),
            http.post(
                f"/admin/catalog/links/{world['link']['code']}/status",
                data={"csrf_token": token, "status": "paused"},
            ),  # fmt: skip
            http.post(
                "/admin/catalog/partners/import",
                data={"csrf_token": token},
                files={"file": ("p.csv", b"id,name\nf-1,F\n")},
            ),  # fmt: skip
        ]
        assert [r.status_code for r in refused] == [403, 403, 403]
        assert "Not allowed" in refused[0].text
    assert _api(server, f"/api/v1/links/{world['link']['code']}")["status"] == "active"


def test_a_partner_sees_only_its_own_sites_and_links(server, world):
    own_site, other_site = world["site"], world["other_site"]
    with logged_in(server, "pat") as http:
        sites = http.get("/admin/catalog/sites")
        assert sites.status_code == 200
        assert own_site["site_key"] in sites.text and other_site["site_key"] not in sites.text
        links = http.get("/admin/catalog/links")
        assert world["link"]["code"] in links.text
        assert world["other_link"]["code"] not in links.text
        assert 'action="/admin/catalog' not in sites.text + links.text
        assert world["campaign"]["id"] in links.text
        assert world["campaign"]["name"] not in links.text  # campaigns are not theirs to read
        partners = http.get("/admin/catalog/partners").text
        assert "nmg-portal" in partners and "other-co" not in partners
        assert http.get(f"/admin/catalog/sites/{own_site['site_key']}").status_code == 200
        assert http.get(f"/admin/catalog/sites/{other_site['site_key']}").status_code == 404
        assert http.get(f"/admin/catalog/links/{world['other_link']['code']}").status_code == 404
        assert http.get("/admin/catalog/partners/other-co").status_code == 404
        for plural in ("advertisers", "campaigns", "creatives"):
            assert http.get(f"/admin/catalog/{plural}").status_code == 403
        overview = http.get("/admin/catalog").text
        assert 'href="/admin/catalog/sites"' in overview
        assert 'href="/admin/catalog/campaigns"' not in overview
        token = _token(http, "/admin/catalog/sites")
        response = http.post(
            f"/admin/catalog/sites/{own_site['site_key']}",
            data={"csrf_token": token, "name": "Renamed by partner"},
        )
        assert response.status_code == 403
    assert _api(server, f"/api/v1/sites/{own_site['site_key']}")["name"] == own_site["name"]


# -- creatives are previewed only in a sandbox ------------------------------------------------

HOSTILE = '<b id="mark">Ad</b><script>fetch("/api/v1/me")</script>'
SANDBOX = 'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox"'


def test_creative_markup_is_shown_only_in_a_sandboxed_frame(server, buyer, world):
    with server.admin() as http:
        creative = http.post(
            "/api/v1/creatives",
            json={"campaign_id": world["campaign"]["id"], "name": "Hostile", "kind": "html",
                  "html": HOSTILE, "landing_url": LANDING, "width": 320, "height": 50},
        ).json()  # fmt: skip
        placement = http.post(
            "/api/v1/placements",
            json={"site_key": world["site"]["site_key"], "name": "Footer", "width": 320,
                  "height": 50, "campaign_ids": [world["campaign"]["id"]]},
        ).json()  # fmt: skip
    preview = f"/admin/catalog/creatives/{creative['id']}/preview"
    frame = f'<iframe src="{preview}" title="Hostile ({creative["id"]})" width="320" height="50"'
    for path in (f"/admin/catalog/creatives/{creative['id']}",
                 f"/admin/catalog/placements/{placement['id']}"):  # fmt: skip
        page = buyer.get(path)
        assert page.status_code == 200
        assert f"{frame} {SANDBOX}" in page.text, path
        assert "<script>" not in page.text and "<b id=" not in page.text  # never inline
        policy = page.headers["content-security-policy"]
        assert "script-src 'none'" in policy and "frame-src 'self'" in policy
    embed = unescape(buyer.get(f"/admin/catalog/placements/{placement['id']}").text)
    assert ' sandbox="allow-scripts allow-popups' in embed  # the tag handed to partners
    assert "allow-same-origin" not in embed

    document = buyer.get(preview)
    assert document.status_code == 200 and HOSTILE in document.text
    policy = [d.split() for d in document.headers["content-security-policy"].split(";")]
    assert policy[0][0] == "sandbox" and "allow-same-origin" not in policy[0]
    assert ["frame-ancestors", "'self'"] in policy
    assert document.headers["x-content-type-options"] == "nosniff"
    with logged_in(server, "fred") as finance:  # finance reads creatives: previews too
        assert finance.get(preview).status_code == 200
        assert frame in finance.get(f"/admin/catalog/creatives/{creative['id']}").text
    with logged_in(server, "pat") as partner:  # partners read placements, not creatives
        assert partner.get(preview).status_code == 403
        assert "<iframe" not in partner.get(f"/admin/catalog/placements/{placement['id']}").text
    with server.client() as anonymous:
        assert anonymous.get(preview).status_code == 303
    assert buyer.get("/admin/catalog/creatives/cr_nosuchone/preview").status_code == 404


# -- the history's diff -----------------------------------------------------------------------


def test_history_lists_changed_fields_only():
    before = {"name": "A", "budget": "10", "updated_at": "t1", "targeting": {}}
    after = {"name": "B", "budget": "10", "updated_at": "t2", "targeting": {"os": ["ios"]}}
    assert changes(before, after) == [("name", "A", "B"), ("targeting", "—", '{"os":["ios"]}')]
    assert changes(None, {"name": "A", "text": "", "weight": 1}) == [
        ("name", "", "A"),
        ("weight", "", "1"),
    ]
