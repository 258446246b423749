"""The common filter's bounds: a time zone both Python and the engine know, days the engine's
types hold, a sane span. Each refusal names its field; the edges run on the real engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.attribution import attribution, engagement, ranking, referral, traffic
from app.attribution.filters import (
    FIRST_DAY,
    LAST_DAY,
    MAX_SPAN_DAYS,
    Filter,
    FilterError,
    check_range,
)
from app.attribution.funnel_report import funnel_report
from app.store.client import Store, open_store
from app.store.migrate import migrate
from app.zones import ZONES, known_zone

DAY = date(2026, 3, 1)


@pytest.mark.parametrize("tz", ["A" * 300, "right/UTC", "posix/UTC", "localtime", "Factory",
                                "../etc/passwd", "Mars/Base", "", "asia/shanghai"])  # fmt: skip
def test_unknown_zones_are_refused_naming_tz(tz):
    with pytest.raises(FilterError) as refused:
        Filter(DAY, DAY, tz)
    assert refused.value.field == "tz"
    assert tz not in str(refused.value) or not tz  # not echoed


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(1, 1, 1), date(1, 1, 2), "start"),
        (date(1000, 1, 1), date(1000, 1, 2), "start"),
        (date(1969, 12, 31), DAY, "start"),
        (DAY, date(9999, 12, 31), "end"),
        (DAY, date(2106, 1, 1), "end"),
        (DAY, DAY - timedelta(days=1), "end"),
        (DAY, DAY + timedelta(days=MAX_SPAN_DAYS), "end"),
    ],
)
def test_asked_ranges_out_of_bounds_are_refused_naming_the_field(start, end, field):
    with pytest.raises(FilterError) as refused:
        Filter.asked(start, end)
    assert refused.value.field == field
    with pytest.raises(FilterError) as refused:
        check_range(start, end, ("compare_start", "compare_end"))
    assert refused.value.field == f"compare_{field}"


def test_the_model_itself_refuses_what_python_or_the_engine_cannot_hold():
    for start, end in [(date(1, 1, 1), DAY), (date(1000, 1, 1), DAY), (DAY, date(9999, 12, 31))]:
        with pytest.raises(FilterError):
            Filter(start, end)


def test_an_asked_range_at_the_edges_keeps_room_for_every_look_back():
    widest = Filter.asked(LAST_DAY - timedelta(days=MAX_SPAN_DAYS - 1), LAST_DAY)
    earliest = Filter.asked(FIRST_DAY, FIRST_DAY, returning_days=366)
    for flt in (widest, earliest):
        span = flt.end - flt.start + timedelta(days=1)
        # A previous period, then ten years of referral history before it.
        dataclasses.replace(flt, start=flt.start - span - timedelta(days=3660))


def test_the_allowed_zones_are_iana_names_only():
    assert known_zone("Asia/Shanghai") and known_zone("UTC") and known_zone("America/New_York")
    assert not any(z.startswith(("right/", "posix/")) for z in ZONES)
    assert not known_zone(None) and not known_zone(["UTC"])


# -- the real engine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = open_store(f"chdb://{Path(tmp_path_factory.mktemp('bounds')) / 'ch'}")
    migrate(opened)
    yield opened
    opened.close()


def test_every_allowed_zone_is_one_the_engine_knows(store):
    engine = {name for (name,) in store.query("SELECT time_zone FROM system.time_zones")}
    assert sorted(ZONES - engine) == []


@pytest.mark.parametrize(
    ("start", "end"),
    [(FIRST_DAY, FIRST_DAY + timedelta(days=1)),
     (LAST_DAY - timedelta(days=MAX_SPAN_DAYS - 1), LAST_DAY)],
)  # fmt: skip
def test_reports_at_the_edges_run_on_the_engine(store, start, end):
    flt = Filter.asked(start, end, tz="Pacific/Kiritimati", visitor="returning")
    traffic.traffic_report(store, flt, "day")
    funnel_report(store, flt, ("click", "order"), window_seconds=366 * 86400, by="hour")
    attribution.attribution_report(store, flt, "channel", ("last_click",), click_lookback_days=366)
    referral.referral_report(store, flt, 20)
    engagement.silence_report(store, flt, 366)
    ranking.scoreboard_report(store, flt, "channel", "conversion_rate", 0, "previous")
