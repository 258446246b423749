"""Daily ranking snapshots on the embedded engine: taken once per past day with traffic, equal
to the scoreboard of their window, and read back as a rank history."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.attribution import scoreboard
from app.attribution.filters import Filter, FilterError
from app.metrics import Metrics
from app.rollups import job as rollup_job
from app.rollups import rankings
from app.store.client import open_store
from app.store.migrate import migrate

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS = [date(2024, 3, 1) + timedelta(days=i) for i in range(10)]
COLUMNS = ["event_type", "ts", "visitor_id", "channel", "partner_id", "order_status", "amount"]


def _rows() -> list[list]:
    """Two partners, 40 clicks a day each: `rising` converts 1 in 40 for three days, then 1 in
    4; `steady` 1 in 20 throughout."""
    rows = []
    for n, day in enumerate(DAYS):
        noon = datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=12)
        for partner, orders in (("rising", 1 if n < 3 else 10), ("steady", 2)):
            for i in range(40):
                ts = (noon + timedelta(seconds=i)).astimezone(UTC)
                rows.append(["click", ts, f"{partner}-{n}-{i}", "forum", partner, "", 0])
            for i in range(orders):
                ts = (noon + timedelta(minutes=5, seconds=i)).astimezone(UTC)
                rows.append(["order", ts, f"{partner}-{n}-{i}", "forum", partner, "approved", 25])
    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = open_store(f"chdb://{tmp_path_factory.mktemp('rankings')}/clickhouse")
    migrate(store)
    store.insert_rows("events", _rows(), COLUMNS)
    yield store
    store.close()


def test_a_snapshot_is_taken_once_for_each_past_day_with_traffic(store):
    now = datetime(2024, 3, 10, 18, tzinfo=UTC)  # Mar 11, 02:00 in Shanghai
    assert rankings.take_due(store, now) == DAYS
    assert rankings.take_due(store, now) == []
    [(levels,)] = store.query("SELECT groupUniqArray(dim) FROM ranking_snapshots")
    assert set(levels) == set(rankings.LEVELS)


def test_each_snapshot_is_the_scoreboard_of_its_trailing_week(store):
    history = rankings.history(store, "partner_id", DAYS[0], DAYS[-1])
    points = {row["value"]: row["points"] for row in history["rows"]}
    assert set(points) == {"rising", "steady"} and all(len(p) == 10 for p in points.values())
    for i, day in enumerate(DAYS):
        flt = Filter(day - timedelta(days=rankings.WINDOW_DAYS - 1), day)
        board = {
            r["value"]: r for r in scoreboard.scoreboard_report(store, flt, "partner_id")["rows"]
        }
        for partner in ("rising", "steady"):
            point = points[partner][i]
            assert point["day"] == day.isoformat()
            assert (point["rank"], point["verdict"], point["orders"]) == (
                board[partner]["rank"], board[partner]["verdict"], board[partner]["orders"],
            )  # fmt: skip
    # The rising partner starts behind and ends a proven winner: the buyer's signal to shift.
    assert points["rising"][0]["rank"] == 2 and points["rising"][-1]["rank"] == 1
    assert points["rising"][-1]["verdict"] == "winner"
    assert history["rows"][0]["value"] == "rising"  # today's leader first


def test_history_is_validated(store):
    with pytest.raises(FilterError, match="kept for"):
        rankings.history(store, "os", DAYS[0], DAYS[-1])
    with pytest.raises(FilterError):
        rankings.history(store, "partner_id", DAYS[-1], DAYS[0])
    only = rankings.history(store, "partner_id", DAYS[0], DAYS[-1], ("steady",))
    assert [r["value"] for r in only["rows"]] == ["steady"]


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
        assert "adtrack_rollup_refreshes_total 1" in ticking.metrics.render()
    finally:
        rollup_job.FIRST_DELAY_S = ticking_first
        ticking.stop()
