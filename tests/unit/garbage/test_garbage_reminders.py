"""The reminder run on memory ports: exactly the right people, their language, never twice, quiet hours, the
monthly quota (skipped, not late, told once), the grace window, 年末年始, and late jobs cancelled."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from broadcasts.jobs import DeliveryJob
from garbage import (
    GarbageAudience,
    GarbageDeps,
    MemoryDatasetStore,
    MemoryReminderStore,
    MemoryRunLedger,
    MemoryUnknownLog,
    QuietHours,
    Reminder,
    tick,
)
from nlu.normalize import default_analyzer

JST = dt.timezone(dt.timedelta(hours=9))
KEMA = "都島北部（毛馬町・大東町）"
TOMO = "友渕地区（友渕町）"
FUKU = "福島西部（海老江・大開・鷺洲）"  # Thursday 1/7 (1st Thursday): 缶・びん・ペットボトル and 燃やさないごみ


class Deliverer:
    def __init__(self) -> None:
        self.jobs: dict[str, DeliveryJob] = {}
        self.cancelled: list[str] = []

    async def submit(self, job: DeliveryJob) -> str:
        job_id = uuid.uuid4().hex
        self.jobs[job_id] = job
        return job_id

    async def cancel(self, job_id: str) -> bool:
        self.cancelled.append(job_id)
        return True


class Quota:
    def __init__(self) -> None:
        self.hold = False
        self.asked: list[tuple[int, str]] = []

    async def should_hold(self, tenant: str, count: int, priority: str) -> bool:
        self.asked.append((count, priority))
        return self.hold


class Env:
    def __init__(self, deps: GarbageDeps) -> None:
        self.deps = deps
        self.deliverer = Deliverer()
        self.quota = Quota()
        self.ledger = MemoryRunLedger()
        self.now = dt.datetime(2027, 1, 6, 20, 5, tzinfo=JST)  # Wednesday evening → Thursday 1/7

    async def tick(self, at: dt.datetime | None = None):
        if at is not None:
            self.now = at
        return await tick(self.deps, self.deliverer, self.quota, self.ledger, {"demo": ["ja", "en", "vi"]})

    async def recipients(self) -> dict[str, tuple[str, str]]:
        """user → (language, message text) over every submitted job, through the engine's audience."""
        audience = GarbageAudience(self.deps.reminders)
        out: dict[str, tuple[str, str]] = {}
        for job in self.deliverer.jobs.values():
            async for r in audience.resolve(job.audience):
                assert r.user_id not in out, "reminded twice"
                out[r.user_id] = (r.language, job.messages[r.language][0]["text"])
        return out


@pytest.fixture
async def env(demo_ds):
    datasets = MemoryDatasetStore()
    await datasets.put("demo", demo_ds)
    reminders = MemoryReminderStore(active=lambda tenant, uid: uid != "Ugone")
    deps = GarbageDeps(datasets, MemoryUnknownLog(), reminders, default_analyzer())
    e = Env(deps)
    deps.clock = lambda: e.now
    all_cats = tuple(demo_ds.scheduled_categories())
    for r in [
        Reminder("demo", "Ua", KEMA, all_cats),
        Reminder("demo", "Ub", KEMA, all_cats, slot="morning"),
        Reminder("demo", "Uc", TOMO, all_cats, language="en"),
        Reminder("demo", "Ud", KEMA, ("古紙・衣類",)),
        Reminder("demo", "Ue", KEMA, all_cats, quiet=QuietHours("19:00", "08:00")),
        Reminder("demo", "Uf", FUKU, all_cats, language="vi"),
        Reminder("demo", "Ugone", KEMA, all_cats),  # unfollowed
        Reminder("other", "Ux", KEMA, all_cats),
    ]:
        await reminders.save(r)
    return e


async def test_evening_run_reaches_exactly_the_right_people_in_their_language(env):
    runs = await env.tick()
    assert len(runs) == 1 and runs[0].day == "2027-01-07" and not runs[0].skipped
    got = await env.recipients()
    assert set(got) == {"Ua", "Uc", "Uf"}  # Ub: morning; Ud: not 燃やすごみ; Ue: quiet; Ugone: unfollowed; Ux: other city
    assert got["Ua"] == ("ja", "明日は燃やすごみの日です。\n朝8時30分までに出してください。")
    assert got["Uc"][0] == "en" and got["Uc"][1].startswith("Tomorrow is collection day for: burnable garbage.")
    assert got["Uf"] == ("vi", "Ngày mai thu gom: lon, chai lọ, chai nhựa PET, rác không cháy được.\nHãy bỏ rác trước 8:30 sáng.")
    assert all(j.priority == "routine" for j in env.deliverer.jobs.values())
    assert env.quota.asked == [(3, "routine")]


async def test_never_twice(env):
    await env.tick()
    assert await env.tick(env.now + dt.timedelta(minutes=1)) == []  # the same slot again
    await env.deps.reminders.save(Reminder("demo", "Ua", KEMA, ("燃やすごみ",), slot="morning"))
    morning = await env.tick(dt.datetime(2027, 1, 7, 7, 1, tzinfo=JST))
    store = env.deps.reminders
    names = {uid for g in morning[0].groups for uid, _ in [m async for b in store.members("demo", g.handle) for m in b]}
    assert names == {"Ub"}  # Ua switched to the morning but was already reminded for 1/7


async def test_quota_exhausted_skips_and_is_not_sent_late(env):
    env.quota.hold = True
    runs = await env.tick()
    assert runs[0].skipped and not env.deliverer.jobs
    assert await env.deps.reminders.take_skipped("demo", "Ua") is True
    assert await env.deps.reminders.take_skipped("demo", "Ua") is False  # told once
    assert await env.deps.reminders.take_skipped("demo", "Ub") is False  # was not due
    env.quota.hold = False
    assert await env.tick(env.now + dt.timedelta(minutes=2)) == []  # the run was claimed: no late second try


async def test_a_missed_slot_is_not_run_late(env):
    assert await env.tick(dt.datetime(2027, 1, 6, 20, 45, tzinfo=JST)) == []
    assert await env.tick(dt.datetime(2027, 1, 6, 19, 55, tzinfo=JST)) == []
    assert not env.deliverer.jobs


async def test_year_end_pause_suppresses_the_reminder(env):
    runs = await env.tick(dt.datetime(2026, 12, 30, 20, 1, tzinfo=JST))  # for Thursday 12/31 (北部: paused)
    assert runs[0].groups == () and not env.deliverer.jobs
    runs = await env.tick(dt.datetime(2027, 1, 3, 20, 1, tzinfo=JST))  # for Monday 1/4: 臨時 + normal 燃やすごみ
    assert {g.categories for g in runs[0].groups} == {("燃やすごみ",)}


async def test_jobs_of_a_past_window_are_cancelled(env):
    await env.tick()
    jobs = set(env.deliverer.jobs)
    await env.tick(env.now + dt.timedelta(minutes=40))
    assert set(env.deliverer.cancelled) == jobs
    await env.tick(env.now + dt.timedelta(minutes=5))
    assert len(env.deliverer.cancelled) == len(jobs)  # once
