"""Quiet hours: a resident's local span in which only emergencies are pushed (alerts) and routine reminders wait
(garbage). One implementation for every room; it may wrap midnight (22:00-07:00) and is stored as
``start-end-timezone`` (``22:00-07:00-Asia/Tokyo``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class QuietHours:
    start: str = "22:00"
    end: str = "07:00"
    timezone: str = "Asia/Tokyo"

    def contains(self, now: dt.datetime) -> bool:
        """Whether ``now`` falls inside the span, read on the window's own clock. An aware time is converted to
        ``timezone``; a naive one is taken as already local there. ``start == end`` is an empty window."""
        local = now.astimezone(ZoneInfo(self.timezone)) if now.tzinfo is not None else now
        minute = local.hour * 60 + local.minute
        s, e = _minutes(self.start), _minutes(self.end)
        if s == e:
            return False
        return s <= minute < e if s < e else minute >= s or minute < e

    def encode(self) -> str:
        return f"{self.start}-{self.end}-{self.timezone}"

    @classmethod
    def decode(cls, raw: str) -> QuietHours | None:
        if not raw:
            return None
        start, end, tz = raw.split("-", 2)
        return cls(start, end, tz)
