"""Garbage through the whole system (emulator → webhook → worker → LINE emulator; reminders through the delivery
engine of the worker process):

a resident asks for two items (one ambiguous → choices), registers an area and the next evening's reminder reaches
them and nobody else, once; a 年末年始 pause suppresses one; an import of a broken CSV reports its rows and changes
nothing (``civicbot garbage import``). The reminder run is started here with a chosen clock — the scheduler's job
(``garbage.tick``) with the real Redis ports, delivery engine queue and quota guard.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
import sys
import time
from urllib.parse import parse_qsl

import pytest

from tests.system import REPO, System, chat_system

pytestmark = pytest.mark.slow

JST = dt.timezone(dt.timedelta(hours=9))
RESIDENT = "U" + "9a7ba9e1".ljust(32, "0")
NEIGHBOUR = "U" + "9a7ba9e2".ljust(32, "0")  # same area, but chose the morning
FRIEND = "U" + "9a7ba9e3".ljust(32, "0")  # only asked a question


@pytest.fixture
def system(tmp_path, redis_url):
    with chat_system(tmp_path, redis_url) as s:
        yield s


def cli(system: System, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=system.env, cwd=REPO, capture_output=True, text=True, timeout=120
    )


def postbacks(delivery: dict) -> list[tuple[str, str]]:
    items = (delivery["messages"][-1].get("quickReply") or {}).get("items", [])
    return [
        (i["action"].get("displayText") or i["action"]["label"], i["action"]["data"])
        for i in items
        if i["action"]["type"] == "postback"
    ]


def tap(system: System, user: str, data: str, n: int) -> dict:
    system.post("/_emulator/send", {"tenant": "demo", "user_id": user, "type": "postback", "data": data})
    return system.wait_messages(user, n)[n - 1]


def ask(system: System, user: str, text: str, n: int) -> dict:
    system.say(user, text)
    return system.wait_messages(user, n)[n - 1]


def body(delivery: dict) -> str:
    return "\n".join(m.get("text", "") for m in delivery["messages"])


async def run_reminders(redis_url: str, emulator: str, now: dt.datetime):
    import redis.asyncio as aioredis

    import garbage
    from bot.users import RedisUserStore
    from broadcasts import QuotaGuard, RedisDeliverer, SdkLinePort
    from broadcasts.store import RedisDeliveryStore
    from garbage.search import LazyAnalyzer

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    line = SdkLinePort({"demo": "demo-token"}, emulator)
    try:
        ports = garbage.redis_ports(client, RedisUserStore(client).active_key)
        deps = garbage.GarbageDeps(ports.datasets, ports.unknown, ports.reminders, LazyAnalyzer(), clock=lambda: now)
        return await garbage.tick(
            deps,
            RedisDeliverer(client),
            QuotaGuard(RedisDeliveryStore(client), line),
            ports.ledger,
            {"demo": ["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"]},
        )
    finally:
        await line.close()
        await client.aclose()


def test_items_registration_reminder_year_end_and_broken_import(system, redis_url, tmp_path):
    # import: a broken file reports its rows and changes nothing; then the sample imports
    broken = tmp_path / "broken"
    shutil.copytree(REPO / "garbage" / "data" / "demo", broken)
    lines = (broken / "target.csv").read_text(encoding="utf-8").splitlines()
    lines[6] = "謎ごみ,なにか,,"
    (broken / "target.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = cli(system, "garbage", "import", "--tenant", "demo", str(broken))
    assert bad.returncode == 1 and "target.csv 7行目" in bad.stderr and "謎ごみ" in bad.stderr
    assert ask(system, FRIEND, "乾電池は何ごみ？", 1)["endpoint"] == "reply"  # no garbage data yet: not ours
    assert "【有害ごみ】" not in body(system.messages_to(FRIEND)[0])
    good = cli(system, "garbage", "import", "--tenant", "demo", str(REPO / "garbage" / "data" / "demo"))
    assert good.returncode == 0, good.stderr
    assert "408 items" in good.stdout

    # two items, one ambiguous
    answer = ask(system, RESIDENT, "乾電池は何ごみ？", 1)
    assert "【有害ごみ】" in body(answer) and "https://www.city.demo.lg.jp/kurashi/gomi/yugai.html" in body(answer)
    choices = ask(system, RESIDENT, "ソファを捨てたい", 2)
    labels = [label for label, _ in postbacks(choices)]
    assert {"ソファ（1人用）", "ソファ（2人用以上）"} <= set(labels)
    sofa = dict(postbacks(choices))["ソファ（1人用）"]
    fee = tap(system, RESIDENT, sofa, 3)
    assert "粗大ごみ" in body(fee) and "手数料400円" in body(fee)

    # register an area (the first of the list: 都島北部) for the evening before; the neighbour for the morning
    menu = ask(system, RESIDENT, "ごみの日のお知らせ", 4)
    area_label, area = postbacks(menu)[0]
    assert area_label.startswith("都島北部")
    times = tap(system, RESIDENT, area, 5)
    eve = next(data for label, data in postbacks(times) if "20:00" in label)
    saved = tap(system, RESIDENT, eve, 6)
    assert "前日 20:00" in body(saved) and "燃やすごみ" in body(saved)
    n = len(system.messages_to(NEIGHBOUR))
    ask(system, NEIGHBOUR, "ごみの日のお知らせ", n + 1)
    tap(system, NEIGHBOUR, area, n + 2)
    morning = next(data for label, data in postbacks(system.messages_to(NEIGHBOUR)[-1]) if "7:00" in label)
    tap(system, NEIGHBOUR, morning, n + 3)

    # Wednesday 2027-01-06 20:01: Thursday is 燃やすごみ in 都島北部 — the resident gets it, nobody else, once
    before = {u: len(system.messages_to(u)) for u in (RESIDENT, NEIGHBOUR, FRIEND)}
    runs = asyncio.run(run_reminders(redis_url, system.emulator, dt.datetime(2027, 1, 6, 20, 1, tzinfo=JST)))
    assert [r.recipients for r in runs] == [1]
    reminder = system.wait_messages(RESIDENT, before[RESIDENT] + 1)[-1]
    assert reminder["endpoint"] == "push"
    assert reminder["messages"][0]["text"].startswith("明日は燃やすごみの日です。")
    assert asyncio.run(run_reminders(redis_url, system.emulator, dt.datetime(2027, 1, 6, 20, 3, tzinfo=JST))) == []

    # 年末年始: Wednesday 2026-12-30 20:01 → Thursday 12/31 would be 燃やすごみ, but the centre pauses
    runs = asyncio.run(run_reminders(redis_url, system.emulator, dt.datetime(2026, 12, 30, 20, 1, tzinfo=JST)))
    assert [r.recipients for r in runs] == [0]
    time.sleep(2)  # give the delivery engine time to (wrongly) send anything more
    after = {u: len(system.messages_to(u)) for u in (RESIDENT, NEIGHBOUR, FRIEND)}
    assert after == {RESIDENT: before[RESIDENT] + 1, NEIGHBOUR: before[NEIGHBOUR], FRIEND: before[FRIEND]}
    assert dict(parse_qsl(area))["room"] == "garbage"
