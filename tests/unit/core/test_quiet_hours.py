"""Quiet hours: one implementation in the core (bot.quiet) that alerts and garbage both use."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import alerts.subscriptions
import garbage
from bot.quiet import QuietHours
from garbage import MemoryReminderStore, Reminder

TOKYO = ZoneInfo("Asia/Tokyo")


def test_both_rooms_use_the_core_quiet_hours():
    assert alerts.subscriptions.QuietHours is QuietHours
    assert garbage.QuietHours is QuietHours
    assert not hasattr(garbage, "QuietWindow")


def test_a_window_may_wrap_midnight_and_an_empty_one_holds_nothing():
    night = QuietHours("22:00", "07:00")
    at = lambda h, m=0: dt.datetime(2027, 1, 7, h, m, tzinfo=TOKYO)  # noqa: E731
    assert [night.contains(at(h, m)) for h, m in ((21, 59), (22, 0), (3, 0), (6, 59), (7, 0), (12, 0))] == [
        False, True, True, True, False, False,
    ]
    day = QuietHours("09:00", "17:30")
    assert (day.contains(at(9)), day.contains(at(17, 29)), day.contains(at(17, 30)), day.contains(at(8, 59))) == (True, True, False, False)
    assert not QuietHours("08:00", "08:00").contains(at(8))


def test_aware_times_are_read_on_the_windows_clock_and_naive_ones_as_local():
    night = QuietHours("22:00", "07:00", "Asia/Tokyo")
    assert night.contains(dt.datetime(2027, 1, 7, 14, 0, tzinfo=dt.UTC))  # 23:00 in Tokyo
    assert not night.contains(dt.datetime(2027, 1, 7, 3, 0, tzinfo=dt.UTC))  # 12:00 in Tokyo
    assert night.contains(dt.datetime(2027, 1, 7, 23, 0)) and not night.contains(dt.datetime(2027, 1, 7, 14, 0))


def test_encoding_round_trips():
    q = QuietHours("21:30", "06:15", "Asia/Tokyo")
    assert q.encode() == "21:30-06:15-Asia/Tokyo" and QuietHours.decode(q.encode()) == q
    assert QuietHours.decode("") is None


async def test_garbage_reminders_respect_quiet_hours_given_a_utc_clock():
    """garbage's former QuietWindow ignored the time zone: 11:00 UTC (20:00 in Tokyo) was read as 11:00."""
    store = MemoryReminderStore()
    await store.save(Reminder("t", "Uq", "北", ("燃やすごみ",), quiet=QuietHours("19:00", "08:00")))
    await store.save(Reminder("t", "Ua", "北", ("燃やすごみ",)))
    groups = await store.resolve("t", "2027-01-07", "eve", {"北": ["燃やすごみ"]}, dt.datetime(2027, 1, 7, 11, 0, tzinfo=dt.UTC))
    members = [m for g in groups async for batch in store.members("t", g.handle) for m in batch]
    assert members == [("Ua", "ja")]
