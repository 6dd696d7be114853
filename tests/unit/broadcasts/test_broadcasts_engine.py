"""Delivery engine behaviour against the embedded Redis and a fake LINE that honours retry keys.

The fake's ``delivered`` counter is the judge: every recipient exactly once, whatever LINE or the workers do.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from broadcasts.audience import AudienceQuery, Recipient
from broadcasts.jobs import DeliveryJob
from broadcasts.line import QuotaReading, SendOutcome
from broadcasts.quota import QuotaPolicy
from broadcasts.store import Keys
from tests.unit.broadcasts.conftest import FAST, Running, add_users, job_done, make_worker, wait_for

TEXT = {"ja": [{"type": "text", "text": "テストのお知らせです。"}]}


def job(tenant="t1", priority="routine", source_id=None, messages=None, **aud) -> DeliveryJob:
    extra = {"source_id": source_id} if source_id else {}
    return DeliveryJob(
        tenant=tenant,
        audience=AudienceQuery(tenant=tenant, all_friends=True, **aud),
        messages=messages or TEXT,
        priority=priority,
        **extra,
    )


def assert_exactly_once(line, tenant: str, ids: list[str]) -> None:
    got = {uid: n for (t, uid), n in line.delivered.items() if t == tenant}
    assert set(got) == set(ids)
    assert [uid for uid, n in got.items() if n != 1] == []


async def deliver(deliverer, worker, j: DeliveryJob) -> str:
    job_id = await deliverer.submit(j)
    running = Running(worker)
    try:
        await wait_for(await job_done(deliverer, job_id))
    finally:
        await running.halt()
    return job_id


async def test_submit_is_idempotent_on_tenant_and_source_id(deliverer, redis):
    first = await deliverer.submit(job(source_id="jma:abc"))
    again = await deliverer.submit(job(source_id="jma:abc"))
    other_tenant = await deliverer.submit(job(tenant="t2", source_id="jma:abc"))
    assert first == again
    assert other_tenant != first
    assert await redis.xlen(Keys("t1").queue("routine")) == 1


async def test_submit_refuses_job_without_japanese_fallback(deliverer):
    with pytest.raises(ValueError):
        await deliverer.submit(job(messages={"en": [{"type": "text", "text": "hi"}]}))


async def test_batches_per_language_at_most_500_and_single_recipient_is_a_push(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 1001, languages=("ja", "ja", "en"))  # 668 ja, 333 en
    ids += await add_users(users, "t1", 1, languages=("vi",), start=5000)
    messages = {**TEXT, "en": [{"type": "text", "text": "Notice"}], "vi": [{"type": "text", "text": "Thông báo"}]}
    job_id = await deliver(deliverer, make_worker(redis, line, users), job(messages=messages))

    assert_exactly_once(line, "t1", ids)
    assert all(len(r.to) <= 500 for r in line.requests)
    by_lang = {r.messages[0]["text"]: r for r in line.requests}
    assert by_lang["Thông báo"].endpoint == "push"
    for r in line.requests:
        langs = {("en" if users._users[("t1", u)].language == "en" else None) for u in r.to}
        assert len(langs) == 1  # a batch never mixes languages
    st = await deliverer.status(job_id)
    assert (st.recipients, st.sent, st.failed, st.queued, st.state) == (1002, 1002, 0, 0, "done")
    assert st.first_send_at <= st.last_send_at <= st.finished_at
    assert st.duration is not None
    from broadcasts.service import format_status

    text = format_status(st)
    assert "sent 1002" in text and "batches 4/4" in text and job_id in text


async def test_unknown_language_falls_back_to_japanese(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 3, languages=("ko",))
    await deliver(deliverer, make_worker(redis, line, users), job())
    assert_exactly_once(line, "t1", ids)
    assert line.requests[0].messages == TEXT["ja"]


async def test_exactly_once_under_429_5xx_timeouts_and_lost_answers(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 2600)  # 6 batches
    line.queue(
        SendOutcome(429, "Too many requests"),
        SendOutcome(500, "boom"),
        "deliver_then_500",  # delivered, but the worker saw an error: the retry gets 409
        SendOutcome(0, "timeout"),
        SendOutcome(503, "unavailable"),
        "deliver_then_500",
        SendOutcome(502, "bad gateway"),
    )
    job_id = await deliver(deliverer, make_worker(redis, line, users), job())
    assert_exactly_once(line, "t1", ids)
    st = await deliverer.status(job_id)
    assert (st.sent, st.failed, st.state) == (2600, 0, "done")
    assert any(r.status == 409 for r in line.requests)


async def test_every_retry_of_a_batch_reuses_its_stored_retry_key(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 10)
    line.queue(SendOutcome(500), SendOutcome(429), SendOutcome(0, "timeout"))
    job_id = await deliver(deliverer, make_worker(redis, line, users), job())
    keys = {r.retry_key for r in line.requests}
    assert len(line.requests) == 4 and len(keys) == 1
    stored = await redis.hget(Keys("t1").batch(job_id, 0), "key")
    assert keys == {stored}
    assert_exactly_once(line, "t1", ids)


async def test_other_4xx_is_a_failure_with_its_reason_and_is_not_retried(deliverer, redis, line, users):
    await add_users(users, "t1", 700)  # batches of 500 and 200
    line.queue(SendOutcome(400, "The request body has 1 error(s)"))
    job_id = await deliver(deliverer, make_worker(redis, line, users), job())
    st = await deliverer.status(job_id)
    assert st.state == "done"
    assert st.failed in (500, 200) and st.sent == 700 - st.failed
    assert st.failure_reasons == {"http_400": st.failed}
    assert len(line.requests) == 2


async def test_retries_are_bounded(deliverer, redis, line, users):
    await add_users(users, "t1", 2)
    line.queue(*[SendOutcome(500)] * 50)
    opts = FAST.__class__(**{**FAST.__dict__, "max_attempts": 3})
    job_id = await deliver(deliverer, make_worker(redis, line, users, options=opts), job())
    st = await deliverer.status(job_id)
    assert (st.failed, st.failure_reasons) == (2, {"gave_up_http_500": 2})
    assert len(line.requests) == 3


async def test_push_to_a_user_who_blocked_marks_them_inactive(deliverer, redis, line, users):
    (uid,) = await add_users(users, "t1", 1)
    line.blocked.add(uid)
    job_id = await deliver(deliverer, make_worker(redis, line, users), job())
    st = await deliverer.status(job_id)
    assert (st.blocked, st.sent, st.state) == (1, 0, "done")
    assert not await users.is_active("t1", uid)
    # and the next broadcast leaves them out
    line.requests.clear()
    job_id = await deliver(deliverer, make_worker(redis, line, users), job())
    assert line.requests == []
    assert (await deliverer.status(job_id)).recipients == 0


async def test_unfollowed_users_are_not_in_the_audience(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 5)
    await users.set_active("t1", ids[0], False)
    await deliver(deliverer, make_worker(redis, line, users), job())
    assert_exactly_once(line, "t1", ids[1:])


async def test_crashed_worker_batches_are_reclaimed_and_sent_once(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 3000)  # 6 batches
    line.queue("hang", "hang")  # worker A: two requests delivered, then A dies before hearing back
    job_id = await deliverer.submit(job())
    patient = FAST.__class__(**{**FAST.__dict__, "reclaim_idle_seconds": 60})  # A never reclaims its own hung work
    a = Running(make_worker(redis, line, users, name="A", options=patient))
    await wait_for(lambda: _requests_at_least(line, 6))
    await a.crash()
    pending = await redis.xpending(Keys("t1").batches("routine"), "delivery")
    assert pending["pending"] >= 2  # A's entries are still unacknowledged
    b = Running(make_worker(redis, line, users, name="B"))
    try:
        await wait_for(await job_done(deliverer, job_id))
    finally:
        await b.halt()
    assert_exactly_once(line, "t1", ids)
    st = await deliverer.status(job_id)
    assert (st.sent, st.batches_done, st.batches) == (3000, 6, 6)
    assert sum(1 for r in line.requests if r.status == 409) >= 2  # A's hung requests were resent, LINE said 409


async def _requests_at_least(line, n: int) -> bool:
    return len(line.requests) >= n


class StallingAudience:
    """Yields everyone, but the first resolver stalls forever after ``stall_after`` recipients (a planner crash)."""

    def __init__(self, ids: list[str], stall_after: int) -> None:
        self.ids = ids
        self.stall_after = stall_after
        self.calls = 0

    async def resolve(self, query: AudienceQuery):
        self.calls += 1
        first = self.calls == 1
        for i, uid in enumerate(reversed(self.ids) if not first else self.ids):  # a different order on re-plan
            if first and i == self.stall_after:
                await asyncio.Event().wait()
            yield Recipient(uid)


async def test_planner_crash_is_taken_over_without_duplicates(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 3000)
    audience = StallingAudience(ids, stall_after=1300)  # 2 batches committed, 300 recipients in limbo
    opts = FAST.__class__(**{**FAST.__dict__, "plan_chunk": 1})
    patient = FAST.__class__(**{**FAST.__dict__, "plan_chunk": 1, "reclaim_idle_seconds": 60})
    job_id = await deliverer.submit(job())
    a = Running(make_worker(redis, line, users, audience=audience, options=patient, name="A"))
    await wait_for(lambda: _requests_at_least(line, 2))
    await a.crash()
    b = Running(make_worker(redis, line, users, audience=audience, options=opts, name="B"))
    try:
        await wait_for(await job_done(deliverer, job_id))
    finally:
        await b.halt()
    assert_exactly_once(line, "t1", ids)
    st = await deliverer.status(job_id)
    assert (st.recipients, st.sent) == (3000, 3000)


async def test_a_stale_planner_cannot_commit_after_takeover(deliverer, redis):
    job_id = await deliverer.submit(job())
    store = deliverer.store
    assert (await store.claim_plan(job_id, "old"))[0] == "sending"
    assert await store.commit(job_id, "routine", "old", 0, [("ja", "multicast", "k0", ["U1", "U2"])], final=False)
    assert await store.claim_plan(job_id, "new") == ("sending", 1)
    assert not await store.commit(job_id, "routine", "old", 1, [("ja", "multicast", "k1", ["U3"])], final=False)
    assert await store.planned_recipients(job_id, 1) == {"U1", "U2"}


async def test_emergency_preempts_routine(deliverer, redis, line, users):
    await add_users(users, "t1", 6000)  # routine: 12 batches
    line.latency = 0.02
    opts = FAST.__class__(**{**FAST.__dict__, "concurrency": 2})
    routine_id = await deliverer.submit(job(priority="routine"))
    running = Running(make_worker(redis, line, users, options=opts))
    try:
        await wait_for(lambda: _requests_at_least(line, 2))
        emergency_id = await deliverer.submit(job(priority="emergency", source_id="tsunami"))
        sent_before = (await deliverer.status(routine_id)).sent
        await wait_for(await job_done(deliverer, emergency_id))
        routine_when_emergency_done = await deliverer.status(routine_id)
        await wait_for(await job_done(deliverer, routine_id))
    finally:
        await running.halt()
    # at most the routine batches already in flight may finish while the emergency runs
    assert routine_when_emergency_done.sent - sent_before <= opts.concurrency * 500
    assert routine_when_emergency_done.state != "done"
    assert Counter(line.delivered.values()) == Counter({2: 6000})  # each user: one routine, one emergency


async def test_quota_holds_routine_but_never_emergency(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 50)
    line.quota_reading = QuotaReading(limit=1000, used=960)  # 50 more would cross 95 %
    worker = make_worker(redis, line, users)
    routine_id = await deliverer.submit(job(priority="routine"))
    emergency_id = await deliverer.submit(job(priority="emergency", source_id="eq"))
    running = Running(worker)
    try:
        await wait_for(await job_done(deliverer, emergency_id))
        await wait_for(lambda: _state_is(deliverer, routine_id, "held"))
        held = await deliverer.status(routine_id)
        assert (held.sent, held.held) == (0, 50)
        events = await deliverer.events("t1")
        assert {e["type"] for e in events} >= {"quota_warning", "job_held"}
        # the limit is raised: the held job resumes on its own
        line.quota_reading = QuotaReading(limit=10_000, used=1010)
        await redis.hset(Keys("t1").quota, "read_at", 0)
        await wait_for(await job_done(deliverer, routine_id))
    finally:
        await running.halt()
    assert Counter(line.delivered[("t1", u)] for u in ids) == Counter({2: 50})


async def _state_is(deliverer, job_id, state) -> bool:
    return (await deliverer.status(job_id)).state == state


async def test_quota_warnings_are_recorded_once_per_threshold(deliverer, redis, line, users):
    from broadcasts.quota import QuotaGuard

    line.quota_reading = QuotaReading(limit=100, used=85)
    guard = QuotaGuard(deliverer.store, line, QuotaPolicy(refresh_seconds=0))
    await guard.state("t1")
    await guard.state("t1")
    line.quota_reading = QuotaReading(limit=100, used=96)
    await guard.state("t1")
    warnings = [e for e in await deliverer.events("t1") if e["type"] == "quota_warning"]
    assert sorted(float(e["threshold"]) for e in warnings) == [0.8, 0.9, 0.95]


async def test_monthly_limit_429_is_retried_for_emergencies(deliverer, redis, line, users):
    ids = await add_users(users, "t1", 3)
    line.queue(*[SendOutcome(429, "You have reached your monthly limit.")] * 3)
    job_id = await deliver(deliverer, make_worker(redis, line, users), job(priority="emergency"))
    assert (await deliverer.status(job_id)).sent == 3
    assert_exactly_once(line, "t1", ids)


async def test_monthly_limit_retries_keep_the_entry_so_no_worker_takes_it_over(deliverer, redis, line, users, caplog):
    # an emergency batch retried on "monthly limit" longer than the reclaim idle time is still this worker's:
    # it must not be reclaimed (and sent a second time in parallel) by this or another worker
    await add_users(users, "t1", 3)
    line.latency = 0.002
    line.queue(*[SendOutcome(429, "You have reached your monthly limit.")] * 10_000)
    opts = replace(FAST, reclaim_idle_seconds=0.3, reclaim_idle_emergency_seconds=0.3, monthly_limit_retry_seconds=1.2)
    caplog.set_level("INFO", logger="broadcasts.engine")
    job_id = await deliver(deliverer, make_worker(redis, line, users, options=opts), job(priority="emergency"))
    st = await deliverer.status(job_id)
    assert (st.sent, st.failed, st.failure_reasons) == (0, 3, {"monthly_limit": 3})
    assert not [r for r in caplog.records if r.getMessage() == "reclaimed entry"]


async def test_monthly_limit_429_holds_routine(deliverer, redis, line, users):
    await add_users(users, "t1", 3)
    line.queue(SendOutcome(429, "You have reached your monthly limit."))
    job_id = await deliverer.submit(job())
    running = Running(make_worker(redis, line, users))
    try:
        await wait_for(lambda: _state_is(deliverer, job_id, "held"))
    finally:
        await running.halt()
    st = await deliverer.status(job_id)
    assert (st.sent, st.held, st.failure_reasons) == (0, 3, {})


async def test_cancel_settles_unsent_batches(deliverer, redis, line, users):
    await add_users(users, "t1", 10)
    job_id = await deliverer.submit(job())
    assert await deliverer.cancel(job_id)
    await deliver(deliverer, make_worker(redis, line, users), job(source_id="other"))  # runs the worker a while
    running = Running(make_worker(redis, line, users))
    try:
        await wait_for(await job_done(deliverer, job_id))
    finally:
        await running.halt()
    st = await deliverer.status(job_id)
    assert st.state == "cancelled" and st.sent == 0
    assert not await deliverer.cancel(job_id)


async def test_jobs_of_several_tenants_use_their_own_keys(deliverer, redis, line, users):
    a = await add_users(users, "t1", 3)
    b = await add_users(users, "t2", 4)
    worker = make_worker(redis, line, users, tenants=("t1", "t2"))
    j1 = await deliverer.submit(job("t1"))
    j2 = await deliverer.submit(job("t2"))
    running = Running(worker)
    try:
        await wait_for(await job_done(deliverer, j1))
        await wait_for(await job_done(deliverer, j2))
    finally:
        await running.halt()
    assert_exactly_once(line, "t1", a)
    assert_exactly_once(line, "t2", b)
    keys = [k async for k in redis.scan_iter("*")]
    assert keys and all(k.startswith(("cb:{t1}:", "cb:{t2}:")) for k in keys)


async def test_a_job_cancelled_before_planning_sends_nothing_and_finishes(deliverer, redis, line, users):
    await add_users(users, "t1", 600)
    job_id = await deliverer.submit(job())
    assert await deliverer.cancel(job_id)
    running = Running(make_worker(redis, line, users))
    try:
        await wait_for(await job_done(deliverer, job_id))
    finally:
        await running.halt()
    st = await deliverer.status(job_id)
    assert (st.state, st.recipients, st.sent) == ("cancelled", 0, 0) and st.finished_at is not None
    assert line.requests == []


async def test_a_clean_stop_lets_in_flight_batches_finish(deliverer, redis, line, users):
    await add_users(users, "t1", 1000)
    line.latency = 0.3
    job_id = await deliverer.submit(job(priority="emergency"))
    running = Running(make_worker(redis, line, users))
    await wait_for(lambda: _requests_at_least(line, 1))
    await running.halt()  # stop while requests are in flight
    st = await deliverer.status(job_id)
    assert st.sent >= 500 and st.sent == 500 * sum(1 for r in line.requests if r.status == 200)
    pending = await redis.xpending(Keys("t1").batches("emergency"), "delivery")
    assert pending["pending"] == 0  # nothing left for others to reclaim


async def test_kpi_latencies_count_from_the_upstream_report(deliverer, redis, line, users):
    import time as _time

    await add_users(users, "t1", 3)
    reported = _time.time() - 30
    j = DeliveryJob(tenant="t1", audience=AudienceQuery(tenant="t1", all_friends=True), messages=TEXT, priority="alert", reported_at=reported)
    job_id = await deliver(deliverer, make_worker(redis, line, users), j)
    st = await deliverer.status(job_id)
    assert 30 <= st.latency_first <= st.latency_last < 60
    assert st.as_dict()["latency_last"] == st.latency_last


async def test_long_gone_consumers_are_forgotten_unless_they_hold_work(deliverer, redis, line, users):
    stream = Keys("t1").batches("routine")
    await redis.xgroup_create(stream, "delivery", id="0", mkstream=True)
    await redis.xadd(stream, {"job": "t1.x", "n": 0})
    await redis.xreadgroup("delivery", "holder", {stream: ">"}, count=1)  # holds one pending entry
    await redis.xgroup_createconsumer(stream, "delivery", "gone")
    opts = FAST.__class__(**{**FAST.__dict__, "forget_consumers_after": 0.0})
    await asyncio.sleep(0.01)
    await make_worker(redis, line, users, options=opts).forget_dead_consumers()
    names = {c["name"] for c in await redis.xinfo_consumers(stream, "delivery")}
    assert names == {"holder"}


class BrokenAudience:
    async def resolve(self, query):
        raise RuntimeError("subscription store is broken")
        yield  # pragma: no cover


async def test_an_audience_that_always_fails_does_not_loop_forever(deliverer, redis, line, users):
    job_id = await deliverer.submit(job())
    opts = FAST.__class__(**{**FAST.__dict__, "reclaim_idle_seconds": 0.05})
    running = Running(make_worker(redis, line, users, audience=BrokenAudience(), options=opts))
    try:
        await wait_for(await job_done(deliverer, job_id))
    finally:
        await running.halt()
    st = await deliverer.status(job_id)
    assert (st.state, st.recipients) == ("done", 0)
    assert st.error == "audience_error"


async def test_redis_failing_over_mid_batch_is_retried_in_place_not_counted_as_poison(deliverer, redis, line, users):
    """LINE took the multicast, then Redis went away before the batch was settled (a failover): the work is done
    again once Redis answers — re-sent with the same retry key (LINE's 409: no second delivery) — and never counted
    towards the poison limit that settles 500 recipients as failed."""
    ids = await add_users(users, "t1", 1200)
    worker = make_worker(redis, line, users)
    real_finish, refused = worker.store.finish, []

    async def finish_during_failover(batch, *args, **kwargs):
        if len(refused) < 6:  # more than MAX_ERRORS (5)
            refused.append(batch.n)
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:7001. Connection refused.")
        return await real_finish(batch, *args, **kwargs)

    worker.store.finish = finish_during_failover
    job_id = await deliver(deliverer, worker, job(priority="emergency"))
    assert_exactly_once(line, "t1", ids)
    st = await deliverer.status(job_id)
    assert (st.sent, st.failed, st.state) == (1200, 0, "done")
    assert len(refused) == 6
    assert [await redis.hget(Keys("t1").batch(job_id, n), "errors") for n in set(refused)] == [None] * len(set(refused))
    assert len(line.requests) > 3  # the refused settlements were re-sent (and de-duplicated by the retry key)
