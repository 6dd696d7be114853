"""Operator functions (CLI) and the friends audience."""

from __future__ import annotations

import pytest

from bot.users import MemoryUserStore, User
from broadcasts.audience import AudienceQuery
from broadcasts.friends import FriendsAudience
from broadcasts.jobs import MemoryDeliverer
from broadcasts.service import format_status, seed_subscribers, send_broadcast, synthetic_user_id


async def test_seeded_subscribers_are_marked_synthetic_and_reseeding_adds_nobody():
    users = MemoryUserStore()
    calls = []

    async def subscribe(tenant, uid, lang, i):
        calls.append((tenant, uid, lang))

    await seed_subscribers(users, "t1", 10, languages=("ja", "en"), subscribe=subscribe)
    await seed_subscribers(users, "t1", 10, languages=("ja", "en"))
    assert await users.count_active("t1") == 10
    first = await users.get("t1", synthetic_user_id("t1", 0))
    assert first.synthetic and first.language == "ja"
    assert (await users.get("t1", synthetic_user_id("t1", 1))).language == "en"
    assert len(calls) == 10 and calls[1] == ("t1", synthetic_user_id("t1", 1), "en")
    assert synthetic_user_id("t1", 0) != synthetic_user_id("t2", 0)
    assert len(synthetic_user_id("t1", 0)) == 33 and synthetic_user_id("t1", 0).startswith("U")


async def test_send_broadcast_builds_a_job_for_all_or_one_area():
    d = MemoryDeliverer()
    job_id = await send_broadcast(d, "t1", "断水のお知らせです。", all_friends=True)
    job = d.jobs[job_id]
    assert job.audience == AudienceQuery(tenant="t1", all_friends=True)
    assert job.messages == {"ja": [{"type": "text", "text": "断水のお知らせです。"}]}
    assert job.priority == "routine" and job.kind == "broadcast"
    area_id = await send_broadcast(d, "t1", "x", area="27205")
    assert d.jobs[area_id].audience.area_codes == ("27205",)
    assert await send_broadcast(d, "t1", "x", area="27205", source_id="s1") == await send_broadcast(
        d, "t1", "y", area="27205", source_id="s1"
    )


@pytest.mark.parametrize(
    "kwargs", [{"all_friends": True, "area": "27205"}, {}, {"all_friends": True, "text": ""}, {"all_friends": True, "text": "あ" * 5001}]
)
async def test_send_broadcast_rejects_bad_arguments(kwargs):
    text = kwargs.pop("text", "こんにちは")
    with pytest.raises(ValueError):
        await send_broadcast(MemoryDeliverer(), "t1", text, **kwargs)


async def test_friends_audience_yields_active_friends_with_their_language():
    users = MemoryUserStore()
    await users.save(User(tenant="t1", user_id="U1", language="en"))
    await users.save(User(tenant="t1", user_id="U2"))
    await users.save(User(tenant="t1", user_id="U3", active=False))
    await users.save(User(tenant="t2", user_id="U4"))
    got = [r async for r in FriendsAudience(users).resolve(AudienceQuery(tenant="t1", all_friends=True))]
    assert sorted((r.user_id, r.language) for r in got) == [("U1", "en"), ("U2", "ja")]
    en = [r async for r in FriendsAudience(users).resolve(AudienceQuery(tenant="t1", all_friends=True, languages=("en",)))]
    assert [r.user_id for r in en] == ["U1"]


async def test_friends_audience_hands_other_queries_to_its_fallback():
    with pytest.raises(ValueError):
        [r async for r in FriendsAudience(MemoryUserStore()).resolve(AudienceQuery(tenant="t1", area_codes=("27205",)))]


def test_status_text_for_unknown_job():
    assert format_status(None) == "unknown job"
