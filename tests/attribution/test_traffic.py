"""Traffic metrics against the embedded engine: generated hits go through the real loader, and
every figure is checked against a brute-force recomputation in Python."""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.attribution import distribution, traffic
from app.attribution.filters import Filter, FilterError
from app.ingest.record import EventIds
from tests.support.loading import world

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = date(2024, 3, 1)
BASE = datetime.combine(DAY1, datetime.min.time(), SHANGHAI)  # 2024-02-29 16:00 UTC
RANGE = Filter(DAY1, DAY1 + timedelta(days=2))
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GAP = 30 * 60_000
# Gaps between one visitor's visits: exactly around the 30-minute edge, and anything else.
EDGE_GAPS = (GAP - 1000, GAP, GAP + 1000)


@dataclass
class Truth:
    ms: int
    event_type: str
    event_name: str
    channel: str
    visitor: str
    pageview: str
    is_bot: int
    duration_ms: int = 0
    status: str = ""
    amount: Decimal = Decimal(0)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _generate(rng: random.Random, sites: dict[str, str], landing: str, n: int):
    """Partner-side impressions and clicks, then landing visits (some after a click, carrying
    its id, some direct), page_leave durations, orders of every status, prior visits 10 and
    100 days before the range, bots."""
    ids = EventIds()
    records: list[dict] = []
    truth: list[Truth] = []
    start = _ms(BASE)
    for i in range(n):
        channel = rng.choice(sorted(sites))
        bot = int(rng.random() < 0.06)
        ua = BOT if bot else CHROME
        person, vid, cid = f"pv{i}", f"lv{i}", f"c{i}"
        t = start - 3_600_000 + rng.randint(0, 3 * 86_400_000 + 7_200_000)

        def put(event_type: str, ms: int, *, on_landing: bool, click: str = "", **kw) -> None:
            record = {
                "event_id": ids.next(),
                "event_type": event_type,
                "ts": ms,
                "site_key": landing if on_landing else sites[channel],
                "visitor_id": kw.pop("visitor", vid if on_landing else person),
                "click_id": click,
                "ip": "202.106.0.20",
                "user_agent": ua,
                **kw,
            }
            records.append(record)
            stored = channel if (click or not on_landing) else "owned"
            truth.append(
                Truth(
                    ms, event_type, kw.get("event_name", ""), stored, record["visitor_id"],
                    kw.get("pageview_id", ""), bot, kw.get("duration_ms", 0),
                    kw.get("order_status", ""), Decimal(kw.get("amount", "0")),
                )
            )  # fmt: skip

        direct = rng.random() < 0.2
        if not direct:
            for _ in range(rng.randint(1, 3)):
                put("impression", t, on_landing=False)
                t += rng.randint(1000, 60_000)
            if rng.random() < 0.4:
                continue
            put("click", t, on_landing=False, click=cid)
        click = "" if direct else cid
        if rng.random() < 0.25:  # a visit before the range: 10 days (returning) or 100 (not)
            days = rng.choice((10, 100))
            put("visit", start - days * 86_400_000, on_landing=True, click=click,
                pageview_id=f"old{i}")  # fmt: skip
        for k in range(rng.choice((1, 1, 2, 3, 4))):
            t += rng.choice((*EDGE_GAPS, rng.randint(1000, 3 * GAP)))
            pageview = f"p{i}-{k}"
            put("visit", t, on_landing=True, click=click, pageview_id=pageview)
            seen = 0
            for _ in range(rng.choice((0, 1, 1, 2))):  # cumulative visible time per hide
                seen += rng.randint(500, 120_000)
                put("event", t + seen + 5, on_landing=True, click=click, event_name="page_leave",
                    pageview_id=pageview, duration_ms=seen)  # fmt: skip
        if rng.random() < 0.3:
            t += 60_000
            status = rng.choice(("approved", "approved", "cancelled"))
            put("order", t, on_landing=True, click=click, order_id=f"o{i}",
                order_status=status, amount=f"{rng.randint(100, 9999) / 100:.2f}")  # fmt: skip
    return records, truth


def _in(flt: Filter, e: Truth) -> bool:
    start, end = (_ms(x) for x in flt.utc_range())
    return start <= e.ms < end and (flt.include_bots or not e.is_bot)


def _brute(truth: list[Truth], flt: Filter, by: str | None) -> dict:
    """{value: metrics} recomputed from the generator's truth."""
    start = _ms(flt.utc_range()[0])
    prior = {
        e.visitor
        for e in truth
        if e.event_type == "visit" and start - flt.returning_days * 86_400_000 <= e.ms < start
    }
    groups: dict = defaultdict(list)
    leaves: dict = defaultdict(int)
    for e in truth:
        if not _in(flt, e):
            continue
        if flt.visitor and (not e.visitor or (e.visitor in prior) != (flt.visitor == "returning")):
            continue
        if e.event_type == "event" and e.event_name == "page_leave":
            key = (e.visitor, e.pageview)
            leaves[key] = max(leaves[key], e.duration_ms)
        if e.event_type in ("impression", "click", "visit", "order"):
            groups[e.channel if by else None].append(e)
    out = {}
    for value, events in groups.items():
        visits = [e for e in events if e.event_type == "visit"]
        per_visitor: dict = defaultdict(list)
        for e in visits:
            per_visitor[e.visitor].append(e.ms)
        sessions = bounces = 0
        for times in per_visitor.values():
            times.sort()
            lengths = [1]
            for a, b in zip(times, times[1:], strict=False):
                if b - a > GAP:
                    lengths.append(1)
                else:
                    lengths[-1] += 1
            sessions += len(lengths)
            bounces += lengths.count(1)
        timed = [
            leaves[(e.visitor, e.pageview)] for e in visits if (e.visitor, e.pageview) in leaves
        ]
        paid = [e for e in events if e.event_type == "order" and e.status in ("approved", "")]
        imp = sum(e.event_type == "impression" for e in events)
        clk = sum(e.event_type == "click" for e in events)
        uv = len(per_visitor)
        returning = sum(v in prior for v in per_visitor)
        out[value] = {
            "impressions": imp, "clicks": clk, "ctr": clk / imp if imp else None,
            "visits": len(visits), "visitors": uv, "page_views": len(visits),
            "pv_per_visitor": len(visits) / uv if uv else None,
            "sessions": sessions, "bounces": bounces,
            "bounce_rate": bounces / sessions if sessions else None,
            "timed_visits": len(timed),
            "avg_visit_duration_s": sum(timed) / len(timed) / 1000 if timed else None,
            "new_visitors": uv - returning, "returning_visitors": returning,
            "orders": len(paid), "amount": sum((e.amount for e in paid), Decimal("0.00")),
        }  # fmt: skip
    return out


def _figures(rows: list[traffic.TrafficRow]) -> dict:
    return {r.value: {k: v for k, v in r.__dict__.items() if k != "value"} for r in rows}


def _approx(expected: dict) -> dict:
    return {
        value: {k: pytest.approx(v) if isinstance(v, float) else v for k, v in m.items()}
        for value, m in expected.items()
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, geo_db, migrated_template):
    w = world(tmp_path_factory.mktemp("traffic"), geo_db[0], template=migrated_template)
    records, truth = _generate(random.Random(20240301), w.sites, w.landing, 1200)
    assert w.load(records) == len(records)
    assert w.store.query("SELECT count() FROM events")[0][0] == len(records)
    yield w.store, truth
    w.store.close()


def test_the_generated_data_exercises_every_case(loaded):
    store, truth = loaded
    stored = dict(store.query("SELECT event_type, count() FROM events GROUP BY event_type"))
    assert stored.keys() == {"impression", "click", "visit", "event", "order"}
    assert store.query("SELECT sum(duration_ms) FROM events WHERE event_name = 'page_leave'")[0][
        0
    ] == sum(e.duration_ms for e in truth)
    statuses = {r[0] for r in store.query("SELECT DISTINCT order_status FROM events")}
    assert {"approved", "cancelled"} <= statuses
    [overall] = traffic.run(store, RANGE)
    assert overall.returning_visitors > 20 and overall.new_visitors > 100
    assert 0 < overall.bounces < overall.sessions < overall.visits
    assert overall.timed_visits > 100


@pytest.mark.parametrize("by", [None, "channel"])
def test_every_metric_matches_brute_force(loaded, by):
    store, truth = loaded
    rows = traffic.run(store, RANGE, by=by)
    assert _figures(rows) == _approx(_brute(truth, RANGE, by))
    if by:
        assert {r.value for r in rows} == {"national_portal", "forum", "owned"}


def test_bots_and_a_single_day(loaded):
    store, truth = loaded
    for flt in (
        Filter(RANGE.start, RANGE.end, include_bots=True),
        Filter(DAY1 + timedelta(days=1), DAY1 + timedelta(days=1)),
        Filter(DAY1, DAY1, tz="UTC"),
    ):
        assert _figures(traffic.run(store, flt, "channel")) == _approx(
            _brute(truth, flt, "channel")
        )


def _insert(store, site: str, rows: list[tuple[str, datetime, str]]) -> None:
    store.insert_rows(
        "events",
        [[t, ts, v, site, f"{site}-{n}"] for n, (t, ts, v) in enumerate(rows)],
        ["event_type", "ts", "visitor_id", "site_key", "pageview_id"],
    )


def test_sessions_split_after_exactly_thirty_minutes(loaded):
    store, _ = loaded
    at = datetime(2025, 1, 10, 2, tzinfo=UTC)
    gap = timedelta(minutes=30)
    second = timedelta(seconds=1)
    _insert(store, "sess", [
        ("visit", at, "a"), ("visit", at + gap - second, "a"),  # 29:59: one session
        ("visit", at, "b"), ("visit", at + gap + second, "b"),  # 30:01: two sessions
        ("visit", at, "c"), ("visit", at + gap, "c"),  # exactly 30:00: one session
    ])  # fmt: skip
    flt = Filter(date(2025, 1, 10), date(2025, 1, 10), site_key=("sess",))
    [row] = traffic.run(store, flt)
    assert (row.visits, row.visitors, row.sessions, row.bounces) == (6, 3, 4, 2)
    assert row.bounce_rate == 0.5 and row.pv_per_visitor == 2.0


def test_returning_means_a_visit_in_the_90_days_before_the_start(loaded):
    store, _ = loaded
    start = datetime(2025, 2, 1, tzinfo=SHANGHAI).astimezone(UTC)
    ms = timedelta(milliseconds=1)
    _insert(store, "ret", [
        ("visit", start - ms, "just-before"), ("visit", start, "just-before"),
        ("visit", start - timedelta(days=90), "day-90"), ("visit", start, "day-90"),
        ("visit", start - timedelta(days=90) - ms, "day-91"), ("visit", start, "day-91"),
        ("visit", start, "at-start"), ("visit", start + timedelta(hours=1), "at-start"),
        ("impression", start - timedelta(days=1), "seen-only"), ("visit", start, "seen-only"),
    ])  # fmt: skip
    flt = Filter(date(2025, 2, 1), date(2025, 2, 1), site_key=("ret",))
    [row] = traffic.run(store, flt)
    assert (row.visitors, row.returning_visitors, row.new_visitors) == (5, 2, 3)
    [row] = traffic.run(store, dataclasses.replace(flt, returning_days=1))
    assert row.returning_visitors == 1
    # The common filter's `visitor` is the same test: its visitors are the split's halves.
    new = traffic.run(store, dataclasses.replace(flt, visitor="new"))[0]
    back = traffic.run(store, dataclasses.replace(flt, visitor="returning"))[0]
    assert (new.visitors, new.new_visitors, new.returning_visitors) == (3, 3, 0)
    assert (back.visitors, back.new_visitors, back.returning_visitors) == (2, 0, 2)
    assert new.visits + back.visits == row.visits


@pytest.mark.parametrize("visitor", ["new", "returning"])
@pytest.mark.parametrize("by", [None, "channel"])
def test_new_or_returning_filter_matches_brute_force(loaded, visitor, by):
    store, truth = loaded
    flt = dataclasses.replace(RANGE, visitor=visitor)
    rows = traffic.run(store, flt, by=by)
    assert _figures(rows) == _approx(_brute(truth, flt, by))
    # Every visitor of the filtered report is of that kind, and they add up to the split.
    [everyone] = traffic.run(store, RANGE)
    [only] = traffic.run(store, flt)
    kind = "new_visitors" if visitor == "new" else "returning_visitors"
    assert only.visitors == getattr(only, kind) == getattr(everyone, kind) > 20
    # Split by the `visitor` dimension: the same people, one row per kind.
    split = {r.value: r for r in traffic.run(store, RANGE, by="visitor")}
    assert _figures([split[visitor]])[visitor] == _figures(traffic.run(store, flt))[None]
    shorter = traffic.run(store, dataclasses.replace(flt, returning_days=30))
    assert _figures(shorter) == _approx(
        _brute(truth, dataclasses.replace(flt, returning_days=30), None)
    )


def test_hours_and_weekdays_in_shanghai(loaded):
    store, truth = loaded
    visits = [e for e in truth if e.event_type == "visit" and _in(RANGE, e)]
    hours = [0] * 24
    weekdays = [0] * 7
    for e in visits:
        local = datetime.fromtimestamp(e.ms / 1000, SHANGHAI)
        hours[local.hour] += 1
        weekdays[local.isoweekday() - 1] += 1
    got = distribution.distribution(store, RANGE, "hour")
    assert [h for h, _, _ in got] == list(range(24))
    assert [v for _, v, _ in got] == hours
    got = distribution.distribution(store, RANGE, "weekday")
    assert [(d, v) for d, v, _ in got] == list(zip(range(1, 8), weekdays, strict=True))
    utc = distribution.distribution(store, Filter(RANGE.start, RANGE.end, tz="UTC"), "hour")
    assert [v for _, v, _ in utc] != hours
    # 16:00 UTC is local midnight: the same visits, shifted by eight hours
    at = datetime(2025, 3, 3, 16, 30, tzinfo=UTC)
    _insert(store, "hour", [("visit", at, "h"), ("visit", at, "h2")])
    local = distribution.distribution(store, Filter(date(2025, 3, 4), date(2025, 3, 4),
                                               site_key=("hour",)))  # fmt: skip
    assert [(h, v, u) for h, v, u in local if v] == [(0, 2, 2)]
    with pytest.raises(FilterError):
        distribution.distribution(store, RANGE, "minute; DROP TABLE events")


def test_reports_are_json_ready(loaded):
    store, _ = loaded
    report = traffic.traffic_report(store, RANGE, by="channel")
    assert report["by"] == "channel" and len(report["rows"]) == 3
    assert all(isinstance(r["amount"], float) for r in report["rows"])
    dist = distribution.distribution_report(store, RANGE, unit="weekday")
    assert dist["unit"] == "weekday" and [r["slot"] for r in dist["rows"]] == list(range(1, 8))
    with pytest.raises(FilterError):
        traffic.run(store, RANGE, by="channel) OR (1=1")
    sql, params = traffic.build(Filter(DAY1, DAY1, channel=("x' --",)), "channel")
    assert "x' --" not in sql and params["channel"] == ["x' --"]


def test_values_without_visits_get_zeros_not_nulls(loaded):
    store, _ = loaded
    rows = traffic.run(store, RANGE, by="site_key")
    partner = [r for r in rows if r.impressions]
    assert len(partner) == 2 and len(rows) == 3
    for row in partner:
        assert (row.visits, row.visitors, row.sessions, row.pv_per_visitor) == (0, 0, 0, None)
        assert row.bounce_rate is None and row.avg_visit_duration_s is None
    assert sum(r.clicks for r in rows) == traffic.run(store, RANGE)[0].clicks
