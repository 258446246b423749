"""Touch-point figures against the embedded engine: generated hits go through the real loader
(which copies a click's placement, creative and link code onto the visits and orders that
carry its id), and every figure is checked against a brute-force recomputation."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.attribution import touchpoints
from app.attribution.filters import Filter, FilterError
from app.ingest.record import EventIds
from tests.support.loading import world

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = date(2024, 3, 1)
BASE = datetime.combine(DAY1, datetime.min.time(), SHANGHAI)
RANGE = Filter(DAY1, DAY1 + timedelta(days=1))
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
PLACEMENTS = {"national_portal": ("pl-top", "pl-side"), "forum": ("pl-post", "pl-foot")}
CREATIVES = ("cr-a", "cr-b", "cr-c")
LINKS = ("lk-1", "lk-2", "")


@dataclass
class Hit:
    ms: int
    event_type: str
    visitor: str
    channel: str
    is_bot: int
    click: str
    placement_id: str
    creative_id: str
    link_code: str
    status: str = ""
    amount: Decimal = Decimal(0)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _generate(rng: random.Random, sites: dict[str, str], landing: str, n: int):
    """Impressions and clicks on placements (with creatives, some with a link code), visits
    and orders after a click (carrying its id) or direct, orders of every status, bots."""
    ids = EventIds()
    records: list[dict] = []
    truth: list[Hit] = []
    start = _ms(BASE)
    for i in range(n):
        channel = rng.choice(sorted(sites))
        bot = int(rng.random() < 0.08)
        base = {"ip": "202.106.0.20", "user_agent": BOT if bot else CHROME}
        t = start - 3_600_000 + rng.randint(0, 2 * 86_400_000 + 7_200_000)
        person = f"pv{i % (n // 2)}"  # some people come back: unique < total
        touch = {
            "placement_id": rng.choice(PLACEMENTS[channel]),
            "creative_id": rng.choice(CREATIVES),
            "link_code": rng.choice(LINKS),
        }
        click = ""
        if rng.random() < 0.85:
            for _ in range(rng.randint(1, 3)):
                records.append({**base, **touch, "event_id": ids.next(),
                                "event_type": "impression", "ts": t,
                                "site_key": sites[channel], "visitor_id": person})  # fmt: skip
                truth.append(Hit(t, "impression", person, channel, bot, "", **touch))
                t += rng.randint(1000, 60_000)
            if rng.random() < 0.5:
                continue
            click = f"c{i}"
            records.append({**base, **touch, "event_id": ids.next(), "event_type": "click",
                            "ts": t, "site_key": sites[channel], "visitor_id": person,
                            "click_id": click})  # fmt: skip
            truth.append(Hit(t, "click", person, channel, bot, click, **touch))
        carried = touch if click else {"placement_id": "", "creative_id": "", "link_code": ""}
        stored = channel if click else "owned"
        for k in range(rng.choice((0, 1, 1, 2))):
            t += rng.randint(1000, 600_000)
            records.append({**base, "event_id": ids.next(), "event_type": "visit", "ts": t,
                            "site_key": landing, "visitor_id": f"lv{i}", "click_id": click,
                            "pageview_id": f"p{i}-{k}"})  # fmt: skip
            truth.append(Hit(t, "visit", f"lv{i}", stored, bot, click, **carried))
        if rng.random() < 0.4:
            t += 60_000
            status = rng.choice(("approved", "approved", "cancelled", ""))
            amount = f"{rng.randint(100, 9999) / 100:.2f}"
            order = {"order_id": f"o{i}", "amount": amount}
            if status:
                order["order_status"] = status
            records.append({**base, **order, "event_id": ids.next(), "event_type": "order",
                            "ts": t, "site_key": landing, "visitor_id": f"lv{i}",
                            "click_id": click})  # fmt: skip
            truth.append(Hit(t, "order", f"lv{i}", stored, bot, click, **carried,
                             status=status, amount=Decimal(amount)))  # fmt: skip
    return records, truth


def _in(flt: Filter, h: Hit) -> bool:
    start, end = (_ms(x) for x in flt.utc_range())
    return (
        start <= h.ms < end
        and (flt.include_bots or not h.is_bot)
        and (not flt.channel or h.channel in flt.channel)
    )


def _brute(truth: list[Hit], flt: Filter, by: str, top: int) -> list[dict]:
    groups: dict = defaultdict(list)
    for h in truth:
        if _in(flt, h) and getattr(h, by):
            groups[getattr(h, by)].append(h)
    rows = []
    for value, hits in groups.items():
        imp = [h for h in hits if h.event_type == "impression"]
        clk = [h for h in hits if h.event_type == "click"]
        paid = [
            h for h in hits if h.event_type == "order" and h.click and h.status in ("approved", "")
        ]
        refunded = [  # each order id once: its status is its latest
            h for h in hits
            if h.event_type == "order" and h.click and h.status in ("refunded", "cancelled")
        ]  # fmt: skip
        rows.append({
            "value": value, "impressions": len(imp),
            "unique_viewers": len({h.visitor for h in imp}), "clicks": len(clk),
            "unique_clickers": len({h.visitor for h in clk}),
            "ctr": pytest.approx(len(clk) / len(imp)) if imp else None,
            "visits": sum(h.event_type == "visit" and bool(h.click) for h in hits),
            "orders": len(paid), "amount": float(sum((h.amount for h in paid), Decimal(0))),
            "click_to_order": pytest.approx(len(paid) / len(clk)) if clk else None,
            "refunds": len(refunded),
            "refund_amount": float(sum((h.amount for h in refunded), Decimal(0))),
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["clicks"], -r["impressions"], r["value"]))
    return rows[:top]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, geo_db, migrated_template):
    w = world(tmp_path_factory.mktemp("touchpoints"), geo_db[0], template=migrated_template)
    records, truth = _generate(random.Random(20240304), w.sites, w.landing, 900)
    assert w.load(records) == len(records)
    assert w.store.query("SELECT count() FROM events")[0][0] == len(records)
    yield w.store, truth
    w.store.close()


def test_the_generated_data_exercises_every_case(loaded):
    store, truth = loaded
    # the loader copied the click's touch point onto the visits and orders carrying its id
    [(copied,)] = store.query(
        "SELECT count() FROM events WHERE event_type IN ('visit', 'order') AND click_id != '' "
        "AND placement_id != '' AND creative_id != ''"
    )
    assert copied == sum(h.event_type in ("visit", "order") and bool(h.click) for h in truth)
    statuses = {r[0] for r in store.query("SELECT DISTINCT order_status FROM events")}
    assert {"approved", "cancelled", ""} <= statuses
    rows = _brute(truth, RANGE, "placement_id", 100)
    assert all(r["unique_viewers"] < r["impressions"] for r in rows)
    assert all(r["orders"] > 0 for r in rows)


@pytest.mark.parametrize("by", touchpoints.TOUCH_POINTS)
@pytest.mark.parametrize(
    "flt",
    [
        RANGE,
        Filter(RANGE.start, RANGE.end, include_bots=True),
        Filter(RANGE.start, RANGE.end, channel=("forum",)),
        Filter(DAY1, DAY1, tz="UTC"),
    ],
)
def test_every_figure_matches_brute_force(loaded, by, flt):
    store, truth = loaded
    report = touchpoints.touchpoints_report(store, flt, by=by)
    assert (report["by"], report["top"]) == (by, 100)
    assert report["rows"] == _brute(truth, flt, by, 100)


def test_top_and_filters_on_touch_points(loaded):
    store, truth = loaded
    report = touchpoints.touchpoints_report(store, RANGE, by="creative_id", top=2)
    assert report["rows"] == _brute(truth, RANGE, "creative_id", 2)
    flt = Filter(RANGE.start, RANGE.end, placement_id=("pl-top",))
    rows = touchpoints.touchpoints_report(store, flt, by="placement_id")["rows"]
    assert [r["value"] for r in rows] == ["pl-top"]
    assert rows == _brute([h for h in truth if h.placement_id == "pl-top"], RANGE,
                          "placement_id", 100)  # fmt: skip
    # links: events without a link code are left out, not reported as ""
    links = touchpoints.touchpoints_report(store, RANGE, by="link_code")["rows"]
    assert sorted(r["value"] for r in links) == ["lk-1", "lk-2"]


def test_nothing_matched(loaded):
    store, _ = loaded
    assert (
        touchpoints.touchpoints_report(store, Filter(date(2010, 1, 1), date(2010, 1, 1)))["rows"]
        == []
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"by": "channel"},
        {"by": "placement_id) OR (1=1"},
        {"top": 0},
        {"top": 10_001},
        {"top": "10"},
        {"top": False},
    ],
)
def test_bad_arguments_raise_filter_error(loaded, kwargs):
    store, _ = loaded
    with pytest.raises(FilterError):
        touchpoints.touchpoints_report(store, RANGE, **kwargs)


def test_values_are_bound_not_formatted():
    sql, params = touchpoints.build(Filter(DAY1, DAY1, creative_id=("x' --",)), "creative_id")
    assert "x' --" not in sql and params["creative_id"] == ["x' --"]
