"""Which categories an area's collection takes on a date: the weekly / 第n曜日 rules of area_days.csv, the
centre's 年末年始 pause (center.csv) and the one-day exceptions (calendar_exceptions.csv)."""

from __future__ import annotations

import datetime as dt
import unicodedata

from garbage.model import ALL, Area, Dataset

WEEKDAYS = "月火水木金土日"  # datetime.weekday() order


def rule_matches(rule: str, day: dt.date) -> bool:
    """``月 木`` every Monday and Thursday, ``水2 水4`` the 2nd and 4th Wednesday, ``20270104`` that date, and an
    optional ``:4 5 6`` suffix restricting the rule to those months."""
    rule = unicodedata.normalize("NFKC", rule).strip()
    days, _, months = rule.partition(":")
    if months.strip() and str(day.month) not in months.split():
        return False
    for token in days.split():
        if token.isdigit():
            if token == day.strftime("%Y%m%d"):
                return True
        elif WEEKDAYS.index(token[0]) == day.weekday():
            if len(token) == 1 or int(token[1:]) == (day.day - 1) // 7 + 1:
                return True
    return False


def _paused(ds: Dataset, area: Area, day: dt.date) -> bool:
    iso = day.isoformat()
    return any(c.name == area.center and c.pause_start <= iso <= c.pause_end for c in ds.centers)


def collected(ds: Dataset, area: Area, day: dt.date) -> list[str]:
    """Category labels collected in ``area`` on ``day``, in the order of the area's columns."""
    iso = day.isoformat()
    mine = [e for e in ds.exceptions if e.area in (ALL, area.name)]
    out: list[str] = []
    if not _paused(ds, area, day):
        for label, rule in area.rules:
            if rule_matches(rule, day):
                out.append(label)
    for e in mine:
        if e.date == iso and e.action in ("休止", "振替"):
            out = [c for c in out if e.category not in (ALL, c)]
    for e in mine:
        extra = (e.action == "臨時" and e.date == iso) or (e.action == "振替" and e.moved_to == iso)
        if extra:
            labels = [label for label, _ in area.rules] if e.category == ALL else [e.category]
            out += [c for c in labels if c not in out]
    order = {label: n for n, (label, _) in enumerate(area.rules)}
    return sorted(out, key=lambda c: order.get(c, len(order)))


def notes(ds: Dataset, area: Area, day: dt.date) -> list[str]:
    """Reasons of the exceptions and pauses that change ``day`` for the area (shown with the answer)."""
    iso = day.isoformat()
    out = [e.reason for e in ds.exceptions if e.area in (ALL, area.name) and iso in (e.date, e.moved_to) and e.reason]
    if _paused(ds, area, day):
        out.insert(0, "年末年始のため収集はお休みです")
    return out


def next_day(ds: Dataset, area: Area, category: str, start: dt.date, horizon: int = 62) -> dt.date | None:
    """The first date on or after ``start`` when ``category`` is collected in the area."""
    for n in range(horizon):
        day = start + dt.timedelta(days=n)
        if category in collected(ds, area, day):
            return day
    return None
