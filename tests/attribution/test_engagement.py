"""Silence time, activity tiers and stickiness against the embedded engine: generated hits go
through the real loader, and every figure is checked against a brute-force recomputation."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.attribution import engagement
from app.attribution.filters import Filter, FilterError
from app.ingest.record import EventIds
from tests.support.loading import world

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = date(2024, 3, 1)
BASE = datetime.combine(DAY1, datetime.min.time(), SHANGHAI)
RANGE = Filter(DAY1, DAY1 + timedelta(days=6))
DAY_MS = 86_400_000
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@dataclass
class Hit:
    ms: int
    visitor: str
    channel: str
    is_bot: int


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _generate(rng: random.Random, sites: dict[str, str], landing: str, n: int):
    """People active on a few random days from 120 days before the range to 3 days after it:
    partner-side impressions and clicks, landing visits, custom events and orders."""
    ids = EventIds()
    records: list[dict] = []
    truth: list[Hit] = []
    start = _ms(BASE)
    for i in range(n):
        channel = rng.choice(sorted(sites))
        bot = int(rng.random() < 0.08)
        base = {"ip": "202.106.0.20", "user_agent": BOT if bot else CHROME}
        recent = rng.random() < 0.6  # most people are seen around the range
        for k in range(rng.choice((1, 2, 3, 4, 6, 9))):
            day = rng.randint(-16, 9) if recent else rng.randint(-120, 9)
            t = start + day * DAY_MS + rng.randint(0, DAY_MS - 1)
            click = f"c{i}-{k}" if rng.random() < 0.5 else ""
            if click:
                records.append({**base, "event_id": ids.next(), "event_type": "click", "ts": t,
                                "site_key": sites[channel], "visitor_id": f"pv{i}",
                                "click_id": click})  # fmt: skip
                truth.append(Hit(t, f"pv{i}", channel, bot))
                t += rng.randint(1000, 60_000)
            elif rng.random() < 0.3:
                records.append(
                    {
                        **base,
                        "event_id": ids.next(),
                        "event_type": "impression",
                        "ts": t,
                        "site_key": sites[channel],
                        "visitor_id": f"pv{i}",
                    }
                )
                truth.append(Hit(t, f"pv{i}", channel, bot))
                continue
            kind = rng.choice(("visit", "visit", "event", "order"))
            extra = {"visit": {"pageview_id": f"p{i}-{k}"},
                     "event": {"event_name": "signup"},
                     "order": {"order_id": f"o{i}-{k}", "amount": "9.90"}}[kind]  # fmt: skip
            records.append({**base, **extra, "event_id": ids.next(), "event_type": kind, "ts": t,
                            "site_key": landing, "visitor_id": f"lv{i}",
                            "click_id": click})  # fmt: skip
            truth.append(Hit(t, f"lv{i}", channel if click else "owned", bot))
    return records, truth


def _utc_ms(flt: Filter, day: date) -> int:
    return _ms(datetime.combine(day, datetime.min.time(), ZoneInfo(flt.tz)))


def _brute(
    truth: list[Hit],
    flt: Filter,
    lookback: int = 90,
    high: int = 3,
    base: tuple[date, date] | None = None,
) -> dict:
    """Every figure by hand; stickiness against the `base` days (first, last), by default
    the days just before the range, as many as it has."""
    zone = ZoneInfo(flt.tz)
    length = flt.end - flt.start + timedelta(days=1)
    first, last = base or (flt.start - length, flt.start - timedelta(days=1))
    end = _utc_ms(flt, flt.end + timedelta(days=1))
    range_start = _utc_ms(flt, flt.start)
    look_start = _utc_ms(flt, flt.start - timedelta(days=lookback))
    prev_start, prev_end = _utc_ms(flt, first), _utc_ms(flt, last + timedelta(days=1))
    people: dict = defaultdict(list)
    for h in truth:
        seen = h.ms < end and (flt.include_bots or not h.is_bot)
        if seen and (not flt.channel or h.channel in flt.channel):
            people[h.visitor].append(h.ms)
    scoped, silences, tiers, previous, retained = 0, [], [0, 0, 0], 0, 0
    buckets = [0] * len(engagement.BUCKETS)
    for times in people.values():
        days = {datetime.fromtimestamp(t / 1000, zone).date() for t in times if t >= range_start}
        if any(prev_start <= t < prev_end for t in times):
            previous += 1
            retained += bool(days)
        last = max(times)
        if last < look_start:
            continue
        scoped += 1
        silence = (flt.end - datetime.fromtimestamp(last / 1000, zone).date()).days
        silences.append(silence)
        for b, (lo, hi) in enumerate(engagement.BUCKETS):
            buckets[b] += lo <= silence and (hi is None or silence <= hi)
        tiers[0 if not days else 1 if len(days) < high else 2] += 1
    silences.sort()
    return {
        "visitors": scoped,
        "median_silence_days": silences[(len(silences) - 1) // 2] if silences else None,
        "buckets": buckets,
        "tiers": tiers,
        "stickiness": (previous, retained, retained / previous if previous else None),
    }


def _got(report: dict) -> dict:
    sticky = report["stickiness"]
    return {
        "visitors": report["visitors"],
        "median_silence_days": report["median_silence_days"],
        "buckets": [b["visitors"] for b in report["buckets"]],
        "tiers": [t["visitors"] for t in report["tiers"]],
        "stickiness": (sticky["previous_visitors"], sticky["retained"], sticky["rate"]),
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, geo_db, migrated_template):
    w = world(tmp_path_factory.mktemp("engagement"), geo_db[0], template=migrated_template)
    records, truth = _generate(random.Random(20240303), w.sites, w.landing, 800)
    assert w.load(records) == len(records)
    assert w.store.query("SELECT count() FROM events")[0][0] == len(records)
    yield w.store, truth
    w.store.close()


def test_the_generated_data_exercises_every_case(loaded):
    _, truth = loaded
    got = _brute(truth, RANGE)
    assert all(n > 0 for n in got["buckets"][:-1])
    assert all(n > 10 for n in got["tiers"])
    assert 0 < got["stickiness"][1] < got["stickiness"][0]
    assert sum(h.is_bot for h in truth) > 20


@pytest.mark.parametrize(
    ("flt", "lookback", "high"),
    [
        (RANGE, 90, 3),
        (RANGE, 30, 2),
        (RANGE, 1, 5),  # a look-back shorter than the previous range
        (Filter(RANGE.start, RANGE.end, include_bots=True), 90, 3),
        (Filter(RANGE.start, RANGE.end, channel=("forum",)), 90, 3),
        (Filter(DAY1, DAY1), 90, 2),
        (Filter(DAY1 + timedelta(days=2), DAY1 + timedelta(days=12), tz="UTC"), 120, 4),
    ],
)
def test_every_figure_matches_brute_force(loaded, flt, lookback, high):
    store, truth = loaded
    report = engagement.silence_report(store, flt, lookback, high_active_days=high)
    assert _got(report) == _brute(truth, flt, lookback, high)
    assert report["tiers"][1]["max_active_days"] == high - 1
    shares = [b["share"] for b in report["buckets"]]
    assert sum(shares) == pytest.approx(1.0)


def test_report_shape(loaded):
    store, _ = loaded
    report = engagement.silence_report(store, RANGE)
    assert (report["as_of"], report["lookback_days"], report["lookback_start"]) == (
        "2024-03-07", 90, "2023-12-02"
    )  # fmt: skip
    assert [b["label"] for b in report["buckets"]] == [
        "0", "1-3", "4-7", "8-14", "15-30", "31-60", "61-90", ">90"
    ]  # fmt: skip
    assert [t["tier"] for t in report["tiers"]] == ["silent", "low_active", "high_active"]
    sticky = report["stickiness"]
    assert (sticky["previous_start"], sticky["previous_end"]) == ("2024-02-23", "2024-02-29")
    assert sum(b["visitors"] for b in report["buckets"]) == report["visitors"]
    assert sum(t["visitors"] for t in report["tiers"]) == report["visitors"]


def test_day_and_lookback_edges(loaded):
    store, _ = loaded
    day = date(2025, 5, 10)
    midnight = datetime.combine(day, datetime.min.time(), SHANGHAI).astimezone(UTC)
    ms = timedelta(milliseconds=1)
    rows = [
        ("end-of-day", midnight + timedelta(days=1) - ms),  # silence 0
        ("after-range", midnight + timedelta(days=1)),  # not seen: after the range
        ("yesterday", midnight - ms),  # silence 1, silent tier
        ("lookback-edge", midnight - timedelta(days=3)),  # exactly the look-back's start
        ("too-old", midnight - timedelta(days=3) - ms),  # just before it: out of scope
        ("three-days", midnight), ("three-days", midnight + timedelta(hours=5)),
        ("three-days", midnight - timedelta(days=1)), ("three-days", midnight - 2 * ms),
    ]  # fmt: skip
    store.insert_rows(
        "events",
        [["visit", ts, v, "edge", f"e{n}"] for n, (v, ts) in enumerate(rows)],
        ["event_type", "ts", "visitor_id", "site_key", "pageview_id"],
    )
    flt = Filter(day, day, site_key=("edge",))
    report = engagement.silence_report(store, flt, 3, high_active_days=2)
    assert report["visitors"] == 4  # end-of-day, yesterday, lookback-edge, three-days
    assert [b["visitors"] for b in report["buckets"]][:2] == [2, 2]
    assert report["median_silence_days"] == 0  # lower median of 0, 0, 1, 3
    assert [t["visitors"] for t in report["tiers"]] == [2, 2, 0]
    # previous range = the day before: yesterday and three-days; only three-days came back
    sticky = report["stickiness"]
    assert (sticky["previous_visitors"], sticky["retained"], sticky["rate"]) == (2, 1, 0.5)


def _calendar_base(month_start: date) -> tuple[date, date]:
    """The month before the one starting on `month_start`, by counting back: its last day is
    the day before, its first that day's 1st."""
    last = month_start - timedelta(days=1)
    return last.replace(day=1), last


@pytest.mark.parametrize(
    ("flt", "base"),
    [
        # March against all of February (29 days in 2024), not 31 January – 29 February.
        (Filter(date(2024, 3, 1), date(2024, 3, 31)), _calendar_base(date(2024, 3, 1))),
        (Filter(date(2024, 2, 1), date(2024, 2, 29)), _calendar_base(date(2024, 2, 1))),
        (Filter(date(2024, 2, 1), date(2024, 2, 29), tz="UTC"), (date(2024, 1, 1),
                                                                 date(2024, 1, 31))),
        # Two whole months against the two before them.
        (Filter(date(2024, 2, 1), date(2024, 3, 31)), (date(2023, 12, 1), date(2024, 1, 31))),
    ],
)  # fmt: skip
def test_stickiness_of_a_month_is_against_the_previous_calendar_month(loaded, flt, base):
    store, truth = loaded
    report = engagement.silence_report(store, flt)
    assert _got(report) == _brute(truth, flt, base=base)
    sticky = report["stickiness"]
    assert sticky["base"] == "calendar"
    assert (sticky["previous_start"], sticky["previous_end"]) == tuple(d.isoformat() for d in base)
    # The equal-length window only when asked.
    asked = engagement.silence_report(store, flt, stickiness_base="equal_length")
    assert _got(asked) == _brute(truth, flt)
    assert asked["stickiness"]["base"] == "equal_length"
    # Months differ in length, and the data tells the two bases apart.
    assert _got(asked)["stickiness"] != _got(report)["stickiness"]


def test_stickiness_into_march_counts_february_people_only(loaded):
    """People active on 30 January and 5 March are not retained into March; on 10 February
    and 5 March they are. The equal-length window (29 January – 28 February) would count
    both."""
    store, _ = loaded
    days = (date(2025, 1, 30), date(2025, 2, 10), date(2025, 2, 20), date(2025, 3, 5))
    at = {d: datetime.combine(d, datetime.min.time(), SHANGHAI) + timedelta(hours=12) for d in days}
    rows = [
        ("jan30-mar5", date(2025, 1, 30)), ("jan30-mar5", date(2025, 3, 5)),
        ("feb10-mar5", date(2025, 2, 10)), ("feb10-mar5", date(2025, 3, 5)),
        ("feb20-only", date(2025, 2, 20)), ("mar5-only", date(2025, 3, 5)),
    ]  # fmt: skip
    store.insert_rows(
        "events",
        [["visit", at[d].astimezone(UTC), v, "sticky", f"s{n}"] for n, (v, d) in enumerate(rows)],
        ["event_type", "ts", "visitor_id", "site_key", "pageview_id"],
    )
    march = Filter(date(2025, 3, 1), date(2025, 3, 31), site_key=("sticky",))
    sticky = engagement.silence_report(store, march)["stickiness"]
    # February: feb10-mar5 and feb20-only; feb10-mar5 came back in March.
    assert (sticky["previous_start"], sticky["previous_end"]) == ("2025-02-01", "2025-02-28")
    assert (sticky["previous_visitors"], sticky["retained"], sticky["rate"]) == (2, 1, 0.5)
    window = engagement.silence_report(store, march, stickiness_base="equal_length")
    sticky = window["stickiness"]
    assert (sticky["previous_start"], sticky["previous_end"]) == ("2025-01-29", "2025-02-28")
    assert (sticky["previous_visitors"], sticky["retained"]) == (3, 2)


def test_nobody_in_scope(loaded):
    store, _ = loaded
    report = engagement.silence_report(store, Filter(date(2010, 1, 1), date(2010, 1, 1)))
    assert report["visitors"] == 0 and report["median_silence_days"] is None
    assert all(b["visitors"] == 0 and b["share"] is None for b in report["buckets"])
    assert report["stickiness"]["rate"] is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lookback_days": 0},
        {"lookback_days": 367},
        {"lookback_days": "90"},
        {"lookback_days": True},
        {"high_active_days": 1},
        {"high_active_days": 2.5},
        {"stickiness_base": "fortnight"},
    ],
)
def test_bad_arguments_raise_filter_error(loaded, kwargs):
    store, _ = loaded
    with pytest.raises(FilterError):
        engagement.silence_report(store, RANGE, **kwargs)


def test_values_are_bound_not_formatted():
    sql, params = engagement.build(Filter(DAY1, DAY1, channel=("x' --",)))
    assert "x' --" not in sql and params["channel"] == ["x' --"]
