"""Collection days: weekly and 第n曜日 rules, month limits, the centre's 年末年始 pause, holiday exceptions."""

from __future__ import annotations

import datetime as dt

from garbage.calendar import collected, next_day, notes, rule_matches
from garbage.model import Area, CalendarException, Center, Dataset


def test_rules():
    wed = dt.date(2027, 1, 13)  # 2nd Wednesday
    assert rule_matches("水", wed) and rule_matches("水2 水4", wed) and not rule_matches("水1 水3", wed)
    assert rule_matches("20270113", wed) and not rule_matches("20270114", wed)
    assert rule_matches("水2:1 2", wed) and not rule_matches("水2:4 5", wed)
    assert rule_matches("金5", dt.date(2027, 1, 29)) and not rule_matches("金4", dt.date(2027, 1, 29))


def _ds() -> Dataset:
    area = Area("A地区（本町）", "東", (("燃やすごみ", "月 木"), ("燃やさないごみ", "月2")))
    return Dataset(areas=[area], centers=[Center("東", "2026-12-31", "2027-01-03")], exceptions=[
        CalendarException("2027-01-11", "*", "燃やさないごみ", "休止", "", "成人の日"),
        CalendarException("2027-01-04", "*", "燃やさないごみ", "臨時", "", "年始の臨時収集"),
        CalendarException("2027-01-14", "A地区（本町）", "燃やすごみ", "振替", "2027-01-16", "点検"),
    ])


def test_pause_and_exceptions():
    ds = _ds()
    a = ds.areas[0]
    assert collected(ds, a, dt.date(2026, 12, 28)) == ["燃やすごみ"]
    assert collected(ds, a, dt.date(2026, 12, 31)) == []  # Thursday, but 年末年始
    assert "年末年始" in notes(ds, a, dt.date(2026, 12, 31))[0]
    assert collected(ds, a, dt.date(2027, 1, 4)) == ["燃やすごみ", "燃やさないごみ"]  # 臨時 on a Monday
    assert collected(ds, a, dt.date(2027, 1, 11)) == ["燃やすごみ"]  # 2nd Monday is a holiday for 燃やさないごみ
    assert collected(ds, a, dt.date(2027, 1, 14)) == [] and collected(ds, a, dt.date(2027, 1, 16)) == ["燃やすごみ"]
    assert next_day(ds, a, "燃やさないごみ", dt.date(2027, 1, 5)) == dt.date(2027, 2, 8)
    assert a.towns() == ("本町",)


def test_demo_year_end(demo_ds):
    area = demo_ds.areas[0]
    assert "燃やすごみ" in collected(demo_ds, area, dt.date(2026, 12, 28))
    assert collected(demo_ds, area, dt.date(2026, 12, 31)) == []  # a Thursday of 燃やすごみ, paused
    assert collected(demo_ds, area, dt.date(2027, 1, 4)) == ["燃やすごみ"]
