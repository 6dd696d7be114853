"""Office hours: is the consultation service open, does it still take new consultations (cut-off), when does it open.

Spans come from ``bot.config.OfficeHours`` (weekday → "HH:MM-HH:MM" in the tenant's timezone). A span whose end is
not after its start runs past midnight ("22:00-02:00"). A holiday closes the spans that *start* on that date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot import i18n
from bot.config import WEEKDAYS, OfficeHours

WEEKDAY_JA = ("月", "火", "水", "木", "金", "土", "日")


@dataclass(frozen=True)
class HoursStatus:
    open_now: bool  # counsellors are on duty now
    accepting: bool  # open and before the cut-off for new consultations
    closes_at: dt.datetime | None  # end of the current span (tenant timezone)
    next_open: dt.datetime | None  # start of the next span that accepts consultations (None: no hours configured)


def _spans_starting(oh: OfficeHours, day: dt.date, tz: ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
    if day in oh.holidays:
        return []
    span = oh.weekly.get(WEEKDAYS[day.weekday()])
    if not span:
        return []
    a, b = span.split("-")
    start_t = dt.time(int(a[:2]), int(a[3:]))
    end_t = dt.time(int(b[:2]), int(b[3:]))
    start = dt.datetime.combine(day, start_t, tz)
    end = dt.datetime.combine(day, end_t, tz)
    if end <= start:
        end += dt.timedelta(days=1)
    return [(start, end)]


def _continued_end(oh: OfficeHours, end: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Follow spans that start exactly where the previous one ends (24/7 = seven "00:00-00:00" days): the cut-off
    belongs to the real closing time, not to every midnight."""
    for _ in range(8):
        follow = [e for s, e in _spans_starting(oh, end.date(), tz) if s == end and e > end]
        if not follow:
            break
        end = follow[0]
    return end


def hours_status(oh: OfficeHours, now: dt.datetime) -> HoursStatus:
    """``now`` must be timezone-aware (any zone); the answer's datetimes are in the tenant's zone."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = ZoneInfo(oh.timezone)
    local = now.astimezone(tz)
    cutoff = dt.timedelta(minutes=oh.cutoff_minutes)
    open_now, accepting, closes_at = False, False, None
    for offset in (-1, 0):
        for start, end in _spans_starting(oh, local.date() + dt.timedelta(days=offset), tz):
            if start <= local < end:
                end = _continued_end(oh, end, tz)
                open_now, closes_at = True, end
                accepting = local < end - cutoff
    next_open = None
    if not accepting:
        for offset in range(0, 15):
            for start, end in _spans_starting(oh, local.date() + dt.timedelta(days=offset), tz):
                if start > local and end - cutoff > start:
                    next_open = start
                    break
            if next_open:
                break
    return HoursStatus(open_now=open_now, accepting=accepting, closes_at=closes_at, next_open=next_open)


def describe_hours(oh: OfficeHours, language: str = "ja") -> str:
    """「月〜金 09:00-17:30（祝日・休業日を除く）」: consecutive weekdays with the same span are grouped.

    Words from the catalogue (``handoff.*``) in ``language`` (already resolved for the tenant)."""

    def t(key: str, **kw: str) -> str:
        return i18n.t(f"handoff.{key}", language, **kw)

    if not oh.weekly:
        return t("no_hours")
    names = t("weekdays").split(",")
    groups: list[tuple[int, int, str]] = []
    for i, day in enumerate(WEEKDAYS):
        span = oh.weekly.get(day)
        if not span:
            continue
        if groups and groups[-1][1] == i - 1 and groups[-1][2] == span:
            groups[-1] = (groups[-1][0], i, span)
        else:
            groups.append((i, i, span))
    parts = []
    for a, b, span in groups:
        days = t("every_day") if (a, b) == (0, 6) else names[a] if a == b else t("day_range", a=names[a], b=names[b])
        start, end = span.split("-")
        hours = t("all_day") if start == end == "00:00" else t("overnight" if end == start else "span", start=start, end=end)
        parts.append(f"{days} {hours}")
    text = t("list_sep").join(parts)
    if oh.holidays:
        text += t("except_closed")
    return text


def format_when(when: dt.datetime, now: dt.datetime, language: str = "ja") -> str:
    """「今日 09:00」「明日 09:00」「12月1日（火）09:00」 (in ``language``, from the catalogue)."""
    local_now = now.astimezone(when.tzinfo)
    days = (when.date() - local_now.date()).days
    hm = when.strftime("%H:%M")
    if days in (0, 1):
        return i18n.t("handoff.today" if days == 0 else "handoff.tomorrow", language, hm=hm)
    weekday = i18n.t("handoff.weekdays", language).split(",")[when.weekday()]
    return i18n.t("handoff.date", language, month=str(when.month), day=str(when.day), weekday=weekday, hm=hm)
