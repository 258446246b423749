"""Funnel and ranking through the real server: hits sent over HTTP, figures read from the
stats API and the CLI, checked against what was sent; roles and bad filters."""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.api.stats import report_filter
from app.attribution import reports as registry
from app.cli import stats as cli_stats
from app.cli.common import BadInput
from app.cli.stats import _FILTER_FLAGS
from tests.auth.helpers import api_key, bearer, make_user
from tests.support.server import ServerProcess

REPO = Path(__file__).resolve().parents[2]
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    proc = ServerProcess(tmp_path_factory.mktemp("stats"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


@pytest.fixture(scope="module")
def traffic(server: ServerProcess) -> dict:
    """Five visitors on the seeded partner site: all see the ad, A-D click, A-C visit the
    advertiser's landing (under its own visitor ids), A and B order there."""
    _today()  # the day the reports will ask for, fixed before anything is sent
    world = server.seed()
    with server.admin() as http:
        shop = http.post("/api/v1/sites", json={
            "name": "Shop", "advertiser_id": world["advertiser"]["id"],
            "domain": "shop.example.com", "channel": "owned",
        }).json()  # fmt: skip
    site, code = world["site"]["site_key"], world["link"]["code"]
    for n, who in enumerate("ABCDE"):
        # A phone's browser, not httpx's agent: reports leave bots out by default.
        with server.client(headers={"User-Agent": PHONE}) as hits:
            hits.cookies.set("adt_vid", f"partner-{who}")
            hits.get("/p.gif", params={"s": site, "e": "impression", "vid": f"partner-{who}"})
            if who == "E":
                continue
            landing = hits.get(f"/c/{code}", follow_redirects=False).headers["location"]
            if who == "D":
                continue
            own = {"s": shop["site_key"], "vid": f"shop-{who}"}
            hits.get("/p.gif", params={**own, "e": "visit", "url": landing})
            if who in "AB":
                hits.get("/p.gif", params={**own, "e": "order", "oid": f"o-{n}", "amt": "10"})
    server.wait_events(5 + 4 + 3 + 2)
    server.wait_drained()
    return world


REPORTS = ["funnel", "traffic", "referral", "silence", "attribution", "ranking", "paths"]


@functools.cache
def _today() -> str:
    """The Shanghai day the module's traffic was sent on, fixed at its first use: a test
    that runs after midnight still asks for that day's events."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_the_funnel_counts_what_was_sent(server, traffic):
    with server.admin() as http:
        response = http.get("/api/v1/stats/funnel", params={"start": _today(), "end": _today()})
    assert response.status_code == 200, response.text
    [row] = response.json()["rows"]
    counts = [(s["step"], s["entries"]) for s in row["steps"]]
    assert counts == [("impression", 5), ("click", 4), ("visit", 3), ("order", 2)]
    assert [s["conversion"] for s in row["steps"]] == [None, 0.8, 0.75, pytest.approx(2 / 3)]


def test_conversion_ranking_by_partner_with_intervals(server, traffic):
    with server.admin() as http:
        answer = http.get("/api/v1/stats/conversion-ranking", params={
            "start": _today(), "end": _today(), "by": "partner_id", "min_trials": 0,
        }).json()  # fmt: skip
    [row] = answer["rows"]
    assert (row["key"], row["successes"], row["trials"], row["rate"]) == ("nmg-portal", 2, 4, 0.5)
    # min_trials=0: 4 trials are enough; the only row holds the pooled rate, so no winner or
    # loser, and not "not enough data" either (issue 14: that verdict contradicted the data).
    assert row["low"] < 0.5 < row["high"] and row["verdict"] == "inconclusive"


def test_the_cli_shows_the_same_figures(server, traffic):
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "stats", "funnel", "--start", _today(), "--end",
         _today(), "--json"],
        cwd=REPO, env=server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with server.admin() as http:
        api = http.get("/api/v1/stats/funnel", params={"start": _today(), "end": _today()}).json()
    assert json.loads(done.stdout) == api


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-11-02", "end": "2026-11-01"}, "end"),
        ({"start": "2026-11-01", "end": "2026-11-02", "tz": "Mars/Base"}, "tz"),
        ({"start": "2026-11-01", "end": "2026-11-02", "by": "ip; DROP TABLE events"}, "by"),
        ({"start": "2026-11-01", "end": "2026-11-02", "steps": "impression,teleport"}, "steps"),
        ({"start": "yesterday", "end": "2026-11-02"}, "start"),
        ({"start": "2026-11-01", "end": "2026-11-02", "visitor": "old"}, "visitor"),
        ({"start": "2026-11-01", "end": "2026-11-02", "returning_days": "0"}, "returning_days"),
        # Zones the engine cannot use, days outside its types, a span beyond ten years.
        ({"start": "2026-11-01", "end": "2026-11-02", "tz": "A" * 300}, "tz"),
        ({"start": "2026-11-01", "end": "2026-11-02", "tz": "right/UTC"}, "tz"),
        ({"start": "2026-11-01", "end": "2026-11-02", "tz": "posix/UTC"}, "tz"),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "start"),
        ({"start": "1000-01-01", "end": "1000-01-02"}, "start"),
        ({"start": "2026-11-01", "end": "9999-12-31"}, "end"),
        ({"start": "2000-01-01", "end": "2026-11-01"}, "end"),
    ],
)
def test_bad_filters_are_422_naming_the_field(server, traffic, params, field):
    # The common filter is refused alike on every report; `by` and `steps` are the funnel's.
    routes = ["funnel"] if field in ("by", "steps") else REPORTS
    with server.admin() as http:
        for route in routes:
            response = http.get(f"/api/v1/stats/{route}", params=params)
            assert response.status_code == 422, (route, response.text)
            assert ["query", field] in [e["loc"][:2] for e in response.json()["detail"]], route
            assert "DB::" not in response.text and "A" * 300 not in response.text


@pytest.mark.parametrize(
    ("route", "params", "field"),
    [
        ("ranking/history", {"start": "0001-01-01", "end": "0001-01-02"}, "start"),
        ("ranking/history", {"start": "2026-11-01", "end": "9999-12-31"}, "end"),
        ("ranking", {"start": "2026-11-01", "end": "2026-11-02", "compare_start": "0001-01-01",
                     "compare_end": "0001-01-02"}, "compare_start"),
        ("ranking", {"start": "2026-11-01", "end": "2026-11-02", "compare_start": "2026-10-01",
                     "compare_end": "9999-12-31"}, "compare_end"),
    ],
)  # fmt: skip
def test_other_report_days_are_422_naming_the_field(server, traffic, route, params, field):
    with server.admin() as http:
        response = http.get(f"/api/v1/stats/{route}", params=params)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["query", field]]


def test_the_cli_refuses_bad_filters_naming_the_flag(server, traffic):
    for args, field in [
        (("--start", "0001-01-01", "--end", "0001-01-02"), "start"),
        (("--start", _today(), "--end", _today(), "--tz", "right/UTC"), "tz"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "stats", "traffic", *args],
            cwd=REPO,
            env=server.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"adtrack: {field}: "), done.stderr
    # Without a server the CLI builds the same filter itself.
    flags = {"start": date(2026, 1, 1), "end": date(2026, 1, 1), "tz": "UTC",
             "last": None, "month": None, "yesterday": False,
             "include_bots": False, "visitor": None, "returning_days": 90,
             **dict.fromkeys(_FILTER_FLAGS)}  # fmt: skip
    for given, field in [({"start": date(1, 1, 1)}, "start"), ({"tz": "A" * 300}, "tz")]:
        with pytest.raises(BadInput) as refused:
            cli_stats._filter(argparse.Namespace(**{**flags, **given}))
        assert refused.value.errors[0][0] == field


def test_the_days_people_use_and_the_ranking_compare_follows(server, traffic):
    month = _today()[:7]
    first = date.fromisoformat(f"{month}-01")
    with server.admin() as http:
        by_month = http.get("/api/v1/stats/ranking", params={
            "month": month, "compare": "previous", "by": "partner_id", "min_trials": 0,
        })  # fmt: skip
        last = http.get("/api/v1/stats/traffic", params={"last": "1d"})
    assert by_month.status_code == 200, by_month.text
    answer = by_month.json()
    assert answer["start"] == first.isoformat() and answer["end"][:7] == month
    days = date.fromisoformat(answer["end"]).day
    earlier = answer["compare"]
    assert earlier["end"] == (first - timedelta(days=1)).isoformat()
    assert earlier["start"] == (first - timedelta(days=days)).isoformat()
    # The events were sent today: the whole day before has none of them.
    assert last.status_code == 200, last.text
    assert [r["visits"] for r in last.json()["rows"]] in ([], [0])


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({}, ["start"]),
        ({"start": "2026-11-01", "end": "2026-11-02", "last": "7d"}, ["last"]),
        ({"month": "2026-11", "yesterday": "true"}, ["yesterday"]),
        ({"last": "7d", "month": "2026-11"}, ["month"]),
        ({"last": "seven"}, ["last"]),
        ({"month": "2026-13"}, ["month"]),
    ],
)
def test_the_days_are_given_exactly_one_way(server, traffic, params, fields):
    with server.admin() as http:
        response = http.get("/api/v1/stats/funnel", params=params)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["query", f] for f in fields]


def test_the_cli_takes_the_days_exactly_one_way(server, traffic):
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "stats", "funnel", "--month", _today()[:7], "--json"],
        cwd=REPO, env=server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with server.admin() as http:
        api = http.get("/api/v1/stats/funnel", params={"month": _today()[:7]}).json()
    assert json.loads(done.stdout) == api and api["rows"][0]["steps"][0]["entries"] == 5
    for args, field in [
        ((), "start"),
        (("--month", "2026-11", "--yesterday"), "yesterday"),
        (("--start", "2026-11-01", "--end", "2026-11-02", "--last", "7d"), "last"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "stats", "traffic", *args],
            cwd=REPO, env=server.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"adtrack: {field}: "), done.stderr


def test_partners_get_no_cross_partner_reports(server, traffic):
    partner = make_user(server, "stats-partner", "partner", partner_id="nmg-portal")
    with bearer(server, api_key(server, partner["id"])) as http:
        response = http.get("/api/v1/stats/funnel", params={"start": _today(), "end": _today()})
    assert response.status_code == 403


def test_attribution_hands_out_both_orders_in_every_model(server, traffic):
    with server.admin() as http:
        response = http.get("/api/v1/stats/attribution", params={
            "start": _today(), "end": _today(), "markov_order": 2, "half_life_days": 3,
        })  # fmt: skip
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["orders"] == 2 and answer["revenue"] == pytest.approx(20)
    assert len(answer["models"]) == 7
    for model in answer["models"]:
        assert answer["totals"]["conversions"][model] == pytest.approx(2), model
        assert answer["totals"]["revenue"][model] == pytest.approx(20), model
        assert sum(r["conversions"][model] for r in answer["rows"]) == pytest.approx(2)
    with server.admin() as http:
        bad = http.get("/api/v1/stats/attribution", params={
            "start": _today(), "end": _today(), "models": "astrology",
        })  # fmt: skip
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["query", "models"]


def test_traffic_counts_what_was_sent(server, traffic):
    with server.admin() as http:
        response = http.get("/api/v1/stats/traffic", params={"start": _today(), "end": _today()})
        hours = http.get("/api/v1/stats/distribution", params={
            "start": _today(), "end": _today(), "unit": "hour",
        })  # fmt: skip
        bad = http.get("/api/v1/stats/traffic", params={
            "start": _today(), "end": _today(), "by": "ip; DROP TABLE events",
        })  # fmt: skip
    assert response.status_code == 200, response.text
    [row] = response.json()["rows"]
    assert (row["impressions"], row["clicks"], row["ctr"]) == (5, 4, 0.8)
    assert (row["visits"], row["visitors"], row["orders"]) == (3, 3, 2)
    assert row["amount"] == pytest.approx(20)
    assert hours.status_code == 200 and sum(r["visits"] for r in hours.json()["rows"]) == 3
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["query", "by"]


def test_new_vs_returning_filters_every_report(server, traffic):
    """Nobody visited before today: everyone is new, nobody returning, in every report; the
    rollups cannot tell new from returning, so such questions read the events."""
    day = {"start": _today(), "end": _today()}
    with server.admin() as http:
        http.post("/api/v1/rollups/refresh")
        for path in ("funnel", "traffic", "ranking"):
            everyone = http.get(f"/api/v1/stats/{path}", params=day).json()
            new = http.get(f"/api/v1/stats/{path}", params={**day, "visitor": "new"}).json()
            back = http.get(f"/api/v1/stats/{path}", params={**day, "visitor": "returning"})
            assert back.status_code == 200, back.text
            assert new["rows"] == everyone["rows"], path
            for row in back.json()["rows"]:
                assert not row.get("clicks") and not row.get("visits")
                assert not any(s["entries"] for s in row.get("steps", ()))
        funnel = http.get("/api/v1/stats/funnel", params={**day, "visitor": "new"}).json()
        assert funnel["source"] == "raw"
        refused = http.get("/api/v1/stats/funnel",
                           params={**day, "visitor": "new", "source": "rollup"})  # fmt: skip
        assert refused.status_code == 422 and "visitor" in refused.text
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "stats", "traffic", "--start", _today(), "--end",
         _today(), "--visitor", "returning", "--json"],
        cwd=REPO, env=server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with server.admin() as http:
        api = http.get("/api/v1/stats/traffic", params={**day, "visitor": "returning"}).json()
    assert json.loads(done.stdout) == api


def test_a_refreshed_rollup_answers_the_funnel_as_the_events_do(server, traffic):
    day = {"start": _today(), "end": _today()}
    with server.admin() as http:
        refreshed = http.post("/api/v1/rollups/refresh")
        assert refreshed.status_code == 200, refreshed.text
        state = http.get("/api/v1/rollups").json()
        assert {f["funnel"] for f in state["funnels"]} == {"default", "click_order"}
        assert state["job"]["running"] and state["job"]["last_error"] is None
        for by in (None, "channel", "partner_id", "day"):
            params = {**day, **({"by": by} if by else {})}
            auto = http.get("/api/v1/stats/funnel", params=params).json()
            raw = http.get("/api/v1/stats/funnel", params={**params, "source": "raw"}).json()
            assert (auto["source"], raw["source"]) == ("rollup", "raw")
            assert auto["rows"] == raw["rows"] and auto["computed_at"]
        assert (
            http.get("/api/v1/stats/funnel", params={**day, "source": "cache"}).status_code == 422
        )
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "rollups", "status", "--json"],
        cwd=REPO, env=server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["funnels"] == state["funnels"]


def test_only_admins_refresh_rollups(server, traffic):
    buyer = make_user(server, "rollup-buyer", "media_buyer")
    with bearer(server, api_key(server, buyer["id"])) as http:
        assert http.post("/api/v1/rollups/refresh").status_code == 403
        assert http.get("/api/v1/rollups").status_code == 403


def test_the_ranking_counts_what_was_sent_and_the_cli_agrees(server, traffic):
    params = {"start": _today(), "end": _today(), "by": "partner_id", "min_trials": 0}
    with server.admin() as http:
        answer = http.get("/api/v1/stats/ranking", params=params).json()
        bad = http.get("/api/v1/stats/ranking", params={**params, "sort": "vibes"})
    [row] = [r for r in answer["rows"] if r["value"] == "nmg-portal"]
    assert (row["impressions"], row["clicks"], row["orders"]) == (5, 4, 0)
    assert row["spend"] is None and answer["attribution"] == "last_click"
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["query", "sort"]
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "stats", "ranking", "--start", _today(), "--end",
         _today(), "--by", "partner_id", "--min-trials", "0", "--json"],
        cwd=REPO, env=server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == answer


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("paths", {"by": "channel"}),
        ("pages", {}),
        ("dropoff", {"by": "partner_id"}),
        ("silence", {}),
        ("touchpoints", {"by": "link_code"}),
        ("referral", {}),
    ],
)
def test_every_engagement_report_answers_through_the_api(server, traffic, path, params):
    day = {"start": _today(), "end": _today()}
    with server.admin() as http:
        response = http.get(f"/api/v1/stats/{path}", params={**day, **params})
        assert response.status_code == 200, response.text
        wrong = {"lookback_days": 0} if path == "silence" else {"top": 0, "by": "ip;--"}
        bad = http.get(f"/api/v1/stats/{path}", params={**day, **wrong})
        assert bad.status_code == 422, bad.text
    answer = response.json()
    if path == "paths":  # A, B and C each landed once on the advertiser's /landing
        [row] = answer["rows"]
        assert (row["value"], row["sessions"]) == ("local_portal", 3)
        assert [(p["pages"], p["sessions"], p["share"]) for p in row["paths"]] == [
            (["/landing"], 3, 1.0)
        ]
    if path == "silence":  # 5 partner-side visitors and 3 landing visitors, all active today
        assert (answer["visitors"], answer["median_silence_days"]) == (8, 0)
        assert answer["buckets"][0]["label"] == "0" and answer["buckets"][0]["visitors"] == 8
        tiers = {t["tier"]: t["visitors"] for t in answer["tiers"]}
        assert tiers == {"silent": 0, "low_active": 8, "high_active": 0}
    if path == "referral":  # nobody was invited: every landing visitor is "other"
        assert (answer["invitees"], answer["sharers"], answer["shares"]) == (0, 0, 0)
        other = answer["non_referred"]
        assert (other["visitors"], other["ordered"]) == (3, 2)
    if path == "pages":
        assert answer["page_views"] == 3 and answer["sessions"] == 3
    if path == "touchpoints":
        [row] = answer["rows"]
        assert (row["clicks"], row["visits"]) == (4, 3)
    if path == "dropoff":
        [row] = answer["rows"]
        assert [s["reached"] for s in row["steps"]] == [5, 4, 3, 2]


# The common filter's query parameters (its dependency's), every query parameter some report
# reads, and `window`, which the traffic, silence and
# ranking routes once ignored.
FILTER_PARAMS = frozenset(inspect.signature(report_filter).parameters)
_EVERY_PARAM = sorted(
    {p.name for r in registry.REPORTS for p in r.params} | set(FILTER_PARAMS) | {"window"}
)


@pytest.mark.parametrize("report", registry.REPORTS, ids=[r.name for r in registry.REPORTS])
def test_a_parameter_the_report_does_not_read_is_422_naming_it(server, report):
    """FastAPI ignores unknown query parameters; a report's route refuses them, each by name,
    for every report in the registry."""
    base = {"start": "2026-11-01", "end": "2026-11-01"}
    base |= {p.name: "v-1" for p in report.params if p.required and p.name not in base}
    own = {p.name for p in report.params}
    unused = [
        n for n in _EVERY_PARAM if n not in own and not (report.filtered and n in FILTER_PARAMS)
    ]
    assert unused, report.name
    with server.admin() as http:
        url = f"/api/v1/stats/{report.path}"
        assert http.get(url, params=base).status_code == 200  # the control: it answers
        for name in unused:
            response = http.get(url, params={**base, name: "1"})
            assert response.status_code == 422, (report.name, name, response.text)
            assert response.json()["detail"] == [
                {"loc": ["query", name], "msg": f"{report.name} takes no parameter {name}",
                 "type": "value_error"}
            ], (report.name, name)  # fmt: skip
        both = http.get(url, params={**base, "window": "60", "zzz": "1"})
    if "window" in own:
        assert [e["loc"] for e in both.json()["detail"]] == [["query", "zzz"]]
    else:
        assert [e["loc"] for e in both.json()["detail"]] == [["query", "window"], ["query", "zzz"]]
