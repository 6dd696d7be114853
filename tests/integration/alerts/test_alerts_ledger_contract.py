"""AlertLedger contract (memory and Redis): levels already pushed per area, and the jobs a 取消 must follow."""

from __future__ import annotations

import json

import pytest

from alerts.service import MemoryAlertLedger, RedisAlertLedger, SentAlert
from tests.conftest import BACKENDS, redis_for


@pytest.fixture(params=BACKENDS)
def ledger(request):
    return MemoryAlertLedger() if request.param == "memory" else RedisAlertLedger(redis_for(request))


def _sent(source_id: str, **titles: str) -> SentAlert:
    return SentAlert("demo", source_id, "大阪府レベル４土砂災害危険警報", "landslide", "emergency", "2026-07-01T11:30:00+09:00", titles)


async def test_ranks_merge_and_clear(ledger):
    assert await ledger.ranks("VPWW55:大阪") == {}
    await ledger.save_ranks("VPWW55:大阪", {"27205:大雨": 4, "27100:大雨": 3})
    await ledger.save_ranks("VPWW55:大阪", {"27205:大雨": 0})
    assert await ledger.ranks("VPWW55:大阪") == {"27205:大雨": 0, "27100:大雨": 3}
    await ledger.clear("VPWW55:大阪")
    assert await ledger.ranks("VPWW55:大阪") == {}


async def test_sent_jobs_keep_order_and_the_per_language_names(ledger):
    await ledger.add_sent("VXWW50:大阪府", [_sent("a", ja="土砂災害警戒情報", en="landslide alert (level 4)")])
    await ledger.add_sent("VXWW50:大阪府", [_sent("b")])
    await ledger.add_sent("VXWW50:大阪府", [])
    got = await ledger.sent("VXWW50:大阪府")
    assert [s.source_id for s in got] == ["a", "b"]
    assert got[0].titles == {"ja": "土砂災害警戒情報", "en": "landslide alert (level 4)"} and got[1].titles == {}
    assert await ledger.sent("other") == []


async def test_redis_reads_records_written_before_titles_existed(redis):
    old = {"tenant": "demo", "source_id": "a", "title": "震度速報", "link_kind": "earthquake", "priority": "alert", "reported_at": "x"}
    await redis.rpush("cb:{jma}:alerts:jobs:eq:1", json.dumps(old, ensure_ascii=False))
    (s,) = await RedisAlertLedger(redis).sent("eq:1")
    assert s.title == "震度速報" and s.titles == {}
