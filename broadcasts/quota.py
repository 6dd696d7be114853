"""Monthly message quota: read it from LINE now and then, count our own sends in between, warn admins, hold routine.

LINE's ``/quota/consumption`` lags and counts every sender of the channel, so the guard keeps
``used = last reading + recipients we sent since``. Routine batches are held when sending them would eat into the
reserve kept for emergencies (``reserve_ratio`` of the limit); emergencies and alerts are never held. Warnings are
events in ``cb:{t}:broadcasts:events`` (``type=quota_warning``), each threshold once per month.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from broadcasts.line import LinePort
from broadcasts.store import DeliveryStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuotaState:
    limit: int | None  # None = unlimited (or never read)
    used: int
    read_at: float | None

    @property
    def ratio(self) -> float | None:
        return None if not self.limit else self.used / self.limit


@dataclass(frozen=True)
class QuotaPolicy:
    refresh_seconds: float = 60.0
    reserve_ratio: float = 0.05  # kept for emergencies: routine stops at (1 - reserve) of the limit
    warn_ratios: tuple[float, ...] = (0.8, 0.9, 0.95, 1.0)


class QuotaGuard:
    def __init__(
        self, store: DeliveryStore, line: LinePort, policy: QuotaPolicy | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._line = line
        self.policy = policy or QuotaPolicy()
        self._clock = clock

    async def state(self, tenant: str, *, refresh: bool = False) -> QuotaState:
        raw = await self._store.quota(tenant)
        read_at = float(raw["read_at"]) if raw.get("read_at") else None
        stale = read_at is None or self._clock() - read_at >= self.policy.refresh_seconds
        if (refresh or stale) and await self._store.lock_quota_reading(tenant):
            try:
                reading = await self._line.quota(tenant)
            except Exception as exc:  # LINE unreachable: keep the old figures, try again later
                log.warning("quota read failed", extra={"tenant": tenant, "error": type(exc).__name__})
            else:
                await self._store.record_quota_reading(tenant, reading.limit, reading.used, self._clock())
                raw = await self._store.quota(tenant)
                await self._warn(tenant, self._parse(raw))
        return self._parse(raw)

    @staticmethod
    def _parse(raw: dict) -> QuotaState:
        limit = int(raw.get("limit", -1))
        return QuotaState(
            limit=None if limit < 0 else limit,
            used=int(raw.get("used", 0)) + int(raw.get("local", 0)),
            read_at=float(raw["read_at"]) if raw.get("read_at") else None,
        )

    async def note_sent(self, tenant: str, count: int) -> None:
        await self._store.add_quota_sent(tenant, count)

    async def note_exhausted(self, tenant: str) -> None:
        """LINE said "monthly limit": believe it until the next reading (it may free up as in-flight sends fail)."""
        raw = await self._store.quota(tenant)
        limit = int(raw.get("limit", -1))
        local = max(0, limit - int(raw.get("used", 0))) if limit > 0 else None
        await self._store.mark_quota_exhausted(tenant, self._clock(), local)
        await self._warn(tenant, self._parse(await self._store.quota(tenant)), exhausted=True)

    async def should_hold(self, tenant: str, count: int, priority: str) -> bool:
        if priority != "routine":
            return False
        st = await self.state(tenant)
        if (await self._store.quota(tenant)).get("exhausted"):
            return True  # LINE said "monthly limit" since the last reading
        if st.limit is None:
            return False
        return st.used + count > st.limit * (1 - self.policy.reserve_ratio)

    async def _warn(self, tenant: str, st: QuotaState, *, exhausted: bool = False) -> None:
        if not st.limit:
            return
        month = dt.datetime.fromtimestamp(self._clock(), dt.UTC).strftime("%Y%m")
        ratio = st.used / st.limit
        crossed = [w for w in self.policy.warn_ratios if ratio >= w]
        if exhausted:
            crossed.append(1.0)
        for w in sorted(set(crossed)):
            if await self._store.quota_warned_once(tenant, month, int(w * 100)):
                await self._store.add_event(
                    tenant, type="quota_warning", threshold=w, used=st.used, limit=st.limit, ratio=round(ratio, 4)
                )
                log.warning("monthly quota threshold crossed", extra={"tenant": tenant, "threshold": w, "used": st.used})
