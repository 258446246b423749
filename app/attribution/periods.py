"""The days a report covers, as people say them: `start`/`end`, `last=7d`, `month=2026-11` or
`yesterday`, resolved here, in one place, in the report's time zone.

Exactly one form is given: two forms (or `last` beside `start`) are refused naming both, none
is refused naming `start`. "Today" is the day `now` falls on in the report's zone, so a
Shanghai report asked for `yesterday` at 00:30 local time (16:30 UTC the day before) gets the
Shanghai day before, not UTC's. `now` is passed in: the faces pass the clock, tests a fixed
moment.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.attribution.filters import FIRST_DAY, LAST_DAY, MAX_SPAN_DAYS, FilterError
from app.zones import ZONE_HINT, known_zone

_LAST = re.compile(r"(\d{1,5})d")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def resolve(
    *,
    start: date | None = None,
    end: date | None = None,
    last: str | None = None,
    month: str | None = None,
    yesterday: bool = False,
    tz: str,
    now: datetime,
) -> tuple[date, date]:
    """(start, end), inclusive local days, from the one form given (FilterError naming the
    field at fault).

    - `start` and `end`: as given (both needed);
    - `last="7d"`: the 7 whole days before today (today's figures are still coming in, and a
      previous period of the same length then compares whole days with whole days);
    - `month="2026-11"`: that calendar month, first to last day;
    - `yesterday`: the day before today.
    """
    # The forms given, start/end first: a refusal names the second one.
    forms = ["start" if start is not None else "end"] if (start, end) != (None, None) else []
    forms += [name for name, value in (("last", last), ("month", month)) if value]
    if yesterday:
        forms.append("yesterday")
    if len(forms) > 1:
        raise FilterError(
            f"give the days one way, not {' and '.join(forms)}: start and end, last, month or "
            "yesterday",
            forms[1],
        )
    if not forms:
        raise FilterError("give the days: start and end, last (7d), month (2026-11) or yesterday",
                          "start")  # fmt: skip
    if forms in (["start"], ["end"]):
        if start is None or end is None:
            missing, other = ("start", "end") if start is None else ("end", "start")
            raise FilterError(f"{missing} is required with {other}", missing)
        return start, end
    if not known_zone(tz):
        raise FilterError(ZONE_HINT, "tz")
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)  # a naive clock reads UTC
    today = moment.astimezone(ZoneInfo(tz)).date()
    if forms == ["yesterday"]:
        day = today - timedelta(days=1)
        return day, day
    if forms == ["last"]:
        return _last(str(last), today)
    return _month(str(month))


def _last(text: str, today: date) -> tuple[date, date]:
    match = _LAST.fullmatch(text.strip())
    days = int(match.group(1)) if match else 0
    if not 1 <= days <= MAX_SPAN_DAYS:
        raise FilterError(f"last must be a number of days from 1d to {MAX_SPAN_DAYS}d, e.g. 7d",
                          "last")  # fmt: skip
    return today - timedelta(days=days), today - timedelta(days=1)


def _month(text: str) -> tuple[date, date]:
    match = _MONTH.fullmatch(text.strip())
    year, number = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not (FIRST_DAY.year <= year <= LAST_DAY.year and 1 <= number <= 12):
        raise FilterError(
            f"month must be YYYY-MM from {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m}, e.g. 2026-11",
            "month",
        )
    first = date(year, number, 1)
    following = (first + timedelta(days=31)).replace(day=1)
    return first, following - timedelta(days=1)
