"""Composer: drafts, two-person approval for everyone-broadcasts, scheduling, cancel; one store contract."""

from __future__ import annotations

import pytest

from bot.users import MemoryUserStore, User
from broadcasts.composer import (
    ComposerError,
    Draft,
    MemoryDraftStore,
    RedisDraftStore,
    approve,
    cancel,
    compose,
    dispatch_due,
)
from broadcasts.friends import FriendsAudience
from broadcasts.jobs import MemoryDeliverer
from tests.conftest import BACKENDS, redis_for

NOW = 1_800_000_000.0


class AreaAudience:
    """Friends for all_friends; for an area query, users whose id ends with the area code."""

    def __init__(self, users):
        self.friends = FriendsAudience(users)

    async def resolve(self, query):
        async for r in self.friends.resolve(query.__class__(tenant=query.tenant, all_friends=True)):
            if query.all_friends or not query.area_codes or any(r.user_id.endswith(a) for a in query.area_codes):
                yield r


@pytest.fixture
async def env():
    users = MemoryUserStore()
    for uid in ("U1-27205", "U2-27205", "U3-27100"):
        await users.save(User(tenant="t1", user_id=uid))
    return MemoryDraftStore(), MemoryDeliverer(), AreaAudience(users)


async def test_an_area_broadcast_goes_out_at_once_with_its_audience_size(env):
    drafts, deliverer, audience = env
    d = await compose(drafts, deliverer, audience, tenant="t1", by="alice", text="断水のお知らせ", area_codes=["27205"], now=NOW)
    assert d.state == "sent" and d.audience_size == 2
    job = deliverer.jobs[d.job_id]
    assert job.source_id == f"composer:{d.id}" and job.audience.area_codes == ("27205",) and job.priority == "routine"
    assert job.messages == {"ja": [{"type": "text", "text": "断水のお知らせ"}]}


async def test_link_and_image_become_part_of_the_messages(env):
    drafts, deliverer, audience = env
    d = await compose(
        drafts, deliverer, audience, tenant="t1", by="alice", text="詳細はこちら", area_codes=["27205"],
        link_url="https://city.example.jp/a", image_url="https://city.example.jp/a.png", now=NOW,
    )
    msgs = deliverer.jobs[d.job_id].messages["ja"]
    assert msgs[0]["text"] == "詳細はこちら\nhttps://city.example.jp/a"
    assert msgs[1] == {"type": "image", "originalContentUrl": "https://city.example.jp/a.png", "previewImageUrl": "https://city.example.jp/a.png"}


async def test_everyone_needs_a_second_person(env):
    drafts, deliverer, audience = env
    d = await compose(drafts, deliverer, audience, tenant="t1", by="alice", text="全員へ", all_friends=True, now=NOW)
    assert d.state == "awaiting_approval" and deliverer.jobs == {} and d.audience_size == 3
    with pytest.raises(ComposerError):
        await approve(drafts, deliverer, "t1", d.id, "alice", now=NOW)
    ok = await approve(drafts, deliverer, "t1", d.id, "bob", now=NOW)
    assert ok.state == "sent" and ok.approved_by == "bob" and ok.job_id in deliverer.jobs
    with pytest.raises(ComposerError):
        await approve(drafts, deliverer, "t1", d.id, "carol", now=NOW)


async def test_no_area_means_everyone_and_needs_approval_too(env):
    drafts, deliverer, audience = env
    d = await compose(drafts, deliverer, audience, tenant="t1", by="alice", text="全域", now=NOW)
    assert d.state == "awaiting_approval"


async def test_scheduled_draft_is_released_when_due_once(env):
    drafts, deliverer, audience = env
    d = await compose(drafts, deliverer, audience, tenant="t1", by="a", text="明日の点検", area_codes=["27100"], send_at=NOW + 3600, now=NOW)
    assert d.state == "scheduled"
    assert await dispatch_due(drafts, deliverer, ["t1"], now=NOW + 10) == 0
    assert await dispatch_due(drafts, deliverer, ["t1"], now=NOW + 3600) == 1
    assert await dispatch_due(drafts, deliverer, ["t1"], now=NOW + 3700) == 0
    assert (await drafts.get("t1", d.id)).state == "sent" and len(deliverer.jobs) == 1


async def test_cancel_a_scheduled_or_waiting_draft(env):
    drafts, deliverer, audience = env
    d = await compose(drafts, deliverer, audience, tenant="t1", by="a", text="予約", area_codes=["27100"], send_at=NOW + 60, now=NOW)
    c = await cancel(drafts, "t1", d.id, "b")
    assert c.state == "cancelled" and c.cancelled_by == "b"
    assert await dispatch_due(drafts, deliverer, ["t1"], now=NOW + 120) == 0
    with pytest.raises(ComposerError):
        await cancel(drafts, "t1", d.id, "b")


async def test_sent_draft_is_cancelled_through_the_engine(env):
    drafts, deliverer, audience = env
    d = await compose(drafts, deliverer, audience, tenant="t1", by="a", text="x", area_codes=["27100"], now=NOW)
    stopped = []

    async def cancel_job(job_id):
        stopped.append(job_id)
        return True

    assert (await cancel(drafts, "t1", d.id, "b", cancel_job)).state == "cancelled"
    assert stopped == [d.job_id]


@pytest.mark.parametrize(
    "kwargs",
    [{"text": ""}, {"text": "あ" * 5001}, {"link_url": "http://insecure.example"}, {"image_url": "javascript:alert(1)"},
     {"send_at": NOW - 3600}],
)
async def test_invalid_drafts_are_refused(env, kwargs):
    drafts, deliverer, audience = env
    args = {"text": "本文", **kwargs}
    with pytest.raises(ComposerError):
        await compose(drafts, deliverer, audience, tenant="t1", by="a", area_codes=["27100"], now=NOW, **args)


@pytest.fixture(params=BACKENDS)
def store(request):
    return MemoryDraftStore() if request.param == "memory" else RedisDraftStore(redis_for(request))


async def test_draft_store_contract(store):
    a = Draft(id="a", tenant="t1", text="x", created_by="u", created_at=1.0, area_codes=("27100",), state="scheduled", send_at=100.0)
    b = Draft(id="b", tenant="t1", text="y", created_by="u", created_at=2.0, state="awaiting_approval")
    c = Draft(id="c", tenant="t2", text="z", created_by="u", created_at=3.0, state="scheduled", send_at=50.0)
    for d in (a, b, c):
        await store.save(d)
    assert await store.get("t1", "a") == a
    assert await store.get("t2", "a") is None
    assert [d.id for d in await store.recent("t1")] == ["b", "a"]
    assert [d.id for d in await store.due("t1", 99.0)] == []
    assert [d.id for d in await store.due("t1", 100.0)] == ["a"]
    from dataclasses import replace

    await store.save(replace(a, state="sent", job_id="t1.x"))
    assert await store.due("t1", 1000.0) == []
    assert (await store.get("t1", "a")).job_id == "t1.x"


async def test_ticking_every_area_needs_approval_like_everyone(env):
    """Review finding 8: ticking every area instead of "all friends" reached everyone without a second person."""
    drafts, deliverer, audience = env
    every_area = [f"27{n:03d}" for n in range(100, 400, 7)]
    d = await compose(drafts, deliverer, audience, tenant="t1", by="alice", text="全域", area_codes=every_area, now=NOW)
    assert d.state == "awaiting_approval" and deliverer.jobs == {}
    few = await compose(drafts, deliverer, audience, tenant="t1", by="alice", text="近所", area_codes=["27205", "27100"], now=NOW)
    assert few.state == "sent"
