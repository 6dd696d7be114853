"""The chat middleware and the snapshot job, with the real router and in-memory ports."""

from __future__ import annotations

import datetime as dt

from bot.chat import Incoming
from bot.router import Dispatcher, Rooms, default_middlewares
from bot.users import MemoryUserStore
from kpi import recorder as R
from kpi.recorder import BestEffortRecorder, MemoryKpiRecorder
from kpi.service import SubscriberCounts, kpi_middleware, take_snapshots
from tests.helpers import tenant

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=R.JST).timestamp()
DAY = dt.date(2026, 11, 25)


def _incoming(kind: str, text: str | None = None) -> Incoming:
    return Incoming(tenant=tenant("demo"), user_id="U" + "1" * 32, kind=kind, webhook_event_id="e1", timestamp_ms=0, text=text)


async def test_middleware_counts_events_and_stores_no_text_or_ids():
    rec = MemoryKpiRecorder(clock=lambda: NOW)
    users = MemoryUserStore()
    dispatcher = Dispatcher(users, Rooms(), middlewares=[kpi_middleware(rec), *default_middlewares()])
    await dispatcher.process(_incoming("follow"))
    out = await dispatcher.process(_incoming("text", "住民票の取り方を教えて"))
    await dispatcher.process(_incoming("postback"))
    await dispatcher.process(_incoming("unfollow"))
    assert out  # the resident still got an answer
    (d,) = await rec.days("demo", [DAY])
    assert (d.get(R.FRIENDS_ADDED), d.get(R.MESSAGES), d.get(R.FRIENDS_REMOVED)) == (1, 2, 1)
    stored = repr(rec._days) + repr(rec._snaps)
    assert "住民票" not in stored and "U111" not in stored


async def test_a_broken_recorder_does_not_stop_the_answer():
    class Broken(MemoryKpiRecorder):
        async def _bump(self, tenant, day, incs):
            raise ConnectionError("redis down")

    dispatcher = Dispatcher(MemoryUserStore(), Rooms(), middlewares=[kpi_middleware(Broken()), *default_middlewares()])
    assert await dispatcher.process(_incoming("text", "こんにちは"))
    assert await BestEffortRecorder(Broken()).message_received("demo") is None


async def test_take_snapshots_records_each_tenant_and_skips_failures():
    rec = MemoryKpiRecorder(clock=lambda: NOW)

    async def friends(t):
        if t == "bad":
            raise ConnectionError("down")
        return 120

    async def subscribers(t):
        return SubscriberCounts(total=100, by_area={"27102": 100}, by_category={"earthquake": 90})

    async def languages(t):
        return {"ja": 110, "en": 10}

    done = await take_snapshots(rec, ["demo", "bad"], friends=friends, subscribers=subscribers, languages=languages)
    assert done == 1
    (d,) = await rec.days("demo", [DAY])
    assert d.snapshot[R.SNAP_FRIENDS] == 120 and d.snap_breakdown(R.SNAP_LANGUAGE) == {"ja": 110, "en": 10}
    assert (await rec.days("bad", [DAY]))[0].snapshot is None
