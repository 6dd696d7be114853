"""One contract suite for the KPI recording port, run against the in-memory fake and the Redis adapter."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi import recorder as R
from kpi.recorder import BUCKETS, BestEffortRecorder, MemoryKpiRecorder, RedisKpiRecorder, bucket_index
from tests.conftest import BACKENDS, redis_for

DAY = dt.date(2026, 11, 20)
NEXT = dt.date(2026, 11, 21)


@pytest.fixture(params=BACKENDS)
def rec(request):
    # 2026-11-20 15:30 UTC = 2026-11-21 00:30 JST: "today" must follow Japan's calendar, not UTC's
    clock = lambda: dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC).timestamp()  # noqa: E731
    if request.param == "memory":
        return MemoryKpiRecorder(clock=clock)
    return RedisKpiRecorder(redis_for(request), clock=clock)


async def test_counters_accumulate_per_tenant_and_day(rec):
    for _ in range(3):
        await rec.message_received("demo", DAY)
    await rec.message_received("demo", NEXT)
    await rec.message_received("suita", DAY)
    await rec.friend_added("demo", DAY)
    await rec.friend_removed("demo", DAY)
    d, n = await rec.days("demo", [DAY, NEXT])
    assert (d.day, d.get(R.MESSAGES), d.get(R.FRIENDS_ADDED), d.get(R.FRIENDS_REMOVED)) == (DAY, 3, 1, 1)
    assert n.get(R.MESSAGES) == 1
    assert (await rec.days("suita", [DAY]))[0].get(R.MESSAGES) == 1


async def test_default_day_is_today_in_japan(rec):
    await rec.message_received("demo")
    jst_day, utc_day = await rec.days("demo", [dt.date(2026, 11, 21), dt.date(2026, 11, 20)])
    assert jst_day.get(R.MESSAGES) == 1 and utc_day.get(R.MESSAGES) == 0


async def test_faq_counters(rec):
    await rec.faq_answered("demo", resolved=True, day=DAY)
    await rec.faq_answered("demo", resolved=False, day=DAY)
    await rec.faq_unanswered("demo", DAY)
    await rec.faq_feedback("demo", up=True, day=DAY)
    await rec.faq_feedback("demo", up=True, day=DAY)
    await rec.faq_feedback("demo", up=False, day=DAY)
    (d,) = await rec.days("demo", [DAY])
    assert [d.get(m) for m in (R.FAQ_ANSWERED, R.FAQ_RESOLVED, R.FAQ_UNANSWERED, R.FAQ_UP, R.FAQ_DOWN)] == [2, 1, 1, 2, 1]


async def test_consultations_keep_category_outside_hours_and_wait_histogram(rec):
    await rec.consultation_opened("demo", "dv", outside_hours=True, day=DAY)
    await rec.consultation_opened("demo", "dv", outside_hours=False, day=DAY)
    await rec.consultation_opened("demo", "child", outside_hours=False, day=DAY)
    await rec.consultation_taken("demo", "dv", wait_seconds=40, day=DAY)
    await rec.consultation_taken("demo", "child", wait_seconds=100_000, day=DAY)
    (d,) = await rec.days("demo", [DAY])
    assert d.get(R.CONSULT_OPENED) == 3 and d.get(R.CONSULT_OUTSIDE) == 1
    assert d.breakdown(R.CONSULT_OPENED) == {"dv": 2, "child": 1}
    hist = d.histogram(R.WAIT)
    assert len(hist) == len(BUCKETS) + 1
    assert hist[bucket_index(40)] == 1 and hist[-1] == 1 and sum(hist) == 2


async def test_alerts_and_broadcasts(rec):
    await rec.alert_delivered("demo", "VPWW55", recipients=120, latency_seconds=35, day=DAY)
    await rec.alert_delivered("demo", "VXSE53", recipients=80, latency_seconds=12, day=DAY)
    await rec.broadcast_sent("demo", recipients=300, day=DAY)
    (d,) = await rec.days("demo", [DAY])
    assert d.get(R.ALERTS) == 2 and d.get(R.ALERT_RECIPIENTS) == 200
    assert d.breakdown(R.ALERTS) == {"VPWW55": 1, "VXSE53": 1}
    assert sum(d.histogram(R.LATENCY)) == 2
    await rec.reminder_sent("demo", recipients=45, day=DAY)
    (d,) = await rec.days("demo", [DAY])
    assert (d.get(R.BROADCASTS), d.get(R.BROADCAST_RECIPIENTS)) == (1, 300)
    assert (d.get(R.REMINDERS), d.get(R.REMINDER_RECIPIENTS)) == (1, 45) and d.get(R.ALERTS) == 2


async def test_snapshot_replaces_the_days_previous_snapshot(rec):
    await rec.subscribers_snapshot("demo", friends=50, subscribers=40, by_area={"27102": 30, "27103": 10},
                                   by_category={"rain_flood": 40}, by_language={"ja": 45, "en": 5}, day=DAY)
    await rec.subscribers_snapshot("demo", friends=52, subscribers=41, by_area={"27102": 41},
                                   by_category={"rain_flood": 41}, by_language={"ja": 52}, day=DAY)
    (d,) = await rec.days("demo", [DAY])
    assert d.snapshot[R.SNAP_FRIENDS] == 52
    assert d.snap_breakdown(R.SNAP_AREA) == {"27102": 41}  # 27103 of the earlier snapshot is gone
    assert d.snap_breakdown(R.SNAP_LANGUAGE) == {"ja": 52}


async def test_nothing_recorded_reads_as_empty(rec):
    (d,) = await rec.days("demo", [DAY])
    assert d.counters == {} and d.snapshot is None and sum(d.histogram(R.WAIT)) == 0


async def test_labels_that_look_like_text_or_user_ids_are_not_stored(rec):
    await rec.consultation_opened("demo", "死にたい 助けて", outside_hours=False, day=DAY)
    await rec.consultation_opened("demo", "U" + "0123456789abcdef" * 2, outside_hours=False, day=DAY)
    (d,) = await rec.days("demo", [DAY])
    assert d.breakdown(R.CONSULT_OPENED) == {"other": 2}


async def test_redis_keys_follow_the_tenant_hash_tag_and_expire(redis):
    rec = RedisKpiRecorder(redis, retention_days=10)
    await rec.message_received("demo", DAY)
    await rec.subscribers_snapshot("demo", friends=1, subscribers=1, by_area={}, by_category={}, by_language={}, day=DAY)
    keys = sorted(await redis.keys("*"))
    assert keys == ["cb:{demo}:kpi:day:2026-11-20", "cb:{demo}:kpi:snap:2026-11-20"]
    for k in keys:
        assert 0 < await redis.ttl(k) <= 10 * 86400
    # no field or value anywhere holds anything but counters
    assert all(v.isdigit() for v in (await redis.hgetall(keys[0])).values())


async def test_best_effort_recorder_swallows_errors():
    class Broken(MemoryKpiRecorder):
        async def _bump(self, tenant, day, incs):
            raise ConnectionError("redis down")

    rec = BestEffortRecorder(Broken())
    await rec.message_received("demo", DAY)  # must not raise
    assert (await rec.days("demo", [DAY]))[0].counters == {}


async def test_seed_demo_writes_the_same_history_in_bulk(rec):
    from kpi.demo import seed_demo
    from tests.helpers import tenant

    tenants = {"osaka": tenant("osaka", lg_code="271004"), "kanan": tenant("kanan", lg_code="273821")}
    await seed_demo(rec, tenants, end=DAY, days=3)
    days = [DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1), DAY]
    big = await rec.days("osaka", days)
    assert all(d.get(R.MESSAGES) > 100 and d.snapshot and d.snap_breakdown(R.SNAP_AREA) for d in big)
    assert set(big[0].snap_breakdown(R.SNAP_AREA)) <= {f"271{n:02d}" for n in range(2, 29)}  # 大阪市's wards
    assert sum(sum(d.histogram(R.WAIT)) for d in big) == sum(d.get(R.CONSULT_TAKEN) for d in big)
