"""Touch paths per order against the embedded engine: scripted people with known touch
sequences go through the real loader, and `journeys()` must give exactly the journeys the
script says; the attribution report must hand out every order and its amount."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.attribution import attribution, journeys_query
from app.attribution.filters import Filter, FilterError
from app.attribution.models import Journey, aggregate
from app.ingest.record import EventIds
from tests.support.loading import world

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = date(2024, 3, 1)
RANGE = Filter(DAY1, DAY1 + timedelta(days=1))
T = datetime.combine(DAY1, datetime.min.time(), SHANGHAI) + timedelta(hours=12)
H = 3600
DAY = 24 * H
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
PORTAL, FORUM, SEARCH = "national_portal", "forum", "search"


class Script:
    """Spool records for scripted people, and the journeys the script says they make."""

    def __init__(self, sites: dict[str, str], landing: str) -> None:
        self.sites, self.landing = sites, landing
        self.ids = EventIds()
        self.records: list[dict] = []
        self.expected: list[Journey] = []

    def put(self, event_type: str, at_s: int, vid: str, *, channel: str = "", cid: str = "",
            bot: bool = False, **kw: str) -> None:  # fmt: skip
        """One hit `at_s` seconds after T: on the channel's partner site, else the landing."""
        self.records.append({
            "event_id": self.ids.next(), "event_type": event_type, "event_name": "",
            "ts": int((T + timedelta(seconds=at_s)).timestamp() * 1000),
            "site_key": self.sites[channel] if channel else self.landing,
            "visitor_id": vid, "click_id": cid, "ip": "202.106.0.20",
            "user_agent": BOT if bot else CHROME, **kw,
        })  # fmt: skip

    def order(self, at_s: int, vid: str, amount: str, *, cid: str = "", status: str = "approved",
              bot: bool = False) -> None:  # fmt: skip
        extra = {"order_status": status} if status else {}
        self.put("order", at_s, vid, cid=cid, bot=bot, order_id=f"o{len(self.records)}",
                 amount=amount, **extra)  # fmt: skip

    def converts(self, path: tuple[str, ...], ages: tuple[float, ...], amount: str) -> None:
        self.expected.append(Journey(path, 1, float(Decimal(amount)), 0, ages))

    def drops(self, path: tuple[str, ...]) -> None:
        self.expected.append(Journey(path, 0, 0.0, 1))


def _script(s: Script) -> None:
    # A: a view then a click on another channel, a landing visit under its own id, an order;
    # a pending order later does not count.
    s.put("impression", -2 * H, "pa", channel=PORTAL)
    s.put("click", -H, "pa", channel=FORUM, cid="ca")
    s.put("visit", -H + 60, "la", cid="ca")
    s.order(0, "la", "10.50")
    s.order(600, "la", "99.00", status="pending")
    s.converts((PORTAL, FORUM), (2 * H, H), "10.50")
    # B: a click 5 days back counts (click look-back 30 days), a view 3 days back does not
    # (view look-back 1 day), and a click 40 days back is out of every window.
    s.put("click", -40 * DAY, "pb", channel=SEARCH, cid="cb0")
    s.put("click", -5 * DAY, "pb", channel=PORTAL, cid="cb")
    s.put("visit", -5 * DAY + 60, "lb", cid="cb")
    s.put("impression", -3 * DAY, "pb", channel=FORUM)
    s.order(0, "lb", "20.00")
    s.converts((PORTAL,), (5 * DAY,), "20.00")
    # C: two orders; the second one's path starts after the first.
    s.put("impression", -H, "pc", channel=PORTAL)
    s.put("click", -1800, "pc", channel=PORTAL, cid="cc1")
    s.put("visit", -1700, "lc", cid="cc1")
    s.order(0, "lc", "5.00")
    s.put("click", H, "pc", channel=SEARCH, cid="cc2")
    s.put("visit", H + 60, "lc", cid="cc2")
    s.order(2 * H, "lc", "7.25")
    s.converts((PORTAL, PORTAL), (H, 1800), "5.00")
    s.converts((SEARCH,), (H,), "7.25")
    # D: a direct order, without a status.
    s.put("visit", 3 * H, "ld")
    s.order(3 * H + 60, "ld", "3.00", status="")
    s.converts(("(direct)",), (0.0,), "3.00")
    # E: touches, no order: a null journey of its touches in the range only.
    s.put("impression", -14 * H, "pe", channel=SEARCH)  # before the range's first midnight
    s.put("impression", 0, "pe", channel=FORUM)
    s.put("click", 60, "pe", channel=FORUM, cid="ce")
    s.put("visit", 120, "le", cid="ce")
    s.drops((FORUM, FORUM))
    # F: a bot does everything; nothing of it counts.
    s.put("impression", -H, "pf", channel=PORTAL, bot=True)
    s.put("click", -600, "pf", channel=PORTAL, cid="cf", bot=True)
    s.put("visit", -500, "lf", cid="cf", bot=True)
    s.order(0, "lf", "50.00", bot=True)
    # G: a postback order, carrying only the click id.
    s.put("click", -2 * H, "pg", channel=SEARCH, cid="cg")
    s.order(0, "", "4.00", cid="cg")
    s.converts((SEARCH,), (2 * H,), "4.00")
    # H: the order falls after the range: a null journey.
    s.put("click", 20 * H, "ph", channel=PORTAL, cid="chh")
    s.put("visit", 20 * H + 60, "lh", cid="chh")
    s.order(40 * H, "lh", "8.00")
    s.drops((PORTAL,))
    # I: views only, the order under the same visitor id: 20 h back counts, 30 h does not.
    s.put("impression", -30 * H, "pi", channel=PORTAL)
    s.put("impression", -20 * H, "pi", channel=FORUM)
    s.order(0, "pi", "1.25")
    s.converts((FORUM,), (20 * H,), "1.25")
    # J: an order three days before the range resets the path: the click before it no
    # longer counts for the order in the range, though it lies within the click look-back.
    s.put("click", -4 * DAY, "pj", channel=PORTAL, cid="cj1")
    s.put("visit", -4 * DAY + 60, "lj", cid="cj1")
    s.order(-3 * DAY, "lj", "30.00")
    s.put("click", -H, "pj", channel=SEARCH, cid="cj2")
    s.put("visit", -H + 60, "lj", cid="cj2")
    s.order(0, "lj", "6.00")
    s.converts((SEARCH,), (H,), "6.00")
    # K: touches after the last order in the range make a null journey of their own.
    s.put("click", -3 * H, "pk", channel=FORUM, cid="ck")
    s.put("visit", -3 * H + 60, "lk", cid="ck")
    s.order(0, "lk", "2.00")
    s.put("impression", H, "pk", channel=PORTAL)
    s.converts((FORUM,), (3 * H,), "2.00")
    s.drops((PORTAL,))


ORDERS, REVENUE = 9, 10.50 + 20 + 5 + 7.25 + 3 + 4 + 1.25 + 6 + 2


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, geo_db, migrated_template):
    sites = (("Portal", "p1", PORTAL), ("Forum", "p2", FORUM), ("Search", "p3", SEARCH))
    w = world(tmp_path_factory.mktemp("paths"), geo_db[0], sites, template=migrated_template)
    script = Script(w.sites, w.landing)
    _script(script)
    assert w.load(script.records) == len(script.records)
    assert w.store.query("SELECT count() FROM events")[0][0] == len(script.records)
    yield w.store, script
    w.store.close()


def _key(j: Journey) -> tuple:
    return (j.path, j.touch_ages or (), j.conversions, j.nulls, j.revenue)


def test_journeys_are_the_scripted_ones(loaded):
    store, script = loaded
    found = journeys_query.journeys(store, RANGE)
    assert sorted(found, key=_key) == sorted(aggregate(script.expected), key=_key)


def test_touch_filters_apply_to_touches_not_orders(loaded):
    store, _ = loaded
    flt = Filter(RANGE.start, RANGE.end, channel=(FORUM,))
    found = {(j.path, j.touch_ages): j for j in journeys_query.journeys(store, flt)}
    assert found[((FORUM,), (H,))].conversions == 1  # A, without its portal view
    assert found[(("(direct)",), (0.0,))].conversions == 6  # B, C (both), D, G, J
    assert sum(j.conversions for j in found.values()) == ORDERS


def test_bots_count_when_asked_for(loaded):
    store, _ = loaded
    flt = Filter(RANGE.start, RANGE.end, include_bots=True)
    found = journeys_query.journeys(store, flt)
    assert sum(j.conversions for j in found) == ORDERS + 1


def test_the_report_hands_out_every_order(loaded):
    store, _ = loaded
    report = attribution.attribution_report(store, RANGE, markov_order=2)
    assert report["orders"] == ORDERS and report["revenue"] == pytest.approx(REVENUE)
    assert set(report["totals"]["conversions"]) == set(attribution.ATTRIBUTION_MODELS)
    for model in attribution.ATTRIBUTION_MODELS:
        assert report["totals"]["conversions"][model] == pytest.approx(ORDERS), model
        assert report["totals"]["revenue"][model] == pytest.approx(REVENUE), model
        by_row = sum(r["conversions"][model] for r in report["rows"])
        assert by_row == pytest.approx(ORDERS), model
    values = [r["value"] for r in report["rows"]]
    assert values == sorted([PORTAL, FORUM, SEARCH, "(direct)"])
    last = {r["value"]: r["conversions"]["last_click"] for r in report["rows"]}
    assert last == {PORTAL: 2, FORUM: 3, SEARCH: 3, "(direct)": 1}


def test_bad_inputs_are_filter_errors():
    with pytest.raises(FilterError):
        journeys_query.build(RANGE, by="ip; DROP TABLE events")
    with pytest.raises(FilterError):
        journeys_query.build(RANGE, click_lookback_days=1, view_lookback_days=2)
    with pytest.raises(FilterError):
        attribution.attribution_report(None, RANGE, models=("astrology",))  # type: ignore[arg-type]


def test_the_query_binds_every_value():
    flt = Filter(DAY1, DAY1, channel=("b", "a"))
    sql, params = journeys_query.build(flt, "partner_id", 7, 1)
    assert journeys_query.build(flt, "partner_id", 7, 1) == (sql, params)
    assert params["channel"] == ["a", "b"]
    assert params["start"] == flt.utc_range()[0] - timedelta(days=7)
    assert params["stitch_from"] == params["start"] and "'b'" not in sql
