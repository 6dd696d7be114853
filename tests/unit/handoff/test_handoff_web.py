"""Console HTTP/WebSocket: tenant isolation, who may read what, CSRF, origin check, live events."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

import handoff
from handoff import HandoffDeps, MemoryHandoffBus, MemoryHandoffStore, RecordingLinePort
from handoff.testing import build_app, demo_tenants, login
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from tests.helpers import ManualClock

PW = "correct horse battery"
TENANTS = demo_tenants()


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
async def env(clock):
    staff_store = MemoryStaffStore()
    policy = fast_policy(clock=clock)
    hasher = policy.hasher
    for tenant, user, role in [("demo", "alice", "counsellor"), ("demo", "bob", "counsellor"), ("demo", "sam", "supervisor"), ("demo", "ed", "editor"), ("suita", "sue", "supervisor")]:
        await add_staff(staff_store, tenant, user, role, PW, hasher=hasher)
    deps = HandoffDeps(store=MemoryHandoffStore(), bus=MemoryHandoffBus(), line=RecordingLinePort())
    app = build_app(staff_store, deps, TENANTS, policy=policy, session_check_seconds=0.05)
    clients = []

    async def client_for(tenant: str, user: str) -> tuple[TestClient, str]:
        client = TestClient(TestServer(app) if not clients else clients[0].server)
        if not clients:
            await client.start_server()
        clients.append(client)
        return client, await login(client, tenant, user, PW)

    yield deps, staff_store, client_for
    for c in reversed(clients):
        await c.close()


async def _queued(deps, user="U1", risk="normal") -> str:
    return (await handoff.request_handoff(deps, TENANTS["demo"], user, risk=risk, summary="相談")).conversation_id


async def test_console_page_for_console_roles_only(env):
    deps, _, client_for = env
    client, _ = await client_for("demo", "alice")
    resp = await client.get("/console", headers={"Accept": "text/html"})
    assert resp.status == 200 and "相談コンソール" in await resp.text()
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    editor, _ = await client_for("demo", "ed")
    assert (await editor.get("/console")).status == 403


async def test_queue_state_has_no_line_user_ids(env):
    deps, _, client_for = env
    await _queued(deps, "U-secret-line-id", risk="crisis")
    await _queued(deps, "U2")
    client, _ = await client_for("demo", "alice")
    state = await (await client.get("/console/api/state")).json()
    assert [q["risk"] for q in state["queue"]] == ["crisis", "normal"]
    assert "U-secret-line-id" not in str(state) and state["queue"][0]["name"].startswith("相談者-")
    assert state["live"] == []  # counsellors do not get the supervisor view


async def test_other_tenants_conversation_is_not_found(env):
    deps, _, client_for = env
    cid = await _queued(deps)
    client, csrf = await client_for("suita", "sue")
    assert (await client.get(f"/console/api/conversations/{cid}")).status == 404
    assert (await client.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": csrf})).status == 404
    assert (await (await client.get("/console/api/state")).json())["queue"] == []


async def test_counsellor_reads_only_what_they_hold_supervisor_reads_all(env):
    deps, _, client_for = env
    cid = await _queued(deps)
    alice, csrf = await client_for("demo", "alice")
    bob, _ = await client_for("demo", "bob")
    sam, _ = await client_for("demo", "sam")
    assert (await alice.get(f"/console/api/conversations/{cid}")).status == 403  # queued: nobody holds it yet
    assert (await alice.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": csrf})).status == 200
    assert (await alice.get(f"/console/api/conversations/{cid}")).status == 200
    assert (await bob.get(f"/console/api/conversations/{cid}")).status == 403
    detail = await (await sam.get(f"/console/api/conversations/{cid}")).json()
    assert detail["can_write"] is False and detail["transcript"][0]["sender"] == "system"
    assert (await sam.get(f"/console/api/conversations/{cid}/export")).status == 200
    assert (await alice.get(f"/console/api/conversations/{cid}/export")).status == 403


async def test_post_without_csrf_is_rejected(env):
    deps, _, client_for = env
    cid = await _queued(deps)
    client, _ = await client_for("demo", "alice")
    assert (await client.post(f"/console/api/conversations/{cid}/take", json={})).status == 403
    assert (await client.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": "x" * 43})).status == 403
    assert (await deps.store.get("demo", cid)).status == "queued"


async def test_second_take_gets_409(env):
    deps, _, client_for = env
    cid = await _queued(deps)
    alice, a_csrf = await client_for("demo", "alice")
    bob, b_csrf = await client_for("demo", "bob")
    ra, rb = await asyncio.gather(
        alice.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": a_csrf}),
        bob.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": b_csrf}),
    )
    assert sorted([ra.status, rb.status]) == [200, 409]


async def test_reply_view_and_audit(env):
    deps, staff_store, client_for = env
    cid = await _queued(deps)
    alice, csrf = await client_for("demo", "alice")
    h = {"X-CSRF-Token": csrf}
    await alice.post(f"/console/api/conversations/{cid}/take", json={}, headers=h)
    resp = await alice.post(f"/console/api/conversations/{cid}/send", json={"text": "こんにちは", "client_id": "k1"}, headers=h)
    assert resp.status == 200
    assert deps.line.texts_to("U1")[-1] == "こんにちは"
    await alice.get(f"/console/api/conversations/{cid}")
    actions = [(e.actor, e.action, e.target) for e in await staff_store.audit_log("demo")]
    assert ("alice", "handoff.view", cid) in actions and ("alice", "handoff.send", cid) in actions
    assert all("こんにちは" not in str(e.detail) for e in await staff_store.audit_log("demo"))


async def test_websocket_needs_same_origin_and_token(env):
    deps, _, client_for = env
    client, csrf = await client_for("demo", "alice")
    origin = f"http://{client.host}:{client.port}"
    assert (await client.get(f"/console/ws?csrf={csrf}", headers={"Origin": "http://evil.example"})).status == 403
    assert (await client.get("/console/ws?csrf=wrong", headers={"Origin": origin})).status == 403
    ws = await client.ws_connect(f"/console/ws?csrf={csrf}", origin=origin)
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await ws.close()


async def test_websocket_streams_messages_only_to_readers(env):
    deps, _, client_for = env
    cid = await _queued(deps)
    alice, csrf = await client_for("demo", "alice")
    bob, bob_csrf = await client_for("demo", "bob")
    await alice.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": csrf})
    ws_a = await alice.ws_connect(f"/console/ws?csrf={csrf}", origin=f"http://{alice.host}:{alice.port}")
    ws_b = await bob.ws_connect(f"/console/ws?csrf={bob_csrf}", origin=f"http://{bob.host}:{bob.port}")
    assert (await ws_a.receive_json(timeout=5))["type"] == "hello"
    assert (await ws_b.receive_json(timeout=5))["type"] == "hello"
    from bot.chat import Incoming

    await handoff.on_resident_message(
        deps, TENANTS["demo"], "U1", Incoming(tenant=TENANTS["demo"], user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0, text="<img src=x onerror=alert(1)>")
    )
    await deps.bus.publish("demo", {"type": "queue", "cid": "marker"})
    got_a = await ws_a.receive_json(timeout=5)
    assert got_a["type"] == "message" and got_a["message"]["text"] == "<img src=x onerror=alert(1)>"
    got_b = await ws_b.receive_json(timeout=5)
    assert got_b == {"type": "queue", "cid": "marker"}  # bob never saw the message body
    for ws in (ws_a, ws_b):
        await ws.close()
        assert ws.closed or (await ws.receive()).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)


async def test_a_waiting_residents_message_refreshes_queues_without_its_body(env):
    from bot.chat import Incoming

    deps, _, client_for = env
    cid = await _queued(deps)
    alice, csrf = await client_for("demo", "alice")
    ws = await alice.ws_connect(f"/console/ws?csrf={csrf}", origin=f"http://{alice.host}:{alice.port}")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await handoff.on_resident_message(
        deps, TENANTS["demo"], "U1", Incoming(tenant=TENANTS["demo"], user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0, text="まだですか")
    )
    assert await ws.receive_json(timeout=5) == {"type": "queue", "cid": cid}
    state = await (await alice.get("/console/api/state")).json()
    assert state["queue"][0]["unread"] == 1
    await ws.close()


async def test_websocket_closes_after_idle_logout(env, clock):
    _, _, client_for = env
    client, csrf = await client_for("demo", "alice")
    ws = await client.ws_connect(f"/console/ws?csrf={csrf}", origin=f"http://{client.host}:{client.port}")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    clock.now += 16 * 60  # an open WebSocket is not activity: the idle timeout still applies
    assert (await ws.receive_json(timeout=5)) == {"type": "logout"}
    await ws.close()


async def test_holder_sees_the_residents_past_consultations(env):
    deps, _, client_for = env
    old = await _queued(deps, "U1")
    await handoff.take_over(deps, "demo", old, "bob")
    await handoff.close(deps, "demo", old, "bob", "counsellor", labels=["DV"], category="継続相談")
    new = await _queued(deps, "U1")
    alice, csrf = await client_for("demo", "alice")
    assert (await alice.get(f"/console/api/conversations/{old}")).status == 403  # not hers, and she holds nothing of U1
    await alice.post(f"/console/api/conversations/{new}/take", json={}, headers={"X-CSRF-Token": csrf})
    detail = await (await alice.get(f"/console/api/conversations/{new}")).json()
    assert [(p["id"], p["labels"], p["closing_category"]) for p in detail["past"]] == [(old, ["DV"], "継続相談")]
    assert (await alice.get(f"/console/api/conversations/{old}")).status == 200


async def test_background_refresh_does_not_mark_read(env):
    deps, _, client_for = env
    cid = await _queued(deps)
    alice, csrf = await client_for("demo", "alice")
    await alice.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": csrf})
    from bot.chat import Incoming

    await handoff.on_resident_message(deps, TENANTS["demo"], "U1", Incoming(tenant=TENANTS["demo"], user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0, text="はい"))
    await alice.get(f"/console/api/conversations/{cid}", headers={"X-Background": "1"})
    assert "mark_as_read" not in deps.line.ops()
    await alice.get(f"/console/api/conversations/{cid}")
    assert deps.line.ops().count("mark_as_read") == 1


async def test_open_console_counts_as_present(env, clock):
    deps, _, client_for = env
    deps.clock = clock
    client, csrf = await client_for("demo", "alice")
    ws = await client.ws_connect(f"/console/ws?csrf={csrf}", origin=f"http://{client.host}:{client.port}")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    assert await deps.store.present("demo", clock.now) == ["alice"]
    assert await handoff.service.free_counsellors(deps, "demo") == ["alice"]
    await ws.close()
    for _ in range(100):  # the server notices the close asynchronously
        if not await deps.store.present("demo", clock.now):
            break
        await asyncio.sleep(0.02)
    assert await deps.store.present("demo", clock.now) == []


async def test_shutdown_closes_open_consoles_so_a_restart_does_not_stall(env):
    deps, _, client_for = env
    alice, csrf = await client_for("demo", "alice")
    ws = await alice.ws_connect(f"/console/ws?csrf={csrf}", origin=f"http://{alice.host}:{alice.port}")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    # without the shutdown hook aiohttp waits for the socket until its shutdown timeout (60 s); 20 s = plainly hung
    await asyncio.wait_for(alice.server.close(), timeout=20)
    msg = await ws.receive(timeout=5)
    assert (msg.type, msg.data) == (WSMsgType.CLOSE, 1001)  # "going away": the console reconnects


async def test_console_keeps_working_while_line_refuses_read_marks_and_loading(env):
    from bot.chat import Incoming

    deps, _, client_for = env

    async def refused(*args, **kwargs):
        raise RuntimeError("LINE API 500")

    cid = await _queued(deps)
    alice, csrf = await client_for("demo", "alice")
    h = {"X-CSRF-Token": csrf}
    await alice.post(f"/console/api/conversations/{cid}/take", json={}, headers=h)
    await handoff.on_resident_message(
        deps, TENANTS["demo"], "U1", Incoming(tenant=TENANTS["demo"], user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0, text="きこえますか")
    )
    deps.line.mark_as_read = deps.line.show_loading = refused
    resp = await alice.get(f"/console/api/conversations/{cid}")
    assert resp.status == 200 and (await resp.json())["transcript"][-1]["text"] == "きこえますか"
    assert (await deps.store.get("demo", cid)).unread == 1  # not marked: tried again on the next opening
    typing = await alice.post(f"/console/api/conversations/{cid}/typing", json={}, headers=h)
    assert typing.status == 200 and (await typing.json())["sent"] is False


@pytest.mark.parametrize("action", ["handback", "close"])
@pytest.mark.parametrize("bad", [{"message": 1}, {"message": ["a"]}, {"message": {"x": 1}}, {"message": "x" * 5001}, {"labels": "a"}])
async def test_a_bad_body_changes_nothing_and_is_400(env, action, bad):
    """Review finding 7: ``{"message": 1}`` marked the conversation handed back, then a 500 — no event, resident not told."""
    deps, staff_store, client_for = env
    cid = await _queued(deps)
    alice, csrf = await client_for("demo", "alice")
    h = {"X-CSRF-Token": csrf}
    await alice.post(f"/console/api/conversations/{cid}/take", json={}, headers=h)
    before = await deps.store.get("demo", cid)
    pushed = len(deps.line.texts_to("U1"))
    resp = await alice.post(f"/console/api/conversations/{cid}/{action}", json=bad, headers=h)
    assert resp.status == 400
    after = await deps.store.get("demo", cid)
    assert (after.status, after.holder) == (before.status, before.holder) == ("active", "alice")
    assert len(deps.line.texts_to("U1")) == pushed
