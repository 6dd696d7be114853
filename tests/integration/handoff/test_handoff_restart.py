"""Durability: a web/worker restart (new processes = new clients, new apps) loses nothing and keeps the lock."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

import handoff
from bot.chat import Incoming
from handoff import HandoffDeps, RecordingLinePort, RedisHandoffBus, RedisHandoffStore
from handoff.testing import build_app, demo_tenants, login
from staff import RedisStaffStore, add_staff, fast_policy

PW = "correct horse battery"
TENANTS = demo_tenants()


def _fresh(redis_url: str):
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    deps = HandoffDeps(store=RedisHandoffStore(client), bus=RedisHandoffBus(client), line=RecordingLinePort())
    return client, deps, RedisStaffStore(client)


async def test_restart_keeps_lock_transcript_and_session(redis, redis_url):
    policy = fast_policy()
    client1, deps1, staff1 = _fresh(redis_url)
    for user in ("alice", "bob"):
        await add_staff(staff1, "demo", user, "counsellor", PW, hasher=policy.hasher)
    cid = (await handoff.request_handoff(deps1, TENANTS["demo"], "U1", risk="high")).conversation_id
    async with TestClient(TestServer(build_app(staff1, deps1, TENANTS, policy=policy))) as web1:
        csrf = await login(web1, "demo", "alice", PW)
        assert (await web1.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": csrf})).status == 200
        cookie = web1.session.cookie_jar.filter_cookies(web1.make_url("/"))["cb_staff"].value
    await handoff.on_resident_message(
        deps1, TENANTS["demo"], "U1", Incoming(tenant=TENANTS["demo"], user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0, text="続きです")
    )
    await client1.aclose()  # web and worker are gone

    client2, deps2, staff2 = _fresh(redis_url)
    assert await handoff.is_held(deps2, "demo", "U1")  # the new worker keeps the bot silent
    async with TestClient(TestServer(build_app(staff2, deps2, TENANTS, policy=policy))) as web2:
        headers = {"Cookie": f"cb_staff={cookie}"}
        detail = await (await web2.get(f"/console/api/conversations/{cid}", headers=headers)).json()
        assert detail["conversation"]["holder"] == "alice" and detail["transcript"][-1]["text"] == "続きです"
        sent = await web2.post(
            f"/console/api/conversations/{cid}/send", json={"text": "お待たせしました", "client_id": "r1"}, headers={**headers, "X-CSRF-Token": csrf}
        )
        assert sent.status == 200 and deps2.line.texts_to("U1") == ["お待たせしました"]
        bob_csrf = await login(web2, "demo", "bob", PW)
        taken = await web2.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": bob_csrf})
        assert taken.status == 409  # the lock survived the restart
    await client2.aclose()
