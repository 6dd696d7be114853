"""One contract for the garbage ports, run against the memory fakes and the Redis implementations."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.users import RedisUserStore, User
from garbage import (
    Dataset,
    MemoryDatasetStore,
    MemoryReminderStore,
    MemoryRunLedger,
    MemoryUnknownLog,
    QuietHours,
    RedisDatasetStore,
    RedisReminderStore,
    RedisRunLedger,
    RedisUnknownLog,
    Reminder,
)
from garbage.model import Item
from tests.conftest import BACKENDS, redis_for

JST = dt.timezone(dt.timedelta(hours=9))
EVENING = dt.datetime(2027, 1, 6, 20, 0, tzinfo=JST)
PLAN = {"北": ["燃やすごみ", "有害ごみ"], "南": ["燃やすごみ"]}


class Ports:
    def __init__(self, kind: str, redis) -> None:
        self.kind = kind
        self.active: set[str] = set()
        if kind == "memory":
            self.datasets, self.unknown = MemoryDatasetStore(), MemoryUnknownLog()
            self.reminders = MemoryReminderStore(active=lambda t, u: u in self.active)
            self.ledger = MemoryRunLedger()
            self.users = None
        else:
            self.users = RedisUserStore(redis)
            self.datasets, self.unknown = RedisDatasetStore(redis), RedisUnknownLog(redis)
            self.reminders = RedisReminderStore(redis, active_key=self.users.active_key)
            self.ledger = RedisRunLedger(redis)

    async def follow(self, tenant: str, *uids: str) -> None:
        for uid in uids:
            self.active.add(uid)
            if self.users is not None:
                await self.users.save(User(tenant=tenant, user_id=uid, active=True))

    async def unfollow(self, tenant: str, uid: str) -> None:
        self.active.discard(uid)
        if self.users is not None:
            await self.users.set_active(tenant, uid, False)


@pytest.fixture(params=BACKENDS)
def ports(request):
    if request.param == "memory":
        return Ports("memory", None)
    return Ports("redis", redis_for(request))


async def members(store, tenant: str, handle: str) -> dict[str, str]:
    return {uid: lang async for batch in store.members(tenant, handle) for uid, lang in batch}


async def test_dataset_replace_and_revision(ports):
    assert await ports.datasets.get("t") is None and await ports.datasets.revision("t") == 0
    ds = Dataset(items=[Item("燃やすごみ", "生ごみ")])
    assert await ports.datasets.put("t", ds) == 1
    assert await ports.datasets.get("t") == ds
    assert await ports.datasets.put("t", Dataset()) == 2 and await ports.datasets.get("t") == Dataset()
    assert await ports.datasets.get("u") is None


async def test_unknown_log(ports):
    for name in ["黒板消し", "タイムマシン", "黒板消し", "x" * 100]:
        await ports.unknown.record("t", name)
    top = await ports.unknown.top("t")
    assert top[0] == ("黒板消し", 2) and ("x" * 40, 1) in top
    await ports.unknown.forget("t", "黒板消し")
    assert [n for n, _ in await ports.unknown.top("t")] == sorted(["タイムマシン", "x" * 40])
    assert await ports.unknown.top("other") == []


async def test_reminder_crud(ports):
    r = Reminder("t", "U1", "北", ("燃やすごみ",), "morning", "en", QuietHours("21:00", "06:00"))
    await ports.reminders.save(r)
    got = await ports.reminders.get("t", "U1")
    assert (got.area, got.categories, got.slot, got.language, got.quiet) == ("北", ("燃やすごみ",), "morning", "en", r.quiet)
    assert await ports.reminders.count("t") == 1 and await ports.reminders.get("t2", "U1") is None
    await ports.reminders.delete("t", "U1")
    assert await ports.reminders.get("t", "U1") is None and await ports.reminders.count("t") == 0
    with pytest.raises(ValueError):
        await ports.reminders.save(Reminder("t", "U2", "北", (), "noon"))


async def test_resolve_partitions_by_message_and_never_twice(ports):
    both, burn = ("燃やすごみ", "有害ごみ"), ("燃やすごみ",)
    await ports.follow("t", "Ua", "Ub", "Uc", "Ud", "Ue", "Uf", "Ug", "Uh")
    for r in [
        Reminder("t", "Ua", "北", both),  # 燃やすごみ + 有害ごみ
        Reminder("t", "Ub", "北", ("有害ごみ", "古紙"), language="ko"),  # 有害ごみ only
        Reminder("t", "Uc", "南", both, language="vi"),  # 燃やすごみ (南 collects no 有害ごみ)
        Reminder("t", "Ud", "北", burn, slot="morning"),  # other slot
        Reminder("t", "Ue", "北", both, quiet=QuietHours("19:30", "07:00")),  # quiet at 20:00
        Reminder("t", "Uf", "西", both),  # area collects nothing
        Reminder("t", "Ug", "南", ("古紙",)),  # nothing of hers
        Reminder("t", "Uh", "北", burn, quiet=QuietHours("22:00", "07:00")),  # quiet, but not at 20:00
        Reminder("t", "Ui", "北", burn),  # never followed (not active)
    ]:
        await ports.reminders.save(r)
    groups = await ports.reminders.resolve("t", "2027-01-07", "eve", PLAN, EVENING)
    by = {g.categories: await members(ports.reminders, "t", g.handle) for g in groups}
    assert by == {both: {"Ua": "ja"}, ("有害ごみ",): {"Ub": "ko"}, burn: {"Uc": "vi", "Uh": "ja"}}
    assert {g.categories: g.count for g in groups} == {both: 1, ("有害ごみ",): 1, burn: 2}
    assert await ports.reminders.resolve("t", "2027-01-07", "eve", PLAN, EVENING) == []  # never twice for a day
    await ports.reminders.save(Reminder("t", "Ua", "北", burn, slot="morning"))
    morning = await ports.reminders.resolve("t", "2027-01-07", "morning", PLAN, EVENING.replace(hour=7))
    assert [await members(ports.reminders, "t", g.handle) for g in morning] == [{"Ud": "ja"}]
    assert await ports.reminders.resolve("other", "2027-01-07", "eve", PLAN, EVENING) == []


async def test_moving_and_unfollowing_update_the_audience(ports):
    await ports.follow("t", "Ua", "Ub")
    await ports.reminders.save(Reminder("t", "Ua", "北", ("燃やすごみ",)))
    await ports.reminders.save(Reminder("t", "Ub", "北", ("燃やすごみ",)))
    await ports.reminders.save(Reminder("t", "Ua", "西", ("燃やすごみ",), language="en"))  # moved away
    await ports.unfollow("t", "Ub")
    assert await ports.reminders.resolve("t", "2027-01-08", "eve", PLAN, EVENING) == []


async def test_bulk_written_reminders_resolve_like_saved_ones(ports):
    await ports.follow("t", "Ua", "Ub", "Uc")
    await ports.reminders.import_many([
        Reminder("t", "Ua", "北", ("燃やすごみ",), language="en"),
        Reminder("t", "Ub", "北", ("燃やすごみ",), quiet=QuietHours("19:00", "08:00")),  # quiet at 20:00
        Reminder("t", "Uc", "南", ("古紙",)),
    ])
    groups = await ports.reminders.resolve("t", "2027-01-07", "eve", PLAN, EVENING)
    assert [await members(ports.reminders, "t", g.handle) for g in groups] == [{"Ua": "en"}]


async def test_skipped_flag(ports):
    await ports.follow("t", "Ua", "Ub")
    await ports.reminders.save(Reminder("t", "Ua", "北", ("燃やすごみ",)))
    await ports.reminders.save(Reminder("t", "Ub", "西", ("燃やすごみ",)))
    groups = await ports.reminders.resolve("t", "2027-01-07", "eve", PLAN, EVENING)
    await ports.reminders.mark_skipped("t", [g.handle for g in groups])
    assert await ports.reminders.take_skipped("t", "Ua") is True
    assert await ports.reminders.take_skipped("t", "Ua") is False
    assert await ports.reminders.take_skipped("t", "Ub") is False
    assert await ports.reminders.take_skipped("t", "Unknown") is False


async def test_run_ledger(ports):
    assert await ports.ledger.claim("t", "2027-01-07", "eve") is True
    assert await ports.ledger.claim("t", "2027-01-07", "eve") is False
    assert await ports.ledger.claim("t", "2027-01-07", "morning") is True
    await ports.ledger.remember_jobs("t", "2027-01-07", "eve", ["j1", "j2"])
    assert await ports.ledger.jobs_to_close("t", EVENING) == []  # 20:00 is the start of the eve window
    later = EVENING + dt.timedelta(minutes=1)
    assert await ports.ledger.jobs_to_close("t", later) == [("2027-01-07", "eve", ["j1", "j2"])]
    assert await ports.ledger.jobs_to_close("t", later) == []
