"""Cost import: CSV rules (all rows or none, each error with its line and column), dry runs,
re-imports that replace, catalog references, and the API through a real server per role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.catalog import entities as cat
from app.catalog import rows as catalog_rows
from app.costs import service
from app.store import audit
from app.store.client import open_store
from app.store.migrate import migrate
from tests.auth.helpers import api_key, bearer, make_user
from tests.support.server import ServerProcess

ACTOR = service.Actor("buyer", "media_buyer")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    store = open_store(f"chdb://{tmp_path_factory.mktemp('costs') / 'ch'}")
    migrate(store)
    adv = catalog_rows.save(store, cat.new_advertiser("Shop"))
    campaign = catalog_rows.save(store, cat.new_campaign("Q1", adv.id))
    catalog_rows.save(store, cat.Partner(id="p1", name="P1"))
    site = catalog_rows.save(store, cat.new_site("Portal", "p1", "portal.cn", "national_portal"))
    other = catalog_rows.save(store, cat.new_site("Forum", "", "forum.cn", "forum"))
    placement = catalog_rows.save(store, cat.new_placement(site.site_key, "top"))
    yield store, {"campaign": campaign.id, "site": site.site_key, "other": other.site_key,
                  "placement": placement.id}  # fmt: skip
    store.close()


def _csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_a_good_file_is_saved_and_listed(world):
    store, ids = world
    text = _csv(
        "\ufeffday,campaign_id,channel,partner_id,site_key,placement_id,spend,currency",
        f"2024-01-02,{ids['campaign']},national_portal,p1,{ids['site']},{ids['placement']},"
        "120.50,cny",
        f"2024-01-02,{ids['campaign']},,,,,30,",
        ",,,,,,,",  # blank lines are skipped
        "2024-01-03,,forum,,,home-banner,0.10,USD",  # a free placement label is fine
    )
    dry = service.import_csv(store, text, ACTOR, dry_run=True)
    assert not dry.errors and dry.dry_run and len(dry.rows) == 3
    assert service.list_rows(store, date(2024, 1, 1), date(2024, 1, 31)) == []
    done = service.import_csv(store, text, ACTOR)
    assert not done.errors and done.as_json()["spend"] == "150.60"
    rows = service.list_rows(store, date(2024, 1, 1), date(2024, 1, 31))
    assert [(r.day, r.spend, r.currency, r.source, r.imported_by) for r in rows] == [
        (date(2024, 1, 2), Decimal("30.00"), "CNY", "csv", "buyer"),
        (date(2024, 1, 2), Decimal("120.50"), "CNY", "csv", "buyer"),
        (date(2024, 1, 3), Decimal("0.10"), "USD", "csv", "buyer"),
    ]
    assert len(service.list_rows(store, date(2024, 1, 2), date(2024, 1, 2), ids["campaign"])) == 2
    [entry] = audit.history(store, entity="costs")
    assert entry.action == "import" and entry.entity_key == "2024-01-02..2024-01-03"
    assert entry.after == {"source": "csv", "rows": 3, "spend": {"CNY": "150.50", "USD": "0.10"}}


def test_a_reimport_replaces_the_same_day_and_breakdown(world):
    store, ids = world
    first = [{"day": "2024-02-01", "channel": "forum", "spend": "10"},
             {"day": "2024-02-01", "channel": "campus", "spend": "5"}]  # fmt: skip
    assert not service.import_items(store, first, ACTOR).errors
    again = [{"day": "2024-02-01", "channel": "forum", "spend": "12.34", "currency": "CNY"}]
    assert not service.import_items(store, again, ACTOR).errors
    rows = service.list_rows(store, date(2024, 2, 1), date(2024, 2, 1))
    assert {r.channel: (r.spend, r.source) for r in rows} == {
        "forum": (Decimal("12.34"), "api"),
        "campus": (Decimal("5.00"), "api"),
    }
    total = store.query("SELECT sum(spend) FROM costs FINAL WHERE day = '2024-02-01'")[0][0]
    assert Decimal(str(total)) == Decimal("17.34")


@pytest.mark.parametrize(
    ("lines", "errors"),
    [
        ([], [(1, "header", "empty")]),
        (["day,spend,cost_center", "2024-01-01,1,x"], [(1, "cost_center", "unknown column")]),
        (["day,channel", "2024-01-01,forum"], [(1, "spend", "missing")]),
        (["day,spend,spend", "2024-01-01,1,2"], [(1, "header", "twice")]),
        (["day,spend", "2024-01-01,1,9"], [(2, "row", "more values")]),
        (
            [
                "day,spend,channel",
                "2024-13-01,1,forum",
                "2024-01-01,-1,forum",
                "2024-01-01,1.234,forum",
                "2024-01-01,abc,forum",
                "2024-01-01,1,nope",
                "2024-01-01,1,forum",
                "2024-01-01,2,forum",
                "2999-01-01,1,forum",
                "1999-12-31,1,forum",
            ],
            [
                (2, "day", ""),
                (3, "spend", "greater than or equal"),
                (4, "spend", "decimal"),
                (5, "spend", "decimal"),
                (6, "channel", "no channel"),
                (8, "day", "line 7"),
                (9, "day", "future"),
                (10, "day", "before"),
            ],
        ),  # fmt: skip
        (["day,spend,currency", "2024-01-01,1,RMBX"], [(2, "currency", "pattern")]),
        (
            ["day,spend,site_key,partner_id", "2024-01-01,1,SITE,p9"],
            [(2, "partner_id", "no partner"), (2, "site_key", "belongs to partner")],
        ),  # fmt: skip
        (
            ["day,spend,site_key,channel", "2024-01-01,1,SITE,forum"],
            [(2, "site_key", "in channel 'national_portal'")],
        ),  # fmt: skip
        (
            [
                "day,spend,site_key,placement_id",
                "2024-01-01,1,OTHER,PLACEMENT",
                "2024-01-01,1,SITE,pl_missing",
                "2024-01-01,1,,PLACEMENT",
                "2024-01-01,1,nosuchsite,",
                "2024-01-01,1,,",
            ],
            [
                (2, "placement_id", "another site"),
                (3, "placement_id", "no placement"),
                (5, "site_key", "no site"),
            ],
        ),  # fmt: skip
        (["day,spend,campaign_id", "2024-01-01,1,cmp_nope"], [(2, "campaign_id", "no campaign")]),
    ],
)
def test_refused_files_save_nothing_and_say_where(world, lines, errors):
    store, ids = world
    swap = {"SITE": ids["site"], "OTHER": ids["other"], "PLACEMENT": ids["placement"]}
    text = _csv(*lines)
    for word, value in swap.items():
        text = text.replace(word, value)
    before = store.query("SELECT count() FROM costs")[0][0]
    result = service.import_csv(store, text, ACTOR)
    assert result.rows == []
    got = [(line, field) for line, field, _ in result.errors]
    assert got == [(line, field) for line, field, _ in errors], result.errors
    for (_, _, reason), (_, _, word) in zip(result.errors, errors, strict=True):
        assert word.lower() in reason.lower(), reason
    assert store.query("SELECT count() FROM costs")[0][0] == before


def test_json_items_are_refused_by_index(world):
    store, _ = world
    result = service.import_items(
        store, [{"day": "2024-01-01", "spend": "1"}, {"day": "2024-01-01", "cost": 1}], ACTOR
    )
    assert [(n, f) for n, f, _ in result.errors] == [(1, "spend"), (1, "cost")]


# -- the API on a real server ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]) -> Iterator:
    proc = ServerProcess(tmp_path_factory.mktemp("costs-api"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    yield proc.start()
    proc.stop()


@pytest.fixture(scope="module")
def keys(server: ServerProcess) -> dict[str, str]:
    out = {}
    for role in ("media_buyer", "finance", "partner"):
        user = make_user(server, f"cost-{role}", role,
                         partner_id="p-cost" if role == "partner" else None)  # fmt: skip
        out[role] = api_key(server, user["id"])
    return out


def test_the_api_imports_lists_and_checks_roles(server, keys):
    seeded = server.seed()
    site = seeded["site"]["site_key"]
    text = _csv("day,campaign_id,site_key,spend",
                f"2024-04-01,{seeded['campaign']['id']},{site},88.80")  # fmt: skip
    csv_headers = {"Content-Type": "text/csv"}
    with bearer(server, keys["media_buyer"]) as http:
        dry = http.post("/api/v1/import/costs?dry_run=true", content=text, headers=csv_headers)
        assert dry.status_code == 200, dry.text
        assert dry.json()["dry_run"] and dry.json()["count"] == 1
        listed = http.get("/api/v1/costs", params={"start": "2024-04-01", "end": "2024-04-30"})
        assert listed.json()["rows"] == []
        done = http.post("/api/v1/import/costs", content=text.encode(), headers=csv_headers)
        assert done.status_code == 200 and done.json()["spend"] == "88.80"
        upload = http.post("/api/v1/import/costs", files={"file": ("c.csv", text.replace(
            "88.80", "90.00").encode("utf-8-sig"), "text/csv")})  # fmt: skip
        assert upload.status_code == 200, upload.text
        bad = http.post("/api/v1/import/costs", content="day,spend\n2024-04-02,-5\n",
                        headers=csv_headers)  # fmt: skip
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", 2, "spend"]
        pushed = http.post("/api/v1/costs", json=[{"day": "2024-04-02", "channel": "forum",
                                                   "spend": 3.5}])  # fmt: skip
        assert pushed.status_code == 200, pushed.text
        refused = http.post("/api/v1/costs", json=[{"day": "2024-04-02", "channel": "nope",
                                                    "spend": 1}])  # fmt: skip
        assert refused.json()["detail"][0]["loc"] == ["body", 0, "channel"]
    with bearer(server, keys["finance"]) as http:
        listed = http.get("/api/v1/costs", params={"start": "2024-04-01", "end": "2024-04-30"})
        assert listed.status_code == 200
        assert [(r["day"], r["spend"], r["source"]) for r in listed.json()["rows"]] == [
            ("2024-04-01", "90.00", "csv"), ("2024-04-02", "3.50", "api")]  # fmt: skip
        assert http.post("/api/v1/costs", json=[]).status_code == 403
        assert http.post("/api/v1/import/costs", content=text).status_code == 403
        bad = http.get("/api/v1/costs", params={"start": "2024-04-02", "end": "2024-04-01"})
        assert bad.status_code == 422
    with bearer(server, keys["partner"]) as http:
        month = {"start": "2024-04-01", "end": "2024-04-30"}
        assert http.get("/api/v1/costs", params=month).status_code == 403
        assert http.post("/api/v1/costs", json=[]).status_code == 403
    with server.client() as anonymous:
        assert anonymous.get("/api/v1/costs?start=2024-04-01&end=2024-04-02").status_code == 401
    with server.admin() as http:  # the catalog's own imports still answer beside this one
        assert http.post("/api/v1/import/partners", content="id,name\npc,PC\n").status_code == 200


def test_a_cell_over_the_csv_readers_limit_is_a_422_naming_line_and_column(server, keys):
    text = "day,spend,campaign_id\n2024-04-03,1.00,\n2024-04-04,2.00," + "x" * 131_073 + "\n"
    with bearer(server, keys["media_buyer"]) as http:
        response = http.post(
            "/api/v1/import/costs", content=text.encode(), headers={"Content-Type": "text/csv"}
        )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", 3, "campaign_id"]
    assert "longer than 131,072 characters" in error["msg"]
