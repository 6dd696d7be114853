"""Alerts through the real delivery engine (broadcasts/) with a recording LINE fake: the 取消 of an earthquake
report reaches exactly the residents who received the report, and each of them once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alerts.jma.parser import parse_telegram
from alerts.service import process_telegram
from alerts.subscriptions import Place, Subscription
from app.ports import wire_alerts
from bot.users import RedisUserStore, User
from broadcasts.engine import DeliveryWorker, EngineOptions, RedisDeliverer
from broadcasts.line import FakeLinePort

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"


async def _until(predicate, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def _texts(line: FakeLinePort, user: str) -> list[str]:
    return [m["text"] for r in line.requests if user in r.to and r.status == 200 for m in r.messages]


async def test_cancellation_through_the_engine_reaches_only_original_recipients(redis):
    users = RedisUserStore(redis)
    w = wire_alerts(redis, users, RedisDeliverer(redis), lambda: ["demo"])
    for uid, code, lang in (("konohana", "27104", "ja"), ("sakai", "27141", "en"), ("quiet_ward", "27127", "ja")):
        await users.save(User(tenant="demo", user_id=uid, language=lang))
        await w.store.save(Subscription("demo", uid, places=[Place("p1", "自宅", code)], categories=["earthquake"], threshold="3", language=lang))
    line = FakeLinePort()
    worker = DeliveryWorker(redis, line, w.audience, users, ["demo"], options=EngineOptions(reclaim_interval=1.0))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        raw = (FIX / "osaka_VXSE53_5plus.xml").read_text(encoding="utf-8")
        await process_telegram(parse_telegram(raw.encode()), w.alert_deps)  # 此花区 5弱, 堺区 3; 北区 not named
        await _until(lambda: line.delivered[("demo", "konohana")] and line.delivered[("demo", "sakai")])
        await users.save(User(tenant="demo", user_id="late"))
        await w.store.save(Subscription("demo", "late", places=[Place("p1", "自宅", "27104")], categories=["earthquake"], threshold="3"))
        cancel = raw.replace("<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>").replace("<Serial>2</Serial>", "<Serial>3</Serial>")
        await process_telegram(parse_telegram(cancel.encode()), w.alert_deps)
        await _until(lambda: line.delivered[("demo", "konohana")] == 2 and line.delivered[("demo", "sakai")] == 2)
        await asyncio.sleep(0.3)  # anything else would have been sent by now
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert _texts(line, "konohana")[0].startswith("【地震】大阪市此花区で震度5弱") and _texts(line, "konohana")[1].startswith("【取消】")
    assert _texts(line, "sakai")[1].startswith("[Cancelled]")
    assert line.delivered[("demo", "late")] == 0 and line.delivered[("demo", "quiet_ward")] == 0
