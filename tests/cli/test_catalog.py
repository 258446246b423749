"""`adtrack advertisers|campaigns|sites|links|events|rejects` as a subprocess, with a running
server (through its admin API) and without one (straight into the store).

The servers' tests share one server (started without ADTRACK_ADMIN_TOKEN, so it keeps its
token in the data dir), each test with its own catalog and reading its own rows. Each runs
the commands it is about as processes; set-up and refused input go through `app.cli.main`
in this process (neither opens the store).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import (
    DIRECT,
    adtrack,
    adtrack_here,
    assert_bad_input,
    ok_json,
)
from tests.support.cli import offline_env as offline_env  # a fixture
from tests.support.server import ServerProcess


def build_catalog(
    env: dict[str, str],
    partner: str,
    landing: str = "https://shop.example.com/a?x=1",
    run: Callable[..., Any] = adtrack,
) -> dict:
    def add(*args: str) -> Any:
        return ok_json(env, *args, run=run)

    adv = add("advertisers", "add", "China Mobile 商城")
    cmp_ = add("campaigns", "add", "Data plan Q4", "--advertiser", adv["id"])
    add("partners", "add", "--id", partner, "--name", "Hohhot Portal Co.")
    site = add(
        "sites",
        "add",
        "Hohhot Portal",
        "--partner",
        partner,
        "--domain",
        "portal.example.cn",
        "--channel",
        "local_portal",
    )
    link = add(
        "links",
        "add",
        "--campaign",
        cmp_["id"],
        "--site",
        site["site_key"],
        "--landing",
        landing,
        "--placement",
        "home-banner",
        "--creative",
        "b1",
    )
    return {"advertiser": adv, "campaign": cmp_, "site": site, "link": link}


class TokenFileServer(ServerProcess):
    """A server started without ADTRACK_ADMIN_TOKEN: it makes <data dir>/admin_token, which
    the tests' own admin client reads."""

    def token(self) -> str:
        return (self.data_dir / "admin_token").read_text("utf-8").strip()

    def admin(self) -> Any:
        return self.client(headers={"Authorization": f"Bearer {self.token()}"})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db) -> Iterator[TokenFileServer]:
    data_dir = tmp_path_factory.mktemp("cli-server") / "data"
    env = {"ADTRACK_GEOIP_DB": str(geo_db[0]), "ADTRACK_ADMIN_TOKEN": ""}
    proc = TokenFileServer(data_dir, env).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def env(server: TokenFileServer) -> dict[str, str]:
    """The commands' settings for the server, its admin token in ADTRACK_ADMIN_TOKEN."""
    return {**server.env, "ADTRACK_ADMIN_TOKEN": server.token()}


def keys(server: ServerProcess, plural: str, key: str = "id") -> set[str]:
    """The keys of the server's `plural` now (the rows a test did not make)."""
    with server.admin() as http:
        return {row[key] for row in http.get(f"/api/v1/{plural}").json()}


# -- (a) a server is running: the commands go through its admin API ------------------------


def test_with_a_server_commands_go_through_the_api_and_links_are_live_at_once(server, env):
    before = keys(server, "advertisers")
    world = build_catalog(env, "nmg-portal-live")
    link = world["link"]
    # The server's hit path knows the link the moment the command returns.
    with server.client() as http:
        response = http.get(f"/c/{link['code']}", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith("https://shop.example.com/a?x=1&adt_cid=")
    assert link["url"] == f"{server.base_url}/c/{link['code']}"  # the server's own answer
    assert world["site"]["snippet"].startswith(f'<script async src="{server.base_url}/t.js"')
    # And the server stored what the CLI sent.
    with server.admin() as http:
        assert http.get(f"/api/v1/links/{link['code']}").json()["placement_id"] == "home-banner"
        advertisers = http.get("/api/v1/advertisers").json()
    assert [a["name"] for a in advertisers if a["id"] not in before] == ["China Mobile 商城"]
    # Through the API, never opening the store (which the server holds).
    result = adtrack(env, "links", "list")
    assert result.returncode == 0
    assert DIRECT not in result.stderr


def test_with_a_server_lists_as_table_json_and_csv(server, env):
    sites_before, links_before = keys(server, "sites", "site_key"), keys(server, "links", "code")
    world = build_catalog(env, "nmg-portal-lists", run=adtrack_here)
    table = adtrack(env, "sites", "list")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["site_key", "name", "partner", "domain", "channel", "status"]
    assert sorted(r.split()[0] for r in rows) == sorted({*sites_before, world["site"]["site_key"]})
    [row] = [r for r in rows if r.split()[0] not in sites_before]
    assert "Hohhot Portal" in row

    listed = ok_json(env, "sites", "list")
    assert len(listed) == len(sites_before) + 1
    [site] = [s for s in listed if s["site_key"] not in sites_before]
    timestamps = ("created_at", "updated_at")  # stored to the millisecond, answered to the µs
    assert {k: v for k, v in site.items() if k not in timestamps} == {
        k: v for k, v in world["site"].items() if k not in timestamps
    }

    links_csv = adtrack(env, "links", "list", "--csv")
    assert links_csv.returncode == 0, links_csv.stderr
    csv_rows = list(csv.DictReader(io.StringIO(links_csv.stdout)))
    assert len(csv_rows) == len(links_before) + 1
    [row] = [r for r in csv_rows if r["code"] not in links_before]
    assert row["code"] == world["link"]["code"]
    assert row["landing_url"] == "https://shop.example.com/a?x=1"
    assert row["url"] == world["link"]["url"]


def test_with_a_server_bad_input_exits_2_naming_the_field(server, env):
    links_before, campaigns_before = keys(server, "links", "code"), keys(server, "campaigns")
    world = build_catalog(env, "nmg-portal-refusals", run=adtrack_here)
    # Refused by the API (the reference check needs the store), mapped to exit 2.
    result = adtrack_here(
        env,
        "links",
        "add",
        "--campaign",
        "cmp_nosuchone",
        "--site",
        world["site"]["site_key"],
        "--landing",
        "https://x.cn/",
    )
    assert_bad_input(result, "campaign_id", "--campaign", "no campaign has this id")
    result = adtrack_here(env, "campaigns", "add", "C", "--advertiser", "adv_nosuchone")
    assert_bad_input(result, "advertiser_id", "--advertiser", "no advertiser has this id")
    result = adtrack_here(
        env,
        "links",
        "add",
        "--campaign",
        world["campaign"]["id"],
        "--site",
        world["site"]["site_key"],
        "--landing",
        "javascript:alert(1)",
    )
    assert_bad_input(result, "landing_url", "--landing", "http or https")
    result = adtrack_here(
        env,
        "sites",
        "add",
        "S",
        "--partner",
        "p",
        "--domain",
        "d.cn",
        "--channel",
        "local portal",
    )
    assert_bad_input(result, "channel", "--channel")
    result = adtrack_here(env, "advertisers", "add", "  ")
    assert_bad_input(result, "name")
    result = adtrack_here(env, "events", "tail", "--limit", "0")
    assert_bad_input(result, "--limit")
    # Nothing else was saved.
    assert keys(server, "links", "code") - links_before == {world["link"]["code"]}
    assert keys(server, "campaigns") - campaigns_before == {world["campaign"]["id"]}


def test_with_a_server_the_token_comes_from_the_data_dir(server):
    env = {k: v for k, v in server.env.items() if k != "ADTRACK_ADMIN_TOKEN"}
    assert (server.data_dir / "admin_token").is_file()  # the server wrote it, having none
    with server.admin() as http:
        advertisers = http.get("/api/v1/advertisers").json()
    assert ok_json(env, "advertisers", "list") == advertisers

    wrong = adtrack(env, "advertisers", "list", "--token", "not-the-token")
    assert wrong.returncode == 1
    assert "refused the admin token" in wrong.stderr
    assert DIRECT not in wrong.stderr  # a refusal is not a reason to open the store


def test_with_a_server_events_tail_and_rejects(server, env):
    clicks_before = {e["click_id"] for e in server.events(event_type="click")}
    world = build_catalog(env, "nmg-portal-events", run=adtrack_here)
    code = world["link"]["code"]
    with server.client() as http:
        click = http.get(f"/c/{code}", follow_redirects=False)
        assert http.get("/c/nosuchlink", follow_redirects=False).status_code == 404
    click_id = click.headers["location"].split("adt_cid=")[1]
    server.wait_events(1, event_type="click", link_code=code)
    server.wait_drained()

    clicks = ok_json(env, "events", "tail", "--type", "click")
    assert len(clicks) == len(clicks_before) + 1
    [event] = [e for e in clicks if e["click_id"] not in clicks_before]
    assert (event["click_id"], event["link_code"]) == (click_id, code)
    assert ok_json(env, "events", "tail", "--type", "impression") == []
    table = adtrack(env, "events", "tail")
    assert table.returncode == 0
    assert click_id in table.stdout

    rejects = ok_json(env, "rejects", "--reason", "unknown_link")
    assert [r["raw"] for r in rejects["rejects"]] == ["nosuchlink"]  # no other test's
    assert rejects["by_reason"]["unknown_link"] == 1
    table = adtrack(env, "rejects")
    assert "unknown_link" in table.stdout


ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"


def test_with_a_server_events_tail_filters_by_place_and_device_and_shows_them(server, env):
    world = build_catalog(env, "nmg-portal-geo", run=adtrack_here)
    site = world["site"]["site_key"]
    cmp_id = world["campaign"]["id"]
    with server.client() as http:
        for ip, ua, campaign in (("1.180.10.7", ANDROID, cmp_id), ("113.96.77.1", WINDOWS, ""),
                                 ("1.180.10.200", WINDOWS, "")):  # fmt: skip
            hit = http.get("/p.gif", params={"s": site, "c": campaign},
                           headers={"X-Forwarded-For": ip, "User-Agent": ua})  # fmt: skip
            assert hit.status_code == 200
    server.wait_events(3, site_key=site)

    mobile = ok_json(env, "events", "tail", "--site", site, "--province", "150000",
                     "--device-type", "mobile")  # fmt: skip
    assert [(e["province_code"], e["city_code"], e["os"]) for e in mobile] == [
        ("150000", "150100", "Android")
    ]
    city = mobile[0]["city"]
    assert [e["city_code"] for e in ok_json(env, "events", "tail", "--city", city)] == ["150100"]
    inner = ok_json(env, "events", "tail", "--site", site, "--province", "150000", "--since", "1h")
    assert sorted(e["city_code"] for e in inner) == ["150100", "150200"]
    firefox = ok_json(env, "events", "tail", "--partner", "nmg-portal-geo", "--browser",
                      "Firefox", "--os", "Windows", "--type", "impression")  # fmt: skip
    assert sorted(e["city_code"] for e in firefox) == ["150200", "440100"]
    [chosen] = ok_json(env, "events", "tail", "--campaign", cmp_id)
    assert chosen["city_code"] == "150100"
    assert ok_json(env, "events", "tail", "--link", world["link"]["code"]) == []

    table = adtrack(env, "events", "tail", "--site", site)
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0].split()
    assert {"partner_id", "province", "city", "device_type", "os", "browser"} <= set(header)
    assert city in table.stdout and "Android" in table.stdout


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--device-type", "phone"), ("device_type", "--device-type", "desktop, mobile")),
        (("--since", "yesterday"), ("since", "--since", "duration")),
        (("--type", "clicks"), ("event_type", "--type", "impression")),
        (("--province", "x" * 200), ("province", "at most 128")),
    ],
)
def test_with_a_server_a_bad_events_filter_exits_2_naming_it(server, env, flags, words):
    assert_bad_input(adtrack_here(env, "events", "tail", *flags), *words)


# -- (b) no server: the commands open the store themselves --------------------------------


def test_without_a_server_commands_write_the_store_and_a_server_then_lists_them(
    offline_env, make_server
):
    world = build_catalog(offline_env, "nmg-portal")  # the first command migrates the store
    listed = adtrack(offline_env, "links", "list", "--json")
    assert listed.returncode == 0
    assert DIRECT in listed.stderr
    assert [x["code"] for x in json.loads(listed.stdout)] == [world["link"]["code"]]

    # Same validation as the API, on this path too.
    assert_bad_input(
        adtrack(offline_env, "campaigns", "add", "C", "--advertiser", "adv_nosuchone"),
        "advertiser_id",
        "no advertiser has this id",
    )
    assert_bad_input(
        adtrack(
            offline_env,
            "links",
            "add",
            "--campaign",
            world["campaign"]["id"],
            "--site",
            "nosuchsite",
            "--landing",
            "https://x.cn/",
        ),
        "site_key",
        "--site",
        "no site has this key",
    )
    assert_bad_input(  # refused by the input model, before the store (so in this process)
        adtrack_here(
            offline_env,
            "links",
            "add",
            "--campaign",
            world["campaign"]["id"],
            "--site",
            world["site"]["site_key"],
            "--landing",
            "https://x.cn/?adt_cid=1",
        ),
        "landing_url",
        "adt_cid",
    )

    server = make_server(data_dir=Path(offline_env["ADTRACK_DATA_DIR"]))
    with server.admin() as http:
        for plural, key in [
            ("advertisers", "id"),
            ("campaigns", "id"),
            ("sites", "site_key"),
            ("links", "code"),
        ]:
            rows = http.get(f"/api/v1/{plural}").json()
            assert [r[key] for r in rows] == [world[plural[:-1]][key]]
        response = http.get(f"/c/{world['link']['code']}", follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"].startswith("https://shop.example.com/a?x=1&adt_cid=")
        assert http.get("/c/nosuchlink").status_code == 404
    server.wait_events(1, event_type="click")
    server.wait_drained()
    server.stop()

    # With the server gone, events and rejects are read from the store directly.
    [event] = ok_json(offline_env, "events", "tail", "--type", "click")
    assert event["link_code"] == world["link"]["code"]
    # The same filters and columns on this path (the click came from 127.0.0.1: no place).
    flags = ("--partner", "nmg-portal", "--since", "1h", "--device-type", event["device_type"])
    [same] = ok_json(offline_env, "events", "tail", "--link", world["link"]["code"], *flags)
    assert same["event_id"] == event["event_id"]
    assert (same["province"], same["city"], same["os"]) == ("", "", event["os"])
    assert ok_json(offline_env, "events", "tail", "--city", "150100") == []
    assert_bad_input(
        adtrack(offline_env, "events", "tail", "--device-type", "phone"),
        "device_type", "--device-type", "desktop, mobile",
    )  # fmt: skip
    rejects = ok_json(offline_env, "rejects", "--reason", "unknown_link")
    assert rejects["by_reason"] == {"unknown_link": 1}


def test_without_a_server_an_explicit_url_is_not_silently_bypassed(offline_env):
    url = f"http://127.0.0.1:{offline_env['ADTRACK_PORT']}"
    result = adtrack_here(offline_env, "advertisers", "list", "--url", url)
    assert result.returncode == 1
    assert "no server answers" in result.stderr
    assert not Path(offline_env["ADTRACK_DATA_DIR"]).exists()  # the store was not opened


def test_the_store_held_by_a_server_elsewhere_is_a_clear_failure(server, offline_env):
    env = {**offline_env, "ADTRACK_DATA_DIR": str(server.data_dir)}  # wrong port, same dir
    result = adtrack(env, "advertisers", "list")
    assert result.returncode == 1
    assert "pass --url" in result.stderr
