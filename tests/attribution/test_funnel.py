"""Funnels against the embedded engine: seeded visitors go through the real loader, and every
figure is checked against a brute-force recomputation of windowFunnel's walk in Python."""

from __future__ import annotations

import dataclasses
import itertools
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.attribution import funnel, funnel_steps
from app.attribution.filters import Filter, FilterError, where
from app.attribution.funnel_steps import DEFAULT_STEPS, Step
from app.ingest.record import EventIds
from app.rollups import funnels as rollup
from tests.support.loading import world

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = date(2024, 3, 1)
BASE = datetime.combine(DAY1, datetime.min.time(), SHANGHAI)  # 2024-02-29 16:00 UTC
ALL_DAYS = Filter(date(2024, 2, 20), date(2024, 3, 20))
HOUR = 3600
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
# ip -> province_code (GB/T 2260) the loader derives from the test GeoIP database.
PLACES = {"202.106.0.20": "110000", "113.96.77.1": "440000"}


@dataclass
class Truth:
    """What the generator knows about one stored event."""

    person: str
    ms: int
    event_type: str
    event_name: str
    channel: str
    province_code: str
    is_bot: int
    dims: dict[str, str] = field(default_factory=dict)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _generate(rng: random.Random, sites: dict[str, tuple[str, str]], landing: str, n: int):
    """Spool records and their truth: partner-side impressions and clicks under one visitor
    id, landing-side visits, sign-ups and orders under another (or a postback with only the
    click id), drop-offs at every step, slow visitors, bots, direct visitors, repeats."""
    ids = EventIds()
    records: list[dict] = []
    truth: list[Truth] = []
    midnight = BASE + timedelta(days=1)
    for i in range(n):
        site, channel = sites[rng.choice(sorted(sites))]
        ip = rng.choice(sorted(PLACES))
        bot = rng.random() < 0.06
        ua = BOT if bot else CHROME
        person, landing_id, click_id = f"pv{i}", f"lv{i}", f"c{i}"
        if rng.random() < 0.15:  # around local midnight, for the date-range test
            t = _ms(midnight) + rng.randint(-20 * 60_000, 20 * 60_000)
        else:
            t = _ms(BASE - timedelta(hours=12)) + rng.randint(0, 3 * 86_400_000)

        def after(t: int) -> int:
            if rng.random() < 0.15:
                return t + rng.randint(2 * HOUR * 1000, 6 * HOUR * 1000)  # outside 1 h
            return t + 1 + int(rng.expovariate(1 / 600_000))

        def put(event_type: str, ms: int, *, vid: str, cid: str = "", name: str = "", **kw):
            on_landing = event_type in ("visit", "event", "order")
            record = {
                "event_id": ids.next(),
                "event_type": event_type,
                "event_name": name,
                "ts": ms,
                "site_key": landing if on_landing else site,
                "visitor_id": vid,
                "click_id": cid,
                "ip": ip,
                "user_agent": ua,
                **kw,
            }
            records.append(record)
            stored_channel = channel if (cid or not on_landing) else "owned"
            truth.append(Truth(person, ms, event_type, name, stored_channel, PLACES[ip], bot))

        direct = rng.random() < 0.1
        if not direct:
            if rng.random() < 0.9:
                put("impression", t, vid=person)
            if rng.random() < 0.1:  # a second impression later: a restarted chain
                put("impression", t + rng.randint(1, 3 * HOUR * 1000), vid=person)
            if rng.random() < 0.5:
                continue
            t = after(t)
            put("click", t, vid=person, cid=click_id)
            if rng.random() < 0.3:
                continue
        t = after(t)
        put("visit", t, vid=landing_id, cid="" if direct else click_id)
        if rng.random() < 0.5:
            t = after(t)
            put("event", t, vid=landing_id, name="signup")
        if rng.random() < 0.4:
            t = after(t)
            order = {"order_id": f"o{i}", "order_status": "approved", "amount": "10.50"}
            if not direct and rng.random() < 0.5:  # a postback: the click id, no visitor
                put("order", t, vid="", cid=click_id, **order)
            else:
                put("order", t, vid=landing_id, **order)
    return records, truth


def _bucket(seconds: int) -> int:
    """Whole seconds to three significant figures, as the funnel keeps its medians."""
    for limit, unit in ((1000, 1), (10_000, 10), (100_000, 100), (1_000_000, 1000)):
        if seconds < limit:
            return seconds // unit * unit
    return seconds // 10_000 * 10_000


def _brute(
    truth: list[Truth],
    steps: tuple[Step, ...],
    window_s: int,
    flt: Filter,
    by: str | None = None,
) -> dict:
    """{value: (entries per step, lower-median seconds per gap)} by windowFunnel's walk from
    each entry: a person's step-1 events of one local day (and one value of the split and of
    each filtered dimension) that pass the filter, then the person's later steps anywhere
    until the same unit's next entry day."""
    start, end = (_ms(x) for x in flt.utc_range())
    zone = ZoneInfo(flt.tz)
    filtered = sorted(d for d in ("channel", "province_code") if getattr(flt, d) and d != by)
    dims = ([by] if by and by != "day" else []) + filtered
    per_person: dict[str, list[Truth]] = defaultdict(list)
    for e in truth:
        if start <= e.ms < end + window_s * 1000 and (flt.include_bots or not e.is_bot):
            per_person[e.person].append(e)
    counts: dict = defaultdict(lambda: [0] * len(steps))
    gaps: dict = defaultdict(lambda: [[] for _ in steps[1:]])
    for events in per_person.values():
        entries: dict = defaultdict(list)
        for e in events:
            if not (_matches(e, steps[0]) and e.ms < end):
                continue
            if flt.province_code and e.province_code not in flt.province_code:
                continue
            if flt.channel and e.channel not in flt.channel:
                continue
            day = datetime.fromtimestamp(e.ms / 1000, zone).date()
            entries[day, tuple(getattr(e, d) for d in dims)].append(e.ms)
        later = [(e.ms, k) for e in events for k, s in enumerate(steps) if k and _matches(e, s)]
        starts = [
            (
                datetime.fromtimestamp(e.ms / 1000, zone).date(),
                tuple(getattr(e, d) for d in dims),
                e.ms,
            )
            for e in events
            if _matches(e, steps[0])
        ]
        for (day, unit), firsts in entries.items():
            # Later steps count until the same unit's next entry day begins.
            end_ms = min((ms for d, u, ms in starts if d > day and u == unit), default=2**64)
            chains: list[list[int] | None] = [None] * len(steps)
            walk = [(ms, 0) for ms in firsts] + [(ms, k) for ms, k in later if ms < end_ms]
            for ms, k in sorted(walk):
                if chains[-1] is not None:
                    break
                if k == 0:
                    chains[0] = [ms]
                elif chains[k - 1] is not None and ms <= chains[k - 1][0] + window_s * 1000:
                    chains[k] = [*chains[k - 1], ms]
            level = max(k + 1 for k, c in enumerate(chains) if c is not None)
            value = None if by is None else day.isoformat() if by == "day" else unit[0]
            for k in range(level):
                counts[value][k] += 1
            chain = chains[level - 1]
            for k in range(level - 1):
                gaps[value][k].append(_bucket((chain[k + 1] - chain[k]) // 1000))
    return {
        value: (
            counts[value],
            [statistics.median_low(g) if g else None for g in gaps[value]],
        )
        for value in counts
    }


def _matches(e: Truth, step: Step) -> bool:
    return e.event_type == step.event_type and (
        not step.event_name or e.event_name == step.event_name
    )


def _figures(result: funnel.Funnel) -> dict:
    return {
        row.value: (
            [s.entries for s in row.steps],
            [s.median_seconds for s in row.steps[1:]],
        )
        for row in result.rows
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, geo_db, migrated_template):
    w = world(tmp_path_factory.mktemp("funnel"), geo_db[0], template=migrated_template)
    sites = {channel: (key, channel) for channel, key in w.sites.items()}
    records, truth = _generate(random.Random(20240301), sites, w.landing, 1500)
    assert w.load(records) == len(records)
    store = w.store
    assert store.query("SELECT count() FROM events")[0][0] == len(records)
    rollup.refresh(store)
    yield store, truth
    store.close()


def test_the_generated_data_exercises_every_case(loaded):
    store, truth = loaded
    assert len(truth) > 2500
    assert {e.is_bot for e in truth} == {0, 1}
    stored = dict(store.query("SELECT is_bot, count() FROM events GROUP BY is_bot"))
    assert stored[1] == sum(e.is_bot for e in truth)
    provinces = {r[0] for r in store.query("SELECT DISTINCT province_code FROM events")}
    assert provinces == set(PLACES.values())
    # Landing visits keep their own visitor id: only stitching joins them to the click.
    assert (
        store.query("SELECT countIf(visitor_id LIKE 'lv%') FROM events WHERE event_type = 'visit'")[
            0
        ][0]
        > 100
    )


@pytest.mark.parametrize(
    ("window_s", "by"),
    [(HOUR, None), (HOUR, "channel"), (HOUR, "province_code"), (86_400, None), (60, None)],
)
def test_default_funnel_matches_brute_force(loaded, window_s, by):
    store, truth = loaded
    result = funnel.run(store, ALL_DAYS, window_seconds=window_s, by=by)
    expected = _brute(truth, DEFAULT_STEPS, window_s, ALL_DAYS, by)
    assert _figures(result) == expected
    for row in result.rows:
        first, *rest = row.steps
        assert first.conversion is None and first.overall == 1.0
        for prev, step in itertools.pairwise(row.steps):
            if prev.entries:
                assert step.conversion == pytest.approx(step.entries / prev.entries)
            assert step.overall == pytest.approx(step.entries / first.entries)
    assert [r.entered for r in result.rows] == sorted(
        (r.entered for r in result.rows), reverse=True
    )


WEEK = funnel_steps.DEFAULT_WINDOW_SECONDS


@pytest.mark.parametrize(
    "flt",
    [
        ALL_DAYS,
        Filter(ALL_DAYS.start, ALL_DAYS.end, channel=("forum",)),
        Filter(ALL_DAYS.start, ALL_DAYS.end, province_code=("440000", "110000")),
        Filter(date(2024, 3, 2), date(2024, 3, 2)),
    ],
)
@pytest.mark.parametrize("by", [None, "channel", "province_code", "day"])
def test_the_rollup_answers_what_the_events_answer(loaded, flt, by):
    store, truth = loaded
    expected = _brute(truth, DEFAULT_STEPS, WEEK, flt, by)
    raw = funnel.run(store, flt, by=by, source="raw")
    assert raw.source == "raw" and _figures(raw) == expected
    if (flt.channel and by == "province_code") or (flt.province_code and by == "channel"):
        assert funnel.run(store, flt, by=by).source == "raw"  # two dimensions: events only
        return
    rolled = funnel.run(store, flt, by=by)
    assert rolled.source == "rollup"
    assert _figures(rolled) == _figures(raw) == expected
    assert rolled.computed_at is not None
    click_order = (Step("click"), Step("order"))
    assert _figures(funnel.run(store, flt, click_order, by=by)) == _brute(
        truth, click_order, WEEK, flt, by
    )


def test_a_refresh_recomputes_only_days_whose_reach_changed(loaded):
    store, truth = loaded
    assert rollup.refresh(store) == []  # nothing arrived since the fixture's refresh
    sites = dict(store.query("SELECT channel, any(site_key) FROM events GROUP BY channel"))
    late = datetime(2024, 3, 9, 12, tzinfo=UTC)  # a late impression and click, Mar 9 local
    rows = [
        ["impression", late, "late-person", sites["forum"], "forum", "440000"],
        ["click", late + timedelta(minutes=5), "late-person", sites["forum"], "forum", "440000"],
    ]
    columns = ["event_type", "ts", "visitor_id", "site_key", "channel", "province_code"]
    store.insert_rows("events", rows, columns)
    try:
        # A day with events that was never computed: the rollup would miss it, so auto reads
        # the events until the next refresh.
        assert funnel.run(store, ALL_DAYS).source == "raw"
        [done] = [r for r in rollup.refresh(store) if r.funnel == "default"]
        # Mar 9 and the days whose chains reach it: 8 days before, those that have events.
        days = {d for (d,) in store.query("SELECT DISTINCT day FROM daily_counts")}
        assert done.days == tuple(sorted(d for d in days if date(2024, 3, 1) <= d))
        assert done.days[0] == date(2024, 3, 1) and done.days[-1] == date(2024, 3, 9)
        assert funnel.run(store, ALL_DAYS).source == "rollup"
        [row] = funnel.run(store, ALL_DAYS, source="rollup").rows
        [raw] = funnel.run(store, ALL_DAYS, source="raw").rows
        assert row == raw
        truth = [
            *truth,
            *(Truth("late-person", _ms(r[1]), r[0], "", "forum", "440000", 0) for r in rows),
        ]
        assert _figures(funnel.run(store, ALL_DAYS, source="rollup")) == _brute(
            truth, DEFAULT_STEPS, WEEK, ALL_DAYS
        )
        # Only the current computation of a day is read, and older ones are gone.
        [(kept,)] = store.query(
            "SELECT uniqExact(computed_at) FROM funnel_daily WHERE day = '2024-03-09'"
        )
        assert kept == 1
    finally:
        store.command("DELETE FROM events WHERE visitor_id = 'late-person'")
        rollup.refresh(store)


def test_questions_the_rollup_cannot_answer_read_the_events(loaded):
    store, _ = loaded
    for flt, steps, window, by in (
        (ALL_DAYS, DEFAULT_STEPS, HOUR, None),  # another window
        (Filter(ALL_DAYS.start, ALL_DAYS.end, tz="UTC"), DEFAULT_STEPS, WEEK, None),
        (Filter(ALL_DAYS.start, ALL_DAYS.end, include_bots=True), DEFAULT_STEPS, WEEK, None),
        (ALL_DAYS, DEFAULT_STEPS, WEEK, "hour"),
        (ALL_DAYS, DEFAULT_STEPS, WEEK, "os"),
        (ALL_DAYS, (Step("visit"), Step("order")), WEEK, None),
        (Filter(ALL_DAYS.start, ALL_DAYS.end, visitor="new"), DEFAULT_STEPS, WEEK, None),
    ):
        assert funnel.run(store, flt, steps, window_seconds=window, by=by).source == "raw"
        with pytest.raises(FilterError, match="rollup"):
            funnel.run(store, flt, steps, window_seconds=window, by=by, source="rollup")


def test_a_later_entry_day_takes_over_the_later_steps(loaded):
    """Seen on Monday and Tuesday, clicked and bought on Tuesday: Tuesday's entry converts;
    Monday's stops at its impression (the click and the order are not counted twice)."""
    store, _ = loaded
    monday = datetime(2024, 7, 1, 10, tzinfo=SHANGHAI).astimezone(UTC)
    tuesday = monday + timedelta(days=1)
    rows = [
        ["impression", monday, "twice", "twice-site"],
        ["impression", tuesday, "twice", "twice-site"],
        ["click", tuesday + timedelta(minutes=1), "twice", "twice-site"],
        ["visit", tuesday + timedelta(minutes=2), "twice", "twice-site"],
        ["order", tuesday + timedelta(minutes=9), "twice", "twice-site"],
    ]
    store.insert_rows("events", rows, ["event_type", "ts", "visitor_id", "site_key"])
    flt = Filter(date(2024, 7, 1), date(2024, 7, 2), site_key=("twice-site",))
    [row] = funnel.run(store, flt).rows
    assert [s.entries for s in row.steps] == [2, 1, 1, 1]
    by_day = {r.value: [s.entries for s in r.steps] for r in funnel.run(store, flt, by="day").rows}
    assert by_day == {"2024-07-01": [1, 0, 0, 0], "2024-07-02": [1, 1, 1, 1]}


def test_new_or_returning_is_decided_by_the_entry(loaded):
    """A person who visited within the look-back enters as returning; the later steps follow
    the entry whatever their own visitor ids."""
    store, _ = loaded
    start = datetime(2024, 8, 1, 10, tzinfo=SHANGHAI).astimezone(UTC)
    rows = [
        ["visit", start - timedelta(days=10), "back", "", "nr-site"],
        ["impression", start, "back", "", "nr-site"],
        ["click", start + timedelta(minutes=1), "back", "nr-c1", "nr-site"],
        ["visit", start + timedelta(minutes=2), "back-landing", "nr-c1", "nr-site"],
        ["order", start + timedelta(minutes=5), "back-landing", "nr-c1", "nr-site"],
        ["visit", start - timedelta(days=100), "lapsed", "", "nr-site"],
        ["impression", start, "lapsed", "", "nr-site"],
        ["click", start + timedelta(minutes=1), "lapsed", "nr-c2", "nr-site"],
        ["impression", start, "fresh", "", "nr-site"],
    ]
    store.insert_rows("events", rows, ["event_type", "ts", "visitor_id", "click_id", "site_key"])
    flt = Filter(date(2024, 8, 1), date(2024, 8, 1), site_key=("nr-site",))

    def entries(**kw) -> list[int]:
        [row] = funnel.run(store, dataclasses.replace(flt, **kw)).rows
        return [s.entries for s in row.steps]

    assert entries() == [3, 2, 1, 1]
    assert entries(visitor="returning") == [1, 1, 1, 1]
    assert entries(visitor="new") == [2, 1, 0, 0]
    assert entries(visitor="returning", returning_days=120) == [2, 2, 1, 1]
    by_kind = {
        r.value: [s.entries for s in r.steps] for r in funnel.run(store, flt, by="visitor").rows
    }
    assert by_kind == {"returning": [1, 1, 1, 1], "new": [2, 1, 0, 0]}


def test_no_step_is_reached_more_often_than_it_happened(loaded):
    store, truth = loaded
    [row] = funnel.run(store, ALL_DAYS, source="raw").rows
    happened = {t: sum(1 for e in truth if e.event_type == t and not e.is_bot) for t in _TYPES}
    for figures in row.steps:
        assert figures.entries <= happened[figures.step.event_type]


def test_stitching_matters(loaded):
    """Without joining landing ids to clicks, nobody would reach `visit` from an impression."""
    store, _ = loaded
    [row] = funnel.run(store, ALL_DAYS, window_seconds=86_400).rows
    assert row.steps[2].entries > 100 and row.steps[3].entries > 30


def test_custom_steps_with_an_event_name(loaded):
    store, truth = loaded
    steps = (Step("visit"), Step.parse("event:signup"), Step("order"))
    result = funnel.run(store, ALL_DAYS, steps, window_seconds=HOUR)
    assert _figures(result) == _brute(truth, steps, HOUR, ALL_DAYS)
    assert result.rows[0].steps[1].step.label == "event:signup"


def test_bots_are_left_out_unless_asked_for(loaded):
    store, truth = loaded
    with_bots = Filter(ALL_DAYS.start, ALL_DAYS.end, include_bots=True)
    result = funnel.run(store, with_bots, window_seconds=HOUR)
    assert _figures(result) == _brute(truth, DEFAULT_STEPS, HOUR, with_bots)
    without = funnel.run(store, ALL_DAYS, window_seconds=HOUR)
    assert result.rows[0].entered > without.rows[0].entered


def test_province_and_channel_filters(loaded):
    store, truth = loaded
    for flt in (
        Filter(ALL_DAYS.start, ALL_DAYS.end, province_code=("440000",)),
        Filter(ALL_DAYS.start, ALL_DAYS.end, channel=("forum",)),
        Filter(ALL_DAYS.start, ALL_DAYS.end, channel_type=("forum",)),
    ):
        brute_flt = Filter(flt.start, flt.end, province_code=flt.province_code)
        if flt.channel or flt.channel_type:
            brute_flt = Filter(flt.start, flt.end, channel=("forum",))
        result = funnel.run(store, flt, window_seconds=HOUR, by="province_code")
        assert _figures(result) == _brute(truth, DEFAULT_STEPS, HOUR, brute_flt, "province_code")
    result = funnel.run(
        store, Filter(ALL_DAYS.start, ALL_DAYS.end, province_code=("440000",)), by="province_code"
    )
    assert [r.value for r in result.rows] == ["440000"]


def test_a_day_in_shanghai_starts_at_its_midnight(loaded):
    store, truth = loaded
    day2 = Filter(date(2024, 3, 2), date(2024, 3, 2))
    start, end = day2.utc_range()
    assert start == datetime(2024, 3, 1, 16, tzinfo=UTC) and end - start == timedelta(days=1)
    near = [e for e in truth if abs(e.ms - _ms(start)) < 20 * 60_000]
    assert len(near) > 50  # visitors straddle the boundary
    result = funnel.run(store, day2, window_seconds=HOUR, by="channel")
    assert _figures(result) == _brute(truth, DEFAULT_STEPS, HOUR, day2, "channel")
    utc_day = Filter(date(2024, 3, 2), date(2024, 3, 2), tz="UTC")
    assert _figures(funnel.run(store, utc_day, window_seconds=HOUR)) == _brute(
        truth, DEFAULT_STEPS, HOUR, utc_day
    )


def test_a_day_dimension_follows_the_time_zone(loaded):
    store, _ = loaded
    days = [r.value for r in funnel.run(store, ALL_DAYS, by="day").rows]
    assert "2024-03-01" in days and all(d.startswith("2024-0") for d in days)
    hours = {r.value for r in funnel.run(store, ALL_DAYS, by="hour").rows}
    assert hours <= {str(h) for h in range(24)}


def test_hostile_values_are_just_values(loaded):
    store, _ = loaded
    hostile = "x' OR 1=1 --"
    for name in ("channel", "site_key", "province_code", "os", "channel_type"):
        flt = Filter(ALL_DAYS.start, ALL_DAYS.end, **{name: (hostile,)})
        assert funnel.run(store, flt).rows == ()
        sql, params = where(flt)
        assert hostile not in sql and hostile in params[name]
    steps = (Step("visit"), Step("event", hostile))
    [row] = funnel.run(store, ALL_DAYS, steps).rows
    assert row.steps[0].entries > 0 and row.steps[1].entries == 0
    with pytest.raises(FilterError):
        funnel.run(store, ALL_DAYS, by="channel) OR (1=1")
    with pytest.raises(FilterError):
        Step("visit' --")
    with pytest.raises(FilterError):
        Filter(ALL_DAYS.start, ALL_DAYS.end, tz="Asia/Shanghai'; --")
    assert store.query("SELECT count() FROM events")[0][0] > 2500


def test_the_query_text_is_stable_and_binds_every_value():
    flt = Filter(DAY1, DAY1, channel=("b", "a", "a"), province_code=("440000",))
    sql, params = funnel.build(flt, window_seconds=HOUR, by="channel")
    assert funnel.build(flt, window_seconds=HOUR, by="channel") == (sql, params)
    assert params["channel"] == ["a", "b"] and params["window_ms"] == HOUR * 1000
    assert "channel IN {channel:Array(String)}" in sql
    assert "arrayFold(" in sql and "{window_ms:UInt64}" in sql and "AS entry" in sql
    with pytest.raises(FilterError):
        funnel.build(flt, (Step("visit"),))


_TYPES = ["impression", "click", "visit", "order"]
# Per person, events as (seconds since their previous event, type): small gaps, so chains,
# ties (gap 0) and events exactly at the window's edge are all common.
_people = st.lists(
    st.lists(st.tuples(st.integers(0, 6), st.sampled_from(_TYPES)), min_size=1, max_size=12),
    min_size=1,
    max_size=3,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=_people,
    window_s=st.integers(1, 10),
    steps=st.permutations(_TYPES).flatmap(lambda p: st.integers(2, 4).map(lambda n: p[:n])),
)
def test_any_events_match_the_brute_force(loaded, people, window_s, steps):
    """Arbitrary orders, repeats and ties on a site of its own, against windowFunnel's walk."""
    store, _ = loaded
    site = f"prop{next(_SITES)}"
    start_at = (BASE + timedelta(days=100)).astimezone(UTC)  # outside ALL_DAYS
    truth = []
    for p, events in enumerate(people):
        t = _ms(start_at)
        for gap, event_type in events:
            t += gap * 1000
            truth.append(Truth(f"{site}-v{p}", t, event_type, "", "", "", 0))
    rows = [
        [e.event_type, start_at + timedelta(milliseconds=e.ms - _ms(start_at)), e.person, site]
        for e in truth
    ]
    store.insert_rows("events", rows, ["event_type", "ts", "visitor_id", "site_key"])
    flt = Filter(date(2024, 6, 9), date(2024, 6, 9), site_key=(site,))
    chosen = tuple(Step(s) for s in steps)
    result = funnel.run(store, flt, chosen, window_seconds=window_s)
    assert _figures(result) == _brute(truth, chosen, window_s, flt)


_SITES = itertools.count()
