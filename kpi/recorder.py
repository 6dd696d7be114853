"""The KPI recording port: rooms report *that* something happened, never *what was said* or *who said it*.

Every method takes a tenant id and a few labels (category, kind, area code, language) and bumps daily counters.
The port has no parameter that could carry a message body or a LINE user id, so the dashboard and the open-data
files cannot leak them: privacy is enforced by the shape of the API, and ``kpi.aggregate`` then hides small counts.

Storage (Redis adapter), one hash per tenant and day in the tenant's timezone (Asia/Tokyo):

* ``cb:{<tenant>}:kpi:day:<YYYY-MM-DD>`` — counters (``messages``, ``consult_opened|<category>``, …) and fixed
  histogram buckets (``h:consult_wait|<i>``) from which medians and p95 are estimated without keeping samples;
* ``cb:{<tenant>}:kpi:snap:<YYYY-MM-DD>`` — the last subscribers snapshot of that day (replaced whole).

Keys expire after ``retention_days`` (default 800: two full years for the open-data files).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.redis_client import RedisClient

log = logging.getLogger("civicbot.kpi")

JST = ZoneInfo("Asia/Tokyo")

# Histogram bucket upper bounds in seconds (the last bucket is "more than a day"). One set for both consultation
# waits (minutes to hours) and alert latencies (seconds to minutes): fine enough that the median/p95 estimate is
# within one bucket width, coarse enough that a day's hash stays small.
BUCKETS: tuple[float, ...] = (
    1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 2700, 3600,
    5400, 7200, 10800, 14400, 21600, 28800, 43200, 86400,
)

# Counter names (hash fields). ``name|label`` holds a breakdown by category/kind.
MESSAGES = "messages"
FRIENDS_ADDED = "friends_added"
FRIENDS_REMOVED = "friends_removed"
FAQ_ANSWERED = "faq_answered"
FAQ_RESOLVED = "faq_resolved"
FAQ_UNANSWERED = "faq_unanswered"
FAQ_UP = "faq_up"
FAQ_DOWN = "faq_down"
CONSULT_OPENED = "consult_opened"
CONSULT_OUTSIDE = "consult_outside_hours"
CONSULT_TAKEN = "consult_taken"
ALERTS = "alerts"
ALERT_RECIPIENTS = "alert_recipients"
BROADCASTS = "broadcasts"
BROADCAST_RECIPIENTS = "broadcast_recipients"
REMINDERS = "reminders"  # garbage collection reminders (scheduled pushes, not staff broadcasts nor alerts)
REMINDER_RECIPIENTS = "reminder_recipients"
REPORTS_OPENED = "reports_opened"  # 通報 filed (LINE or Open311); breakdown by category id
REPORTS_CLOSED = "reports_closed"  # 通報 moved to 完了 or 対応できません; breakdown by category id
# histograms
WAIT = "consult_wait"
LATENCY = "alert_latency"
# snapshot fields
SNAP_FRIENDS = "friends"
SNAP_SUBSCRIBERS = "subscribers"
SNAP_AREA = "area"
SNAP_CATEGORY = "category"
SNAP_LANGUAGE = "language"

MAX_LABEL = 40


def bucket_index(seconds: float) -> int:
    """Index of the first bucket whose upper bound holds ``seconds`` (len(BUCKETS) = overflow)."""
    for i, bound in enumerate(BUCKETS):
        if seconds <= bound:
            return i
    return len(BUCKETS)


def label(value: str) -> str:
    """A breakdown label (category id, alert kind, area code, language). Refuses anything that looks like text.

    Labels are short identifiers chosen by the code, not residents; capping the length and refusing whitespace and
    the field separator keeps a stray message body or user id from ever becoming a hash field.
    """
    value = str(value).strip()
    if not value or len(value) > MAX_LABEL or "|" in value or any(ch.isspace() for ch in value):
        return "other"
    if value.startswith("U") and len(value) == 33:  # the shape of a LINE user id
        return "other"
    return value


@dataclass
class DayStats:
    """Raw aggregates of one tenant-day, as stored. Exact counts: only ``kpi.aggregate`` may publish them."""

    tenant: str
    day: dt.date
    counters: dict[str, int] = field(default_factory=dict)
    hist: dict[str, list[int]] = field(default_factory=dict)
    snapshot: dict[str, int] | None = None
    _split: tuple[dict, dict] | None = field(default=None, init=False, repr=False, compare=False)

    def _parts(self) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
        if self._split is None:
            self._split = (_by_prefix(self.counters), _by_prefix(self.snapshot or {}))
        return self._split

    def get(self, name: str) -> int:
        return self.counters.get(name, 0)

    def breakdown(self, name: str) -> dict[str, int]:
        return dict(self._parts()[0].get(name, {}))

    def snap_breakdown(self, name: str) -> dict[str, int]:
        return dict(self._parts()[1].get(name, {}))

    def histogram(self, name: str) -> list[int]:
        return self.hist.get(name) or [0] * (len(BUCKETS) + 1)


def _by_prefix(fields: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """``{"consult_opened|dv": 3}`` → ``{"consult_opened": {"dv": 3}}`` in one pass."""
    out: dict[str, dict[str, int]] = {}
    for k, v in fields.items():
        name, sep, key = k.partition("|")
        if sep:
            out.setdefault(name, {})[key] = v
    return out


class KpiRecorder(Protocol):
    """What rooms call. ``day`` defaults to today in Asia/Tokyo (tests and back-fills pass it explicitly)."""

    async def message_received(self, tenant: str, day: dt.date | None = None) -> None: ...
    async def friend_added(self, tenant: str, day: dt.date | None = None) -> None: ...
    async def friend_removed(self, tenant: str, day: dt.date | None = None) -> None: ...
    async def faq_answered(self, tenant: str, resolved: bool, day: dt.date | None = None) -> None: ...
    async def faq_feedback(self, tenant: str, up: bool, day: dt.date | None = None) -> None: ...
    async def faq_unanswered(self, tenant: str, day: dt.date | None = None) -> None: ...
    async def consultation_opened(self, tenant: str, category: str, outside_hours: bool, day: dt.date | None = None) -> None: ...
    async def consultation_taken(self, tenant: str, category: str, wait_seconds: float, day: dt.date | None = None) -> None: ...
    async def alert_delivered(self, tenant: str, kind: str, recipients: int, latency_seconds: float, day: dt.date | None = None) -> None: ...
    async def broadcast_sent(self, tenant: str, recipients: int, day: dt.date | None = None) -> None: ...
    async def reminder_sent(self, tenant: str, recipients: int, day: dt.date | None = None) -> None: ...
    async def report_opened(self, tenant: str, category: str, day: dt.date | None = None) -> None: ...
    async def report_closed(self, tenant: str, category: str, day: dt.date | None = None) -> None: ...
    async def subscribers_snapshot(
        self,
        tenant: str,
        *,
        friends: int,
        subscribers: int,
        by_area: Mapping[str, int],
        by_category: Mapping[str, int],
        by_language: Mapping[str, int],
        day: dt.date | None = None,
    ) -> None: ...
    async def days(self, tenant: str, days: Sequence[dt.date]) -> list[DayStats]:
        """Stored aggregates for each requested day, in order (empty ``DayStats`` where nothing was recorded)."""
        ...


def _snapshot_fields(friends: int, subscribers: int, by_area, by_category, by_language) -> dict[str, int]:
    out = {SNAP_FRIENDS: max(0, int(friends)), SNAP_SUBSCRIBERS: max(0, int(subscribers))}
    for prefix, mapping in ((SNAP_AREA, by_area), (SNAP_CATEGORY, by_category), (SNAP_LANGUAGE, by_language)):
        for key, n in mapping.items():
            f = f"{prefix}|{label(key)}"
            out[f] = out.get(f, 0) + max(0, int(n))
    return out


class _Base:
    """The typed methods, expressed once as counter increments; adapters implement ``_bump`` and ``_snap``."""

    def __init__(self, clock: Callable[[], float] = time.time, tz: ZoneInfo = JST) -> None:
        self._clock = clock
        self._tz = tz

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._clock(), self._tz).date()

    async def _bump(self, tenant: str, day: dt.date, incs: Mapping[str, int]) -> None:
        raise NotImplementedError

    async def _snap(self, tenant: str, day: dt.date, fields: dict[str, int]) -> None:
        raise NotImplementedError

    async def _inc(self, tenant: str, day: dt.date | None, incs: Mapping[str, int]) -> None:
        await self._bump(tenant, day or self.today(), {k: v for k, v in incs.items() if v})

    async def message_received(self, tenant: str, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {MESSAGES: 1})

    async def friend_added(self, tenant: str, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {FRIENDS_ADDED: 1})

    async def friend_removed(self, tenant: str, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {FRIENDS_REMOVED: 1})

    async def faq_answered(self, tenant: str, resolved: bool, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {FAQ_ANSWERED: 1, FAQ_RESOLVED: int(bool(resolved))})

    async def faq_feedback(self, tenant: str, up: bool, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {FAQ_UP if up else FAQ_DOWN: 1})

    async def faq_unanswered(self, tenant: str, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {FAQ_UNANSWERED: 1})

    async def consultation_opened(self, tenant: str, category: str, outside_hours: bool, day: dt.date | None = None) -> None:
        await self._inc(
            tenant, day, {CONSULT_OPENED: 1, f"{CONSULT_OPENED}|{label(category)}": 1, CONSULT_OUTSIDE: int(bool(outside_hours))}
        )

    async def consultation_taken(self, tenant: str, category: str, wait_seconds: float, day: dt.date | None = None) -> None:
        b = bucket_index(max(0.0, float(wait_seconds)))
        await self._inc(tenant, day, {CONSULT_TAKEN: 1, f"{CONSULT_TAKEN}|{label(category)}": 1, f"h:{WAIT}|{b}": 1})

    async def alert_delivered(self, tenant: str, kind: str, recipients: int, latency_seconds: float, day: dt.date | None = None) -> None:
        b = bucket_index(max(0.0, float(latency_seconds)))
        await self._inc(
            tenant, day, {ALERTS: 1, f"{ALERTS}|{label(kind)}": 1, ALERT_RECIPIENTS: max(0, int(recipients)), f"h:{LATENCY}|{b}": 1}
        )

    async def broadcast_sent(self, tenant: str, recipients: int, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {BROADCASTS: 1, BROADCAST_RECIPIENTS: max(0, int(recipients))})

    async def reminder_sent(self, tenant: str, recipients: int, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {REMINDERS: 1, REMINDER_RECIPIENTS: max(0, int(recipients))})

    async def report_opened(self, tenant: str, category: str, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {REPORTS_OPENED: 1, f"{REPORTS_OPENED}|{label(category)}": 1})

    async def report_closed(self, tenant: str, category: str, day: dt.date | None = None) -> None:
        await self._inc(tenant, day, {REPORTS_CLOSED: 1, f"{REPORTS_CLOSED}|{label(category)}": 1})

    async def subscribers_snapshot(
        self,
        tenant: str,
        *,
        friends: int,
        subscribers: int,
        by_area: Mapping[str, int],
        by_category: Mapping[str, int],
        by_language: Mapping[str, int],
        day: dt.date | None = None,
    ) -> None:
        await self._snap(tenant, day or self.today(), _snapshot_fields(friends, subscribers, by_area, by_category, by_language))


def _split(raw: Mapping[str, str | int], tenant: str, day: dt.date, snap: Mapping[str, str | int] | None) -> DayStats:
    stats = DayStats(tenant=tenant, day=day)
    n = len(BUCKETS) + 1
    for key, value in raw.items():
        if key.startswith("h:"):
            name, _, idx = key[2:].partition("|")
            stats.hist.setdefault(name, [0] * n)[int(idx)] += int(value)
        else:
            stats.counters[key] = int(value)
    if snap:
        stats.snapshot = {k: int(v) for k, v in snap.items()}
    return stats


class MemoryKpiRecorder(_Base):
    def __init__(self, clock: Callable[[], float] = time.time, tz: ZoneInfo = JST) -> None:
        super().__init__(clock, tz)
        self._days: dict[tuple[str, dt.date], dict[str, int]] = {}
        self._snaps: dict[tuple[str, dt.date], dict[str, int]] = {}

    async def _bump(self, tenant: str, day: dt.date, incs: Mapping[str, int]) -> None:
        row = self._days.setdefault((tenant, day), {})
        for k, v in incs.items():
            row[k] = row.get(k, 0) + v

    async def _snap(self, tenant: str, day: dt.date, fields: dict[str, int]) -> None:
        self._snaps[(tenant, day)] = dict(fields)

    async def days(self, tenant: str, days: Sequence[dt.date]) -> list[DayStats]:
        return [_split(self._days.get((tenant, d), {}), tenant, d, self._snaps.get((tenant, d))) for d in days]


class RedisKpiRecorder(_Base):
    """Daily hashes; every write is one round trip (HINCRBY… + EXPIRE NX in one pipeline)."""

    def __init__(
        self, client: RedisClient, *, retention_days: int = 800, clock: Callable[[], float] = time.time, tz: ZoneInfo = JST
    ) -> None:
        super().__init__(clock, tz)
        self._r = client
        self._ttl = retention_days * 86400

    @staticmethod
    def day_key(tenant: str, day: dt.date) -> str:
        return f"cb:{{{tenant}}}:kpi:day:{day.isoformat()}"

    @staticmethod
    def snap_key(tenant: str, day: dt.date) -> str:
        return f"cb:{{{tenant}}}:kpi:snap:{day.isoformat()}"

    async def _bump(self, tenant: str, day: dt.date, incs: Mapping[str, int]) -> None:
        if not incs:
            return
        key = self.day_key(tenant, day)
        async with self._r.pipeline(transaction=False) as pipe:
            for k, v in incs.items():
                pipe.hincrby(key, k, v)
            pipe.expire(key, self._ttl, nx=True)
            await pipe.execute()

    async def _snap(self, tenant: str, day: dt.date, fields: dict[str, int]) -> None:
        key = self.snap_key(tenant, day)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def days(self, tenant: str, days: Sequence[dt.date]) -> list[DayStats]:
        if not days:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for d in days:
                pipe.hgetall(self.day_key(tenant, d))
                pipe.hgetall(self.snap_key(tenant, d))
            replies = await pipe.execute()
        return [_split(replies[2 * i], tenant, d, replies[2 * i + 1]) for i, d in enumerate(days)]


class BestEffortRecorder:
    """Wraps a recorder so that a KPI outage never blocks a resident's answer: errors are logged and dropped."""

    def __init__(self, inner: KpiRecorder) -> None:
        self._inner = inner

    def __getattr__(self, name: str):
        target = getattr(self._inner, name)
        if name in ("days", "today") or not callable(target):
            return target

        async def guarded(*args, **kwargs):
            try:
                await target(*args, **kwargs)
            except Exception:  # noqa: BLE001 — statistics must never break the chat
                log.warning("kpi record failed", extra={"kpi": name, "tenant": args[0] if args else kwargs.get("tenant")}, exc_info=True)

        return guarded


def date_range(end: dt.date, n_days: int) -> list[dt.date]:
    """The ``n_days`` days ending with ``end`` (inclusive), oldest first."""
    return [end - dt.timedelta(days=i) for i in range(n_days - 1, -1, -1)]


async def load_days(recorder: KpiRecorder, tenants: Iterable[str], days: Sequence[dt.date]) -> dict[str, list[DayStats]]:
    return {t: await recorder.days(t, days) for t in tenants}
