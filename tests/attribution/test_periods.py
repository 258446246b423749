"""The days a report covers as people say them (app/attribution/periods.py): `last`, `month`
and `yesterday` resolved in the report's zone from a fixed "now", around local midnight, and
every way of giving the days twice or not at all refused naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.attribution.filters import FilterError
from app.attribution.periods import resolve

SH = "Asia/Shanghai"
# 00:30 on 8 December in Shanghai is still 7 December in UTC.
AFTER_MIDNIGHT = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
# 23:59:59 on 7 December in Shanghai.
BEFORE_MIDNIGHT = datetime(2026, 12, 7, 15, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "form", "days"),
    [
        (AFTER_MIDNIGHT, {"yesterday": True}, (date(2026, 12, 7), date(2026, 12, 7))),
        (BEFORE_MIDNIGHT, {"yesterday": True}, (date(2026, 12, 6), date(2026, 12, 6))),
        (AFTER_MIDNIGHT, {"last": "7d"}, (date(2026, 12, 1), date(2026, 12, 7))),
        (BEFORE_MIDNIGHT, {"last": "7d"}, (date(2026, 11, 30), date(2026, 12, 6))),
        (AFTER_MIDNIGHT, {"last": "1d"}, (date(2026, 12, 7), date(2026, 12, 7))),
        (AFTER_MIDNIGHT, {"month": "2026-11"}, (date(2026, 11, 1), date(2026, 11, 30))),
        (AFTER_MIDNIGHT, {"month": "2024-02"}, (date(2024, 2, 1), date(2024, 2, 29))),
        (AFTER_MIDNIGHT, {"month": "2026-12"}, (date(2026, 12, 1), date(2026, 12, 31))),
        (
            AFTER_MIDNIGHT,
            {"start": date(2026, 1, 2), "end": date(2026, 1, 3)},
            (date(2026, 1, 2), date(2026, 1, 3)),
        ),
    ],
)
def test_each_form_resolves_in_shanghai_around_midnight(now, form, days):
    assert resolve(**form, tz=SH, now=now) == days


def test_the_zone_decides_which_day_today_is():
    # The same moment is 8 December in Shanghai and 7 December in UTC and New York.
    assert resolve(yesterday=True, tz="UTC", now=AFTER_MIDNIGHT) == (date(2026, 12, 6),) * 2
    assert (
        resolve(yesterday=True, tz="America/New_York", now=AFTER_MIDNIGHT)
        == (date(2026, 12, 6),) * 2
    )


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "start"),
        ({"end": date(2026, 1, 1)}, "start"),
        ({"start": date(2026, 1, 1)}, "end"),
        ({"start": date(2026, 1, 1), "end": date(2026, 1, 2), "last": "7d"}, "last"),
        ({"start": date(2026, 1, 1), "month": "2026-11"}, "month"),
        ({"end": date(2026, 1, 1), "yesterday": True}, "yesterday"),
        ({"last": "7d", "month": "2026-11"}, "month"),
        ({"month": "2026-11", "yesterday": True}, "yesterday"),
        ({"last": "7"}, "last"),
        ({"last": "0d"}, "last"),
        ({"last": "1w"}, "last"),
        ({"last": "99999d"}, "last"),
        ({"month": "2026-13"}, "month"),
        ({"month": "2026-1"}, "month"),
        ({"month": "9999-12"}, "month"),
        ({"yesterday": True, "tz": "Mars/Base"}, "tz"),
    ],
)
def test_the_days_are_given_exactly_one_way(form, field):
    tz = form.pop("tz", SH)
    with pytest.raises(FilterError) as refused:
        resolve(**form, tz=tz, now=AFTER_MIDNIGHT)
    assert refused.value.field == field


@given(
    now=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
    days=st.integers(1, 400),
    tz=st.sampled_from([SH, "UTC", "America/New_York", "Pacific/Kiritimati"]),
)
def test_last_is_n_whole_days_ending_the_local_day_before(now, days, tz):
    start, end = resolve(last=f"{days}d", tz=tz, now=now)
    today = now.astimezone(ZoneInfo(tz)).date()
    assert end == today - timedelta(days=1) == resolve(yesterday=True, tz=tz, now=now)[1]
    assert (end - start).days + 1 == days


@given(year=st.integers(1970, 2105), month=st.integers(1, 12))
def test_a_month_is_its_first_to_its_last_day(year, month):
    start, end = resolve(month=f"{year:04d}-{month:02d}", tz=SH, now=AFTER_MIDNIGHT)
    assert start == date(year, month, 1)
    assert (end + timedelta(days=1)).day == 1 and end.month == month
