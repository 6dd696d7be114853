"""Service functions of the garbage room: import, item search per tenant, day answers, the reminder run.

They take ports as arguments (``GarbageDeps``); the composition root builds them once per process.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.chat import text
from broadcasts.audience import AudienceQuery, Recipient, tagged
from broadcasts.jobs import DeliveryJob
from garbage import texts
from garbage.calendar import collected
from garbage.csvio import parse_files
from garbage.model import Area, Dataset
from garbage.search import Analyzer, ItemIndex, SearchResult
from garbage.store import SLOT_TIMES, SLOTS, DatasetStore, Group, QuietHours, ReminderStore, UnknownLog

log = logging.getLogger("civicbot.garbage")

TZ = ZoneInfo("Asia/Tokyo")
AUDIENCE_TAG = "@garbage:"  # AudienceQuery.categories entry naming a resolved reminder group
GRACE = dt.timedelta(minutes=30)  # a reminder run missed by longer than this is skipped, never sent late


@dataclass(frozen=True)
class PlaceRef:
    id: str
    name: str  # 自宅
    town: str  # 毛馬町一丁目 ('' when registered by municipality only)


class ResidentPlaces(Protocol):
    """What the resident registered for alerts (places, quiet hours), through the composition root."""

    async def places(self, tenant: str, user_id: str) -> list[PlaceRef]: ...

    async def quiet_hours(self, tenant: str, user_id: str) -> QuietHours | None: ...


class QuotaCheck(Protocol):
    async def should_hold(self, tenant: str, count: int, priority: str) -> bool: ...


class ReminderDeliverer(Protocol):
    async def submit(self, job: DeliveryJob) -> str: ...
    async def cancel(self, job_id: str) -> bool: ...


@dataclass
class GarbageDeps:
    datasets: DatasetStore
    unknown: UnknownLog
    reminders: ReminderStore
    analyzer: Analyzer
    lexicon: Sequence[tuple[str, str]] = ()
    places: ResidentPlaces | None = None
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    _indexes: dict[str, tuple[int, ItemIndex]] = field(default_factory=dict)

    async def index(self, tenant: str) -> ItemIndex | None:
        """The tenant's search index, rebuilt when the stored revision moved (an import or an edit)."""
        rev = await self.datasets.revision(tenant)
        if rev == 0:
            return None
        cached = self._indexes.get(tenant)
        if cached is None or cached[0] != rev:
            ds = await self.datasets.get(tenant)
            if ds is None:
                return None
            cached = (rev, ItemIndex(ds, self.analyzer, self.lexicon))
            self._indexes[tenant] = cached
        return cached[1]

    async def search(self, tenant: str, query: str) -> SearchResult | None:
        index = await self.index(tenant)
        return index.search(query) if index is not None else None

    def local_now(self) -> dt.datetime:
        return self.clock().astimezone(TZ)


async def import_files(datasets: DatasetStore, tenant: str, files: Mapping[str, bytes]) -> Dataset:
    """Parse and store; on any row error nothing changes (GarbageImportError lists the rows)."""
    ds = parse_files(files)
    await datasets.put(tenant, ds)
    log.info("garbage data imported", extra={"tenant": tenant, "items": len(ds.items), "areas": len(ds.areas)})
    return ds


def area_for_place(ds: Dataset, place: PlaceRef) -> Area | None:
    """The area whose listed towns contain the place's town (毛馬町一丁目 → 都島北部（毛馬町・大東町）)."""
    if not place.town:
        return None
    return next((a for a in ds.areas if any(place.town.startswith(t) for t in a.towns())), None)


# ------------------------------------------------------------------------------------------- reminders
def reminder_messages(kind: str, categories: Sequence[str], languages: Sequence[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for lang in dict.fromkeys(["ja", *languages]):
        body = texts.t(f"reminder_{kind}", lang, cats=texts.join(list(categories), lang)) + "\n" + texts.t("reminder_tail", lang)
        out[lang] = [text(body)]
    return out


@dataclass(frozen=True)
class ReminderRun:
    tenant: str
    day: str  # the collection day reminded of (ISO)
    slot: str
    groups: tuple[Group, ...]
    jobs: tuple[str, ...]
    skipped: bool  # not sent: the monthly quota would not allow it

    @property
    def recipients(self) -> int:
        return sum(g.count for g in self.groups)


def slot_moment(slot: str, local: dt.datetime) -> tuple[dt.datetime, dt.date]:
    """(the slot's send time on ``local``'s date, the collection day it reminds of)."""
    at = local.replace(hour=SLOT_TIMES[slot].hour, minute=SLOT_TIMES[slot].minute, second=0, microsecond=0)
    return at, at.date() + dt.timedelta(days=1 if slot == "eve" else 0)


async def remind(
    deps: GarbageDeps,
    deliverer: ReminderDeliverer,
    quota: QuotaCheck,
    tenant: str,
    languages: Sequence[str],
    slot: str,
    at: dt.datetime,
    day: dt.date,
) -> ReminderRun:
    """Resolve and hand over one run. Routine priority: when the month's quota cannot take it, nothing is sent (a
    reminder after the day is useless) and the residents are told once, when they next talk to the room."""
    ds = await deps.datasets.get(tenant)
    plan = {a.name: collected(ds, a, day) for a in ds.areas} if ds else {}
    plan = {a: cats for a, cats in plan.items() if cats}
    groups = await deps.reminders.resolve(tenant, day.isoformat(), slot, plan, at) if plan else []
    total = sum(g.count for g in groups)
    if groups and await quota.should_hold(tenant, total, "routine"):
        await deps.reminders.mark_skipped(tenant, [g.handle for g in groups])
        log.warning(
            "garbage reminders skipped: monthly quota",
            extra={"tenant": tenant, "day": day.isoformat(), "slot": slot, "recipients": total},
        )
        return ReminderRun(tenant, day.isoformat(), slot, tuple(groups), (), True)
    jobs = []
    for g in groups:
        job = DeliveryJob(
            tenant=tenant,
            audience=AudienceQuery(tenant=tenant, categories=(AUDIENCE_TAG + g.handle,)),
            messages=reminder_messages(slot, g.categories, languages),
            priority="routine",
            kind="garbage:reminder",
            source_id=f"garbage:{day.isoformat()}:{slot}:{'+'.join(g.categories)}",
            title=f"ごみの日のお知らせ {day.isoformat()} {'・'.join(g.categories)}",
        )
        jobs.append(await deliverer.submit(job))
    log.info(
        "garbage reminders handed over",
        extra={"tenant": tenant, "day": day.isoformat(), "slot": slot, "recipients": total, "jobs": len(jobs)},
    )
    return ReminderRun(tenant, day.isoformat(), slot, tuple(groups), tuple(jobs), False)


class RunLedger(Protocol):
    async def claim(self, tenant: str, day: str, slot: str) -> bool:
        """True exactly once per (tenant, day, slot), across processes."""
        ...

    async def remember_jobs(self, tenant: str, day: str, slot: str, jobs: Sequence[str]) -> None: ...
    async def jobs_to_close(self, tenant: str, before: dt.datetime) -> list[tuple[str, str, list[str]]]:
        """(day, slot, job ids) of runs whose window ended before ``before``, once each."""
        ...


async def tick(
    deps: GarbageDeps,
    deliverer: ReminderDeliverer,
    quota: QuotaCheck,
    ledger: RunLedger,
    tenants: Mapping[str, Sequence[str]],
) -> list[ReminderRun]:
    """The scheduler's job (every 30 s): start each slot's run once within GRACE of its time, never later; cancel
    what the engine still holds of runs whose window has passed (held for quota = would arrive late)."""
    local = deps.local_now()
    runs: list[ReminderRun] = []
    for tenant, languages in tenants.items():
        for slot in SLOTS:
            at, day = slot_moment(slot, local)
            if at <= local < at + GRACE and await ledger.claim(tenant, day.isoformat(), slot):
                run = await remind(deps, deliverer, quota, tenant, languages, slot, at, day)
                await ledger.remember_jobs(tenant, day.isoformat(), slot, run.jobs)
                runs.append(run)
        for day_s, slot, job_ids in await ledger.jobs_to_close(tenant, local - GRACE):
            for job_id in job_ids:
                if await deliverer.cancel(job_id):
                    log.info("late garbage reminder cancelled", extra={"tenant": tenant, "day": day_s, "slot": slot})
    return runs


class GarbageAudience:
    """``broadcasts.audience.AudienceSource`` for reminder jobs (``@garbage:<group>``; the composition root routes
    those queries here with ``broadcasts.audience.AudienceRouter``)."""

    def __init__(self, reminders: ReminderStore) -> None:
        self._reminders = reminders

    async def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        for group in tagged(query, AUDIENCE_TAG):
            async for batch in self._reminders.members(query.tenant, group):
                for uid, lang in batch:
                    yield Recipient(uid, lang)
