"""`adtrack advertisers|campaigns|sites|links|events|rejects` as a subprocess, with a running
server (through its admin API) and without one (straight into the store)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import REPO, free_port

DIRECT = "using the store directly"


def adtrack(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok_json(env: dict[str, str], *args: str) -> dict | list:
    result = adtrack(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def build_catalog(env: dict[str, str], landing: str = "https://shop.example.com/a?x=1") -> dict:
    adv = ok_json(env, "advertisers", "add", "China Mobile 商城")
    cmp_ = ok_json(env, "campaigns", "add", "Data plan Q4", "--advertiser", adv["id"])
    ok_json(env, "partners", "add", "--id", "nmg-portal", "--name", "Hohhot Portal Co.")
    site = ok_json(
        env,
        "sites",
        "add",
        "Hohhot Portal",
        "--partner",
        "nmg-portal",
        "--domain",
        "portal.example.cn",
        "--channel",
        "local_portal",
    )
    link = ok_json(
        env,
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


def assert_bad_input(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """Settings for a data dir no server runs on (nothing listens on the port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADTRACK_")}
    env.update(ADTRACK_DATA_DIR=str(tmp_path / "offline"), ADTRACK_PORT=str(free_port()))
    return env


# -- (a) a server is running: the commands go through its admin API ------------------------


def test_with_a_server_commands_go_through_the_api_and_links_are_live_at_once(server):
    world = build_catalog(server.env)
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
    assert [a["name"] for a in advertisers] == ["China Mobile 商城"]
    # Through the API, never opening the store (which the server holds).
    result = adtrack(server.env, "links", "list")
    assert result.returncode == 0
    assert DIRECT not in result.stderr


def test_with_a_server_lists_as_table_json_and_csv(server):
    world = build_catalog(server.env)
    table = adtrack(server.env, "sites", "list")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["site_key", "name", "partner", "domain", "channel", "status"]
    assert row.split()[0] == world["site"]["site_key"]
    assert "Hohhot Portal" in row

    [site] = ok_json(server.env, "sites", "list")
    timestamps = ("created_at", "updated_at")  # stored to the millisecond, answered to the µs
    assert {k: v for k, v in site.items() if k not in timestamps} == {
        k: v for k, v in world["site"].items() if k not in timestamps
    }

    links_csv = adtrack(server.env, "links", "list", "--csv")
    assert links_csv.returncode == 0, links_csv.stderr
    [row] = list(csv.DictReader(io.StringIO(links_csv.stdout)))
    assert row["code"] == world["link"]["code"]
    assert row["landing_url"] == "https://shop.example.com/a?x=1"
    assert row["url"] == world["link"]["url"]


def test_with_a_server_bad_input_exits_2_naming_the_field(server):
    world = build_catalog(server.env)
    # Refused by the API (the reference check needs the store), mapped to exit 2.
    result = adtrack(
        server.env,
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
    result = adtrack(server.env, "campaigns", "add", "C", "--advertiser", "adv_nosuchone")
    assert_bad_input(result, "advertiser_id", "--advertiser", "no advertiser has this id")
    result = adtrack(
        server.env,
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
    result = adtrack(
        server.env,
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
    result = adtrack(server.env, "advertisers", "add", "  ")
    assert_bad_input(result, "name")
    result = adtrack(server.env, "events", "tail", "--limit", "0")
    assert_bad_input(result, "--limit")
    with server.admin() as http:
        links = http.get("/api/v1/links").json()
        campaigns = http.get("/api/v1/campaigns").json()
    assert [x["code"] for x in links] == [world["link"]["code"]]  # nothing else was saved
    assert [c["id"] for c in campaigns] == [world["campaign"]["id"]]


def test_with_a_server_the_token_comes_from_the_data_dir(make_server):
    server = make_server(ADTRACK_ADMIN_TOKEN="")  # the server writes <data dir>/admin_token
    env = {k: v for k, v in server.env.items() if k != "ADTRACK_ADMIN_TOKEN"}
    assert (server.data_dir / "admin_token").is_file()
    assert ok_json(env, "advertisers", "list") == []

    wrong = adtrack(env, "advertisers", "list", "--token", "not-the-token")
    assert wrong.returncode == 1
    assert "refused the admin token" in wrong.stderr
    assert DIRECT not in wrong.stderr  # a refusal is not a reason to open the store


def test_with_a_server_events_tail_and_rejects(server):
    world = build_catalog(server.env)
    with server.client() as http:
        click = http.get(f"/c/{world['link']['code']}", follow_redirects=False)
        assert http.get("/c/nosuchlink", follow_redirects=False).status_code == 404
    click_id = click.headers["location"].split("adt_cid=")[1]
    server.wait_events(1, event_type="click")
    server.wait_drained()

    [event] = ok_json(server.env, "events", "tail", "--type", "click")
    assert (event["click_id"], event["link_code"]) == (click_id, world["link"]["code"])
    assert ok_json(server.env, "events", "tail", "--type", "impression") == []
    table = adtrack(server.env, "events", "tail")
    assert table.returncode == 0
    assert click_id in table.stdout

    rejects = ok_json(server.env, "rejects", "--reason", "unknown_link")
    assert [r["raw"] for r in rejects["rejects"]] == ["nosuchlink"]
    assert rejects["by_reason"]["unknown_link"] == 1
    table = adtrack(server.env, "rejects")
    assert "unknown_link" in table.stdout


# -- (b) no server: the commands open the store themselves --------------------------------


def test_without_a_server_commands_write_the_store_and_a_server_then_lists_them(
    offline_env, make_server
):
    world = build_catalog(offline_env)
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
    assert_bad_input(
        adtrack(
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
    rejects = ok_json(offline_env, "rejects", "--reason", "unknown_link")
    assert rejects["by_reason"] == {"unknown_link": 1}


def test_without_a_server_an_explicit_url_is_not_silently_bypassed(offline_env):
    url = f"http://127.0.0.1:{offline_env['ADTRACK_PORT']}"
    result = adtrack(offline_env, "advertisers", "list", "--url", url)
    assert result.returncode == 1
    assert "no server answers" in result.stderr
    assert not Path(offline_env["ADTRACK_DATA_DIR"]).exists()  # the store was not opened


def test_the_store_held_by_a_server_elsewhere_is_a_clear_failure(make_server, offline_env):
    server = make_server()
    env = {**offline_env, "ADTRACK_DATA_DIR": str(server.data_dir)}  # wrong port, same dir
    result = adtrack(env, "advertisers", "list")
    assert result.returncode == 1
    assert "pass --url" in result.stderr
