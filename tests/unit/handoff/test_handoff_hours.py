"""Office hours: open/closed, the cut-off for new consultations, holidays, time zones, overnight spans."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.config import OfficeHours
from handoff.hours import describe_hours, format_when, hours_status

JST = ZoneInfo("Asia/Tokyo")
WEEKDAYS = {d: "09:00-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}
OH = OfficeHours(weekly=WEEKDAYS, cutoff_minutes=30, holidays=[dt.date(2026, 12, 29)])


def jst(y, m, d, hh, mm) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=JST)


@pytest.mark.parametrize(
    ("now", "open_now", "accepting"),
    [
        (jst(2026, 11, 25, 10, 0), True, True),  # Wednesday morning
        (jst(2026, 11, 25, 16, 59), True, True),
        (jst(2026, 11, 25, 17, 0), True, False),  # within the 30-minute cut-off
        (jst(2026, 11, 25, 17, 30), False, False),
        (jst(2026, 11, 25, 8, 59), False, False),
        (jst(2026, 11, 28, 10, 0), False, False),  # Saturday
        (jst(2026, 12, 29, 10, 0), False, False),  # holiday on a Tuesday
    ],
)
def test_open_and_accepting(now, open_now, accepting):
    status = hours_status(OH, now)
    assert (status.open_now, status.accepting) == (open_now, accepting)


def test_next_open_skips_weekend_and_holiday():
    assert hours_status(OH, jst(2026, 11, 27, 17, 10)).next_open == jst(2026, 11, 30, 9, 0)  # Fri after cut-off → Mon
    assert hours_status(OH, jst(2026, 12, 28, 18, 0)).next_open == jst(2026, 12, 30, 9, 0)  # Mon evening, Tue holiday
    assert hours_status(OH, jst(2026, 11, 25, 7, 0)).next_open == jst(2026, 11, 25, 9, 0)
    assert hours_status(OH, jst(2026, 11, 25, 10, 0)).next_open is None  # accepting now


def test_now_in_utc_is_read_in_the_tenant_zone():
    # 2026-11-25 00:30 UTC = 09:30 JST Wednesday: open, although it is "night" in UTC
    status = hours_status(OH, dt.datetime(2026, 11, 25, 0, 30, tzinfo=dt.UTC))
    assert status.accepting and status.closes_at == jst(2026, 11, 25, 17, 30)
    with pytest.raises(ValueError):
        hours_status(OH, dt.datetime(2026, 11, 25, 0, 30))


def test_overnight_span():
    oh = OfficeHours(weekly={"fri": "20:00-02:00"}, cutoff_minutes=15)
    assert hours_status(oh, jst(2026, 11, 28, 1, 0)).accepting  # Saturday 01:00 belongs to Friday's span
    assert not hours_status(oh, jst(2026, 11, 28, 1, 50)).accepting
    assert hours_status(oh, jst(2026, 11, 28, 1, 50)).open_now


def test_no_hours_means_never_open():
    status = hours_status(OfficeHours(), jst(2026, 11, 25, 10, 0))
    assert (status.open_now, status.accepting, status.next_open) == (False, False, None)


def test_descriptions():
    assert describe_hours(OH) == "月〜金 09:00〜17:30（休業日を除く）"
    now = jst(2026, 11, 27, 18, 0)
    assert format_when(jst(2026, 11, 28, 9, 0), now) == "明日 09:00"
    assert format_when(jst(2026, 11, 30, 9, 0), now) == "11月30日（月）09:00"


ROUND_THE_CLOCK = OfficeHours(weekly={d: "00:00-00:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, cutoff_minutes=30)


@pytest.mark.parametrize("now", [jst(2026, 11, 25, 23, 45), jst(2026, 11, 29, 23, 59), jst(2026, 11, 30, 0, 0), jst(2026, 11, 25, 12, 0)])
def test_round_the_clock_has_no_cutoff_at_midnight(now):
    status = hours_status(ROUND_THE_CLOCK, now)
    assert (status.open_now, status.accepting) == (True, True)


def test_cutoff_applies_to_the_end_of_joined_spans():
    # Fri 00:00 → Sat 00:00 → Sun 00:00 (Sun closed): the cut-off is Saturday 23:30, not every midnight
    oh = OfficeHours(weekly={"fri": "00:00-00:00", "sat": "00:00-00:00"}, cutoff_minutes=30)
    assert hours_status(oh, jst(2026, 11, 27, 23, 50)).accepting
    late = hours_status(oh, jst(2026, 11, 28, 23, 40))
    assert (late.open_now, late.accepting, late.closes_at) == (True, False, jst(2026, 11, 29, 0, 0))


def test_describe_round_the_clock():
    assert describe_hours(ROUND_THE_CLOCK) == "毎日 24時間"
    assert describe_hours(OfficeHours(weekly={"sat": "09:00-09:00"})) == "土 09:00〜翌09:00"
