"""Reports people and machines can read: names beside codes and ids (app/attribution/labels.py),
CSV with plain numbers and tables aligned by display width (app/attribution/report.py). Hits go
through the real loader into the embedded engine; every report split by a region, a campaign,
a placement or a channel type shows one name form per value while `value` keeps the code."""

from __future__ import annotations

import argparse
import csv
import io
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.attribution.filters import Filter
from app.attribution.reports import REPORTS
from app.catalog import entities as catalog
from app.catalog import rows as catalog_rows
from app.cli.common import emit
from app.ingest.record import EventIds
from tests.support.loading import world

DAY = date(2024, 3, 1)
BASE_MS = int(datetime(2024, 3, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
# Test GeoIP addresses (tests/support/mmdb.py) -> the province and city codes the loader finds.
IPS = {"202.106.0.20": ("110000", "110000"), "113.96.77.1": ("440000", "440100"),
       "101.80.200.9": ("310000", "310000")}  # fmt: skip
PROVINCE_NAMES = {"110000": "北京市", "440000": "广东省", "310000": "上海市"}
CITY_NAMES = {"110000": "北京市", "440100": "广州市", "310000": "上海市"}
REPORT = {r.name: r for r in REPORTS}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, geo_db):
    w = world(tmp_path_factory.mktemp("labels"), geo_db[0])
    store = w.store
    catalog_rows.save(
        store, catalog.Channel(id="national_portal", name="门户", type="national_portal")
    )
    catalog_rows.save(store, catalog.Channel(id="forum", name="论坛", type="forum"))
    adv = catalog_rows.save(store, catalog.new_advertiser("Shop"))
    campaign = catalog_rows.save(store, catalog.new_campaign("双十一大促", adv.id))
    placement = catalog_rows.save(
        store, catalog.new_placement(w.sites["national_portal"], "首页横幅")
    )
    ids = EventIds()
    records = []
    for n, ip in enumerate(sorted(IPS) * 4):
        channel = ("national_portal", "forum")[n % 2]
        for kind in ("impression", "click"):
            records.append({
                "event_id": ids.next(), "event_type": kind, "ts": BASE_MS + n * 60_000,
                "site_key": w.sites[channel], "visitor_id": f"v{n}", "ip": ip,
                "user_agent": CHROME, "campaign_id": campaign.id,
                "placement_id": placement.id if n % 2 == 0 else "pl_unknown",
            })  # fmt: skip
    w.load(records)
    # A second geo database spells the same provinces its own way (北京 beside 北京市, 广东
    # beside 广东省): the codes agree, the text does not.
    store.command(
        "ALTER TABLE events UPDATE province = replaceRegexpOne(province, '[市省]$', '') "
        "WHERE cityHash64(event_id) % 2 = 0 SETTINGS mutations_sync = 2"
    )
    spelt = {r[0] for r in store.query("SELECT DISTINCT province FROM events")}
    assert {"北京", "北京市", "广东", "广东省"} <= spelt
    yield store, campaign, placement
    store.close()


def _answer(store, report: str, by: str) -> dict:
    return REPORT[report].answer(store, Filter(DAY, DAY), {"by": by})


@pytest.mark.parametrize("report", ["traffic", "ranking", "funnel"])
@pytest.mark.parametrize("by", ["province", "province_code"])
def test_a_province_has_one_row_and_one_name_form_and_keeps_its_code(loaded, report, by):
    store, _, _ = loaded
    rows = _answer(store, report, by)["rows"]
    assert sorted(r["value"] for r in rows) == sorted(PROVINCE_NAMES)
    assert {r["value"]: r["name"] for r in rows} == PROVINCE_NAMES


@pytest.mark.parametrize("by", ["city", "city_code"])
def test_a_city_is_named_by_its_code(loaded, by):
    store, _, _ = loaded
    rows = _answer(store, "traffic", by)["rows"]
    assert {r["value"]: r["name"] for r in rows} == CITY_NAMES


def test_campaigns_and_placements_by_name_beside_their_id(loaded):
    store, campaign, placement = loaded
    rows = _answer(store, "ranking", "campaign_id")["rows"]
    assert {r["value"]: r["name"] for r in rows} == {campaign.id: "双十一大促"}
    rows = _answer(store, "touchpoints", "placement_id")["rows"]
    # An id the catalog does not know keeps its id and an empty name.
    assert {r["value"]: r["name"] for r in rows} == {placement.id: "首页横幅", "pl_unknown": ""}


def test_channel_types_by_label(loaded):
    store, _, _ = loaded
    rows = _answer(store, "ranking", "channel_type")["rows"]
    assert {r["value"]: r["name"] for r in rows} == {"national_portal": "门户网站", "forum": "论坛"}


def test_the_table_shows_the_name_after_the_value(loaded):
    store, campaign, _ = loaded
    report = REPORT["ranking"]
    rows, columns = report.table(_answer(store, "ranking", "campaign_id"))
    headers = [c.header for c in columns]
    assert headers[headers.index("value") + 1] == "name"
    assert [(r["value"], r["name"]) for r in rows] == [(campaign.id, "双十一大促")]
    # No split, no names.
    answer = REPORT["traffic"].answer(store, Filter(DAY, DAY), {})
    assert all("name" not in r for r in answer["rows"])
    assert "name" not in [c.header for c in REPORT["traffic"].table(answer)[1]]


def _csv(capsys, report: str, answer: dict) -> list[dict[str, str]]:
    """The CSV `adtrack stats <report> --csv` prints for the answer, parsed."""
    capsys.readouterr()
    emit(argparse.Namespace(format="csv"), REPORT[report].machine_rows(answer), [], "rows")
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_ranking_csv_is_numbers_with_the_interval_in_two_columns_and_a_currency(loaded, capsys):
    store, campaign, _ = loaded
    answer = _answer(store, "ranking", "campaign_id")
    [row] = _csv(capsys, "ranking", answer)
    [ranked] = answer["rows"]
    assert (row["value"], row["name"], row["currency"]) == (campaign.id, "双十一大促", "CNY")
    assert float(row["ctr"]) == pytest.approx(ranked["ctr"]["rate"])
    assert float(row["conv"]) == ranked["conversion_rate"]["rate"] == 0
    assert float(row["interval_low"]) == ranked["conversion_rate"]["low"]
    assert float(row["interval_high"]) == pytest.approx(ranked["conversion_rate"]["high"])
    assert float(row["revenue"]) == 0 and "interval" not in row
    assert all("%" not in cell and "–" not in cell for cell in row.values())


def test_traffic_csv_is_numbers(loaded, capsys):
    store, _, _ = loaded
    answer = _answer(store, "traffic", "province_code")
    rows = _csv(capsys, "traffic", answer)
    assert {r["value"]: r["name"] for r in rows} == PROVINCE_NAMES
    for row, raw in zip(rows, answer["rows"], strict=True):
        assert float(row["ctr"]) == pytest.approx(raw["ctr"]) and row["currency"] == "CNY"
        assert float(row["amount"]) == raw["amount"] and int(row["clicks"]) == raw["clicks"]


def _slots(line: str) -> list[str]:
    """A printed line as terminal cells: a wide (CJK) character takes two."""
    out: list[str] = []
    for ch in line:
        out += [ch, ""] if unicodedata.east_asian_width(ch) in "WF" else [ch]
    return out


def test_a_table_with_cjk_names_is_aligned_by_display_width(loaded, capsys):
    store, _, _ = loaded
    report = REPORT["ranking"]
    rows, columns = report.table(_answer(store, "ranking", "province"))
    headers = [c.header for c in columns]
    assert "revenue (CNY)" in headers  # money says its currency
    capsys.readouterr()
    emit(argparse.Namespace(format="table"), rows, headers, "rows")
    lines = [_slots(line) for line in capsys.readouterr().out.splitlines()]
    starts = []
    at = 0
    for header in headers:  # where each column starts on the header line
        at = "".join(lines[0]).index(header, at)
        starts.append(len(_slots("".join(lines[0])[:at])))
        at += len(header)
    for line, row in zip(lines[1:], rows, strict=True):
        for i, header in enumerate(headers):
            end = starts[i + 1] if i + 1 < len(headers) else len(line)
            assert "".join(line[starts[i] : end]).strip() == str(row.get(header, "")), header
    assert {"北京市", "广东省", "上海市"} <= {r["name"] for r in rows}
