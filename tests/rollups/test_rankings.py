"""Daily ranking snapshots on the embedded engine: taken once per past day with traffic, equal
to the scoreboard of their window and to ranks recomputed by hand from the raw rows, and read
back as a rank history."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.attribution import ranking, ranking_history
from app.attribution.filters import Filter, FilterError
from app.metrics import Metrics
from app.rollups import job as rollup_job
from app.rollups import rankings
from app.store.client import open_store
from app.store.migrate import migrate

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS = [date(2024, 3, 1) + timedelta(days=i) for i in range(10)]
COLUMNS = ["event_type", "ts", "visitor_id", "channel", "partner_id", "order_status", "amount",
           "click_id"]  # fmt: skip
# README: "snapshots the rollup job takes once a day (trailing 7 days up to the day before)".
WINDOW = 7
TINY_DAY = 7  # DAYS[7]: the day `tiny` has its few clicks


def _rows() -> list[list]:
    """Two partners, 40 clicks a day each: `rising` converts 1 in 40 for three days, then 1 in
    4; `steady` 1 in 20 throughout. `tiny` has 5 clicks and 4 orders on one day: the best
    interval's lower end, but too few clicks to rank before anyone."""
    rows = []
    for n, day in enumerate(DAYS):
        noon = datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=12)
        partners = [("rising", 40, 1 if n < 3 else 10), ("steady", 40, 2)]
        if n == TINY_DAY:
            partners.append(("tiny", 5, 4))
        for partner, clicks, orders in partners:
            for i in range(clicks):
                ts = (noon + timedelta(seconds=i)).astimezone(UTC)
                rows.append(["click", ts, f"{partner}-{n}-{i}", "forum", partner, "", 0,
                             f"{partner}-{n}-{i}"])  # fmt: skip
            for i in range(orders):
                ts = (noon + timedelta(minutes=5, seconds=i)).astimezone(UTC)
                # The order carries its click (issue 14: a rate counts clicks with an order).
                rows.append(["order", ts, f"{partner}-{n}-{i}", "forum", partner, "approved", 25,
                             f"{partner}-{n}-{i}"])  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = open_store(f"chdb://{tmp_path_factory.mktemp('rankings')}/clickhouse")
    migrate(store)
    store.insert_rows("events", _rows(), COLUMNS)
    yield store
    store.close()


def test_a_snapshot_is_taken_once_for_each_past_day_with_traffic(store):
    late = datetime(2024, 3, 10, 15, tzinfo=UTC)  # Mar 10, 23:00 in Shanghai: still today
    assert rankings.take_due(store, late) == DAYS[:-1]  # up to the day before
    now = datetime(2024, 3, 10, 18, tzinfo=UTC)  # Mar 11, 02:00 in Shanghai
    assert rankings.take_due(store, now) == [DAYS[-1]]
    assert rankings.take_due(store, now) == []
    [(levels,)] = store.query("SELECT groupUniqArray(dim) FROM ranking_snapshots")
    assert set(levels) == set(rankings.LEVELS)


def test_each_snapshot_is_the_scoreboard_of_its_trailing_week(store):
    history = ranking_history.history(store, "partner_id", DAYS[0], DAYS[-1])
    assert history["window_days"] == WINDOW
    points = {row["value"]: row["points"] for row in history["rows"]}
    assert set(points) == {"rising", "steady", "tiny"}
    assert len(points["rising"]) == len(points["steady"]) == 10
    assert [p["day"] for p in points["tiny"]] == [d.isoformat() for d in DAYS[TINY_DAY:]]
    for day in DAYS:
        flt = Filter(day - timedelta(days=WINDOW - 1), day)
        board = {r["value"]: r for r in ranking.scoreboard_report(store, flt, "partner_id")["rows"]}
        taken = {v: p for v, ps in points.items() for p in ps if p["day"] == day.isoformat()}
        assert set(taken) == set(board), day
        for partner, point in taken.items():
            assert (point["rank"], point["verdict"], point["orders"]) == (
                board[partner]["rank"], board[partner]["verdict"], board[partner]["orders"],
            )  # fmt: skip
    # The rising partner starts behind and ends a proven winner: the buyer's signal to shift.
    assert points["rising"][0]["rank"] == 2 and points["rising"][-1]["rank"] == 1
    assert points["rising"][-1]["verdict"] == "winner"
    assert history["rows"][0]["value"] == "rising"  # today's leader first


def _wilson(successes: int, trials: int) -> tuple[float, float]:
    """The 95% Wilson score interval, written out (z of the two-sided 95% normal interval)."""
    z = 1.959963984540054
    p = successes / trials
    centre = p + z * z / (2 * trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - half) / (1 + z * z / trials), (centre + half) / (1 + z * z / trials)


def test_one_days_snapshot_equals_ranks_computed_by_hand_from_the_raw_rows(store):
    """README's rule, from the rows this module inserted: the 7 days ending on the day (Asia/
    Shanghai days), conversion = orders / clicks with a 95% interval, rank by its lower end
    with fewer than 30 clicks after everyone, winner / loser against the pooled rate."""
    day = DAYS[TINY_DAY]
    first = day - timedelta(days=WINDOW - 1)  # Mar 2..Mar 8: Mar 1 is out
    rankings.take_due(store, datetime(2024, 3, 10, 18, tzinfo=UTC))  # when run alone
    clicks: Counter[str] = Counter()
    orders: Counter[str] = Counter()
    for event_type, ts, _visitor, _channel, partner, _status, _amount, _click in _rows():
        if first <= ts.astimezone(SHANGHAI).date() <= day:
            (clicks if event_type == "click" else orders)[partner] += 1
    assert clicks == {"rising": 280, "steady": 280, "tiny": 5}
    assert orders == {"rising": 52, "steady": 14, "tiny": 4}
    pooled = sum(orders.values()) / sum(clicks.values())
    bounds = {p: _wilson(orders[p], clicks[p]) for p in clicks}
    ranked = sorted(clicks, key=lambda p: (clicks[p] < 30, -bounds[p][0], -clicks[p], p))
    expected = {}
    for rank, partner in enumerate(ranked, start=1):
        low, high = bounds[partner]
        enough = clicks[partner] >= 30
        verdict = (
            "winner" if enough and low > pooled
            else "loser" if enough and high < pooled
            else "inconclusive" if enough
            else "not_enough_data"
        )  # fmt: skip
        expected[partner] = (rank, verdict, clicks[partner], orders[partner])
    # The case the rule is for: tiny's lower end is the best, and it still ranks last.
    assert bounds["tiny"][0] > bounds["rising"][0]
    assert expected == {
        "rising": (1, "winner", 280, 52),
        "steady": (2, "loser", 280, 14),
        "tiny": (3, "not_enough_data", 5, 4),
    }
    history = ranking_history.history(store, "partner_id", day, day)
    got = {
        row["value"]: (p["rank"], p["verdict"], p["clicks"], p["orders"])
        for row in history["rows"]
        for p in row["points"]
    }
    assert got == expected
    rates = {
        row["value"]: row["points"][0]["conversion_rate"] for row in history["rows"]
    }  # fmt: skip
    assert rates == pytest.approx({p: orders[p] / clicks[p] for p in clicks})


def test_history_is_validated(store):
    with pytest.raises(FilterError, match="kept for"):
        ranking_history.history(store, "os", DAYS[0], DAYS[-1])
    with pytest.raises(FilterError):
        ranking_history.history(store, "partner_id", DAYS[-1], DAYS[0])
    only = ranking_history.history(store, "partner_id", DAYS[0], DAYS[-1], ("steady",))
    assert [r["value"] for r in only["rows"]] == ["steady"]


def _refreshes(metrics_text: str) -> int:
    match = re.search(r"^adtrack_rollup_refreshes_total (\d+)$", metrics_text, re.M)
    assert match, "no adtrack_rollup_refreshes_total"
    return int(match.group(1))


def test_the_job_refreshes_on_its_interval_and_on_demand(store):
    store.command("TRUNCATE TABLE funnel_days")
    store.command("TRUNCATE TABLE funnel_daily")
    job = rollup_job.RollupJob(store, Metrics(), interval_s=0).start()  # on demand only
    try:
        time.sleep(0.3)
        assert job.last_run == 0.0 and not store.query("SELECT * FROM funnel_days")
        done = job.refresh_now()
        assert {r.funnel for r in done} == {"default", "click_order"}
        assert job.last_error == "" and job.last_run > 0
    finally:
        job.stop()
    store.command("TRUNCATE TABLE funnel_days")
    ticking = rollup_job.RollupJob(store, Metrics(), interval_s=0.2)
    ticking_first = rollup_job.FIRST_DELAY_S
    rollup_job.FIRST_DELAY_S = 0.1
    try:
        ticking.start()
        deadline = time.monotonic() + 30
        while not ticking.last_run and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.query("SELECT count() FROM funnel_days")[0][0] > 0
        # The job keeps ticking every 0.2 s: the counter is at least 1 now, and grows.
        first = _refreshes(ticking.metrics.render())
        assert first >= 1
        while _refreshes(ticking.metrics.render()) == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _refreshes(ticking.metrics.render()) > first
    finally:
        rollup_job.FIRST_DELAY_S = ticking_first
        ticking.stop()


def test_snapshots_taken_before_inconclusive_existed_read_as_today(store):
    """An old snapshot with enough clicks and neither winner nor loser said
    `not_enough_data`; the history reads it `inconclusive`, as a snapshot taken today says.
    Rows under the 30-click minimum, winners and losers keep their verdicts."""
    day = date(2023, 1, 1)  # no traffic, no other snapshot: only these rows
    computed = datetime(2023, 1, 2, tzinfo=UTC)
    rows = [
        [day, WINDOW, "creative_id", value, rank, verdict, 0, clicks, orders, orders / clicks,
         0.0, 1.0, 0, None, computed]
        for rank, (value, verdict, clicks, orders) in enumerate([
            ("search", "winner", 1000, 60), ("portal", "not_enough_data", 92, 3),
            ("edge", "not_enough_data", 30, 1), ("download", "loser", 1000, 10),
            ("campus", "not_enough_data", 29, 2),
        ], start=1)
    ]  # fmt: skip
    store.insert_rows("ranking_snapshots", rows, rankings._COLUMNS)
    history = ranking_history.history(store, "creative_id", day, day)
    got = {row["value"]: row["points"][0]["verdict"] for row in history["rows"]}
    assert got == {
        "search": "winner",
        "portal": "inconclusive",
        "edge": "inconclusive",
        "download": "loser",
        "campus": "not_enough_data",
    }
