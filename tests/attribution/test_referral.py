"""Referral analysis against the embedded engine: a hand-built invite forest goes through the
real loader, and every figure of the report is checked against the answer worked out here.

The forest (landing-site visitor ids; minutes after 2024-03-01 00:00 Shanghai; the range is
2024-03-01..02):

    s1 ─┬─ a (30) ── c (50) ── d (60) ── e (70)       s3 (day -6) ── p (day -5) ── q (140)
        └─ b (40) ── f (90)                            s2: shares only; r arrives after the end

- f's first referred visit names itself (80): not an edge; its next, through b, is.
- g only ever refers itself; h is a crawler arriving through s1 (left out).
- s1 later arrives through e's link (110): that would close a cycle, so it is ignored.
- c comes back through b's link (300): it keeps its first parent, a.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.attribution import referral
from app.attribution.filters import Filter, FilterError
from app.catalog import entities as catalog
from app.catalog import rows as catalog_rows
from app.catalog.cache import CatalogCache
from app.ingest.loader import Loader, build_enricher
from app.ingest.record import EventIds, dumps
from app.ingest.spool import SpoolWriter
from app.metrics import Metrics
from app.settings import load_settings
from app.store.client import open_store
from app.store.migrate import migrate

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = date(2024, 3, 1)
BASE_MS = int(datetime.combine(DAY1, datetime.min.time(), SHANGHAI).timestamp() * 1000)
RANGE = Filter(DAY1, DAY1 + timedelta(days=1))
MIN, DAY = 60_000, 86_400_000
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _hits() -> list[tuple]:
    """(visitor, ms, event_type, extra fields, user agent)."""
    m = lambda n: BASE_MS + n * MIN  # noqa: E731
    visit, event, order = "visit", "event", "order"

    def share(medium: str) -> dict:
        return {"event_name": "share", "props": {"medium": medium}}

    def ref(sharer: str) -> dict:
        return {"referrer_id": sharer}

    def paid(oid: str, status: str = "approved") -> dict:
        return {"order_id": oid, "order_status": status, "amount": "10.00", "currency": "CNY"}

    rows = [
        ("s1", m(10), visit, {}),
        ("s1", m(11), event, share("wechat")),
        ("s1", m(12), event, share("qq")),
        ("s2", m(20), visit, {}),
        ("s2", m(21), event, share("email")),
        ("a", m(30), visit, ref("s1")),
        ("a", m(35), order, paid("o-a")),
        ("a", m(30) + 8 * DAY, visit, {}),  # active: 8 days later (after the range: counts)
        ("b", m(40), visit, ref("s1")),
        ("b", m(45), order, paid("o-b", "cancelled")),  # not a conversion
        ("b", m(46), event, share("wechat")),
        ("c", m(0) - 3 * DAY, visit, {}),  # before the range, without a referrer
        ("c", m(5) - 3 * DAY, order, paid("o-c")),  # before its arrival: not a conversion
        ("c", m(50), visit, ref("a")),
        ("c", m(300), visit, ref("b")),  # a later share link: keeps its first parent
        ("d", m(60), visit, ref("c")),
        ("d", m(60) + 6 * DAY, event, {"event_name": "signup"}),  # 6 days: not active
        ("e", m(70), visit, ref("d")),
        ("e", m(75), order, paid("o-e")),
        ("e", m(70) + 7 * DAY, visit, {}),  # exactly 7 days: active
        ("f", m(80), visit, ref("f")),  # self-referral
        ("f", m(90), visit, ref("b")),
        ("f", m(90) + 9 * DAY, visit, {}),
        ("g", m(100), visit, ref("g")),  # self-referral only
        ("s1", m(110), visit, ref("e")),  # the cycle attempt
        ("s3", m(0) - 6 * DAY, visit, {}),
        ("p", m(0) - 5 * DAY, visit, ref("s3")),  # invited before the range
        ("p", m(130), visit, {}),
        ("q", m(140), visit, ref("p")),
        ("r", m(10) + 2 * DAY, visit, ref("s2")),  # after the range end
        ("n1", m(150), visit, {}),
        ("n1", m(155), order, paid("o-n1")),
        ("n1", m(150) + 10 * DAY, visit, {}),
    ]
    bots = [
        ("h", m(120), visit, ref("s1")),
        ("n2", m(160), visit, {}),
        ("n2", m(165), order, paid("o-n2")),
    ]
    return [(*r, CHROME) for r in rows] + [(*r, BOT) for r in bots]


@pytest.fixture(scope="module")
def store(tmp_path_factory, geo_db):
    data_dir = tmp_path_factory.mktemp("referral")
    settings_ = load_settings(data_dir=data_dir, geoip_db=geo_db[0])
    store = open_store(settings_.clickhouse_url)
    migrate(store)
    shop = catalog_rows.save(store, catalog.new_site("Shop", "adv", "shop.example", "owned"))
    cache = CatalogCache(store)
    cache.refresh()
    loader = Loader(store, build_enricher(settings_, cache, store), Metrics(), settings_.spool_dir)
    ids = EventIds()
    writer = SpoolWriter(settings_.spool_dir, fsync_ms=1000, segment_ms=60_000).open()
    hits = _hits()
    for visitor, ms, event_type, extra, ua in hits:
        record = {
            "event_id": ids.next(),
            "event_type": event_type,
            "ts": ms,
            "site_key": shop.site_key,
            "visitor_id": visitor,
            "ip": "202.106.0.20",
            "user_agent": ua,
            **extra,
        }
        writer.append(dumps(record))
    writer.close()
    loader.drain_once()
    assert store.query("SELECT count() FROM events")[0][0] == len(hits)
    assert store.query("SELECT countIf(is_bot = 1) FROM events")[0][0] == 3
    yield store
    store.close()


def _spreader(visitor: str, direct: int, subtree: int, depth: int, shares: int = 0) -> dict:
    return {
        "visitor_id": visitor,
        "direct_invites": direct,
        "subtree_size": subtree,
        "depth": depth,
        "shares": shares,
    }


def test_every_figure_of_the_report(store):
    report = referral.referral_report(store, RANGE)
    expected = {
        "start": "2024-03-01",
        "end": "2024-03-02",
        "tz": "Asia/Shanghai",
        "invitees": 7,  # a b c d e f q
        "sharers": 7,  # s1 s2 b (shares) + a c d p (invitees)
        "seeds": 2,  # s1 s2
        "shares": 4,
        "shares_by_medium": [
            {"medium": "wechat", "shares": 2},
            {"medium": "email", "shares": 1},
            {"medium": "qq", "shares": 1},
        ],
        "depths": [
            {"depth": 1, "invitees": 2},  # a b
            {"depth": 2, "invitees": 3},  # c f q
            {"depth": 3, "invitees": 1},  # d
            {"depth": 4, "invitees": 1},  # e
        ],
        "max_depth": 4,
        "invites_per_sharer": 1.0,
        "viral_coefficient": 2 / 7,  # ordered: a e
        "viral_coefficient_active": 3 / 7,  # active: a e f
        "top_by_invites": [
            _spreader("s1", 2, 6, 0, shares=2),
            _spreader("a", 1, 3, 1),
            _spreader("c", 1, 2, 2),
            _spreader("b", 1, 1, 1, shares=1),
            _spreader("d", 1, 1, 3),
            _spreader("p", 1, 1, 1),
        ],
        "top_by_subtree": [
            _spreader("s1", 2, 6, 0, shares=2),
            _spreader("a", 1, 3, 1),
            _spreader("c", 1, 2, 2),
            _spreader("b", 1, 1, 1, shares=1),
            _spreader("d", 1, 1, 3),
            _spreader("p", 1, 1, 1),
            _spreader("s3", 0, 1, 0),  # q's root, though not sharing in the range
        ],
        "referred": {
            "visitors": 7,
            "ordered": 2,
            "order_rate": 2 / 7,
            "active_7d": 3,
            "active_rate": 3 / 7,
        },
        "non_referred": {  # s1 s2 g n1 (crawlers left out)
            "visitors": 4,
            "ordered": 1,
            "order_rate": 0.25,
            "active_7d": 1,
            "active_rate": 0.25,
        },
        "ignored": {"self_referrals": 2, "cycles": 1},
    }
    assert report == expected
    top2 = referral.referral_report(store, RANGE, top=2)
    assert top2["top_by_invites"] == expected["top_by_invites"][:2]
    assert top2["top_by_subtree"] == expected["top_by_subtree"][:2]


def test_crawlers_count_when_asked_and_ranges_move(store):
    with_bots = referral.referral_report(store, Filter(RANGE.start, RANGE.end, include_bots=True))
    assert with_bots["invitees"] == 8  # h, through s1
    assert with_bots["top_by_invites"][0] == _spreader("s1", 3, 7, 0, shares=2)
    assert with_bots["non_referred"]["visitors"] == 5  # n2 as well
    # The next day holds only r (through s2); s2's shares were the day before.
    later = referral.referral_report(store, Filter(DAY1 + timedelta(days=2), DAY1 + timedelta(2)))
    assert (later["invitees"], later["sharers"], later["seeds"], later["max_depth"]) == (1, 1, 1, 1)
    assert later["shares"] == 0 and later["invites_per_sharer"] == 1.0
    # Before the range: p (through s3), and c's earlier visit as a non-referred visitor.
    before = referral.referral_report(store, Filter(DAY1 - timedelta(days=6), DAY1 - timedelta(1)))
    assert (before["invitees"], before["depths"]) == (1, [{"depth": 1, "invitees": 1}])
    # A one-day history no longer sees p's invitation: q then hangs below a seed p.
    short = referral.referral_report(store, RANGE, history_days=1)
    assert short["depths"][1] == {"depth": 2, "invitees": 2}  # c f
    assert short["non_referred"]["visitors"] == 5  # p counts as non-referred


def test_invite_tree_of_one_sharer(store):
    tree = referral.invite_tree(store, RANGE, "s1")
    assert (tree["root"], tree["root_parent"], tree["size"], tree["depth"]) == ("s1", None, 6, 4)
    assert tree["truncated"] is False
    got = [(n["visitor_id"], n["parent"], n["depth"], n["direct_invites"]) for n in tree["nodes"]]
    assert got == [
        ("a", "s1", 1, 1),
        ("b", "s1", 1, 1),
        ("c", "a", 2, 1),
        ("f", "b", 2, 0),
        ("d", "c", 3, 1),
        ("e", "d", 4, 0),
    ]
    assert all(n["in_range"] for n in tree["nodes"])
    assert tree["nodes"][0]["arrived"] == "2024-02-29T16:30:00Z"
    small = referral.invite_tree(store, RANGE, "s1", max_nodes=3)
    assert (small["size"], small["truncated"], len(small["nodes"])) == (6, True, 3)
    s3 = referral.invite_tree(store, RANGE, "s3")
    assert [(n["visitor_id"], n["in_range"]) for n in s3["nodes"]] == [("p", False), ("q", True)]
    assert referral.invite_tree(store, RANGE, "c")["root_parent"] == "a"
    leaf = referral.invite_tree(store, RANGE, "nobody")
    assert (leaf["size"], leaf["depth"], leaf["nodes"]) == (0, 0, [])


@pytest.mark.parametrize(
    "call",
    [
        lambda s: referral.invite_tree(s, RANGE, "x' OR 1=1 --"),
        lambda s: referral.invite_tree(s, RANGE, ""),
        lambda s: referral.invite_tree(s, RANGE, "s1", max_nodes=0),
        lambda s: referral.invite_tree(s, RANGE, "s1", max_nodes=True),
        lambda s: referral.referral_report(s, RANGE, top=0),
        lambda s: referral.referral_report(s, RANGE, top="5"),
        lambda s: referral.referral_report(s, RANGE, history_days=0),
    ],
)
def test_bad_arguments_are_filter_errors(store, call):
    with pytest.raises(FilterError):
        call(store)


def test_the_forest_drops_cycles_and_keeps_first_parents():
    forest = referral.build_forest(
        [("b", "a", 2), ("a", "c", 3), ("c", "b", 4), ("b", "z", 5), ("x", "x", 1)]
    )
    assert forest.parent == {"b": "a", "a": "c"} and forest.cycles == 1
    assert [forest.depth(v) for v in ("c", "a", "b")] == [0, 1, 2]


def test_the_report_is_json_ready_and_its_sql_binds_values(store):
    import json

    json.dumps(referral.referral_report(store, RANGE))
    sql, params = referral.build_queries(Filter(DAY1, DAY1, site_key=("x' --",)))["edges"]
    assert "x' --" not in sql and params["site_key"] == ["x' --"]
