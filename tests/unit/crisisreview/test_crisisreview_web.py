"""Crisis marks through HTTP: the console route (roles, CSRF, tenants, which messages) and the supervisors' review
list (roles, confirm/reject, audit). Resident text never reaches the logs or the audit log."""

from __future__ import annotations

import logging
import re

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

import handoff
from bot.chat import Incoming
from crisisreview import ConsoleMarks, MemoryCrisisReviewStore, ReviewDeps
from crisisreview import web as review_web
from crisisreview.testing import TableAssessor
from handoff import HandoffDeps, MemoryHandoffBus, MemoryHandoffStore, RecordingLinePort
from handoff.testing import build_app, demo_tenants, login
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from tests.helpers import ManualClock

PW = "correct horse battery"
TENANTS = demo_tenants()
SECRET_TEXT = "もう起きたくないです"


@pytest.fixture
async def env():
    clock = ManualClock()
    staff_store = MemoryStaffStore()
    policy = fast_policy(clock=clock)
    for tenant, user, role in [
        ("demo", "alice", "counsellor"), ("demo", "bob", "counsellor"), ("demo", "sam", "supervisor"), ("demo", "ed", "editor"),
        ("demo", "ada", "admin"), ("suita", "sue", "supervisor"),
    ]:
        await add_staff(staff_store, tenant, user, role, PW, hasher=policy.hasher)
    deps = HandoffDeps(store=MemoryHandoffStore(), bus=MemoryHandoffBus(), line=RecordingLinePort())
    review = ReviewDeps(store=MemoryCrisisReviewStore(clock=clock), assessor=TableAssessor({"死ぬほど笑った": ("crisis", "suicide", "ja")}), clock=clock)
    app = build_app(staff_store, deps, TENANTS, policy=policy, crisis_marks=ConsoleMarks(review))
    app.add_subapp("/admin/crisis-review", review_web.create_app(review))
    server = TestServer(app)
    await server.start_server()
    clients: list[TestClient] = []

    async def client_for(tenant: str, user: str) -> tuple[TestClient, str]:
        client = TestClient(server)
        clients.append(client)
        return client, await login(client, tenant, user, PW)

    yield deps, review, staff_store, client_for
    for c in clients:
        await c.close()
    await server.close()


async def _held_with_messages(deps, client, csrf, *texts) -> tuple[str, list[str]]:
    """A conversation alice holds, with resident messages ``texts``; returns (conversation id, message ids)."""
    cid = (await handoff.request_handoff(deps, TENANTS["demo"], "U1", summary="相談")).conversation_id
    assert (await client.post(f"/console/api/conversations/{cid}/take", json={}, headers={"X-CSRF-Token": csrf})).status == 200
    for n, t in enumerate(texts):
        incoming = Incoming(tenant=TENANTS["demo"], user_id="U1", kind="text", webhook_event_id=f"e{n}", timestamp_ms=0, text=t, message_id=f"m{n}")
        await handoff.on_resident_message(deps, TENANTS["demo"], "U1", incoming)
    return cid, [f"m{n}" for n in range(len(texts))]


def _url(cid: str, mid: str) -> str:
    return f"/console/api/conversations/{cid}/messages/{mid}/crisis-mark"


async def test_counsellor_marks_a_missed_crisis_and_a_false_alarm(env, caplog):
    deps, review, staff_store, client_for = env
    alice, csrf = await client_for("demo", "alice")
    cid, (m0, m1) = await _held_with_messages(deps, alice, csrf, SECRET_TEXT, "死ぬほど笑った")
    choices = await (await alice.get("/console/api/crisis-marks")).json()
    assert ["suicide", "自殺念慮"] in choices["categories"] and len(choices["categories"]) == 8
    with caplog.at_level(logging.DEBUG):
        resp = await alice.post(_url(cid, m0), json={"verdict": "missed", "category": "suicide"}, headers={"X-CSRF-Token": csrf})
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["mark"]["bot_level"] == "none"
        resp = await alice.post(_url(cid, m1), json={"verdict": "not_crisis"}, headers={"X-CSRF-Token": csrf})
        assert resp.status == 200
    items = {i.message_ref: i for i in await review.store.pending("demo")}
    assert (items[m0].text, items[m0].verdict, items[m0].category, items[m0].marked_by) == (SECRET_TEXT, "missed", "suicide", "alice")
    assert (items[m1].verdict, items[m1].bot_level, items[m1].bot_category, items[m1].language) == ("not_crisis", "crisis", "suicide", "ja")
    assert cid not in items[m0].conversation_ref
    audit = [e for e in await staff_store.audit_log("demo") if e.action == "handoff.crisis_mark"]
    assert sorted((e.actor, e.target, e.detail["verdict"]) for e in audit) == [("alice", cid, "missed"), ("alice", cid, "not_crisis")]
    assert SECRET_TEXT not in str([e.detail for e in await staff_store.audit_log("demo")])
    assert SECRET_TEXT not in caplog.text and "死ぬほど笑った" not in caplog.text


async def test_marking_needs_csrf_a_console_role_and_a_readable_conversation(env):
    deps, review, _, client_for = env
    alice, csrf = await client_for("demo", "alice")
    cid, (m0,) = await _held_with_messages(deps, alice, csrf, SECRET_TEXT)
    body = {"verdict": "missed", "category": "suicide"}
    assert (await alice.post(_url(cid, m0), json=body)).status == 403
    assert (await alice.post(_url(cid, m0), json=body, headers={"X-CSRF-Token": "x" * 43})).status == 403
    bob, bob_csrf = await client_for("demo", "bob")
    assert (await bob.post(_url(cid, m0), json=body, headers={"X-CSRF-Token": bob_csrf})).status == 403  # not his
    ed, _ = await client_for("demo", "ed")
    assert (await ed.post(_url(cid, m0), json=body, headers={"X-CSRF-Token": csrf})).status == 403  # editor
    sue, sue_csrf = await client_for("suita", "sue")
    assert (await sue.post(_url(cid, m0), json=body, headers={"X-CSRF-Token": sue_csrf})).status == 404  # other tenant
    async with aiohttp.ClientSession() as anon:  # no session cookie
        assert (await anon.post(alice.make_url(_url(cid, m0)), json=body)).status == 401
    assert await review.store.pending("demo") == [] and await review.store.pending("suita") == []
    sam, sam_csrf = await client_for("demo", "sam")  # a supervisor reads every conversation of the tenant
    assert (await sam.post(_url(cid, m0), json=body, headers={"X-CSRF-Token": sam_csrf})).status == 200
    assert [i.marked_by for i in await review.store.pending("demo")] == ["sam"]


async def test_only_resident_text_messages_with_a_valid_mark(env):
    deps, review, _, client_for = env
    alice, csrf = await client_for("demo", "alice")
    cid, (m0,) = await _held_with_messages(deps, alice, csrf, SECRET_TEXT)
    h = {"X-CSRF-Token": csrf}
    sent = await (await alice.post(f"/console/api/conversations/{cid}/send", json={"text": "大丈夫ですか", "client_id": "k"}, headers=h)).json()
    assert (await alice.post(_url(cid, sent["message"]["id"]), json={"verdict": "not_crisis"}, headers=h)).status == 409
    assert (await alice.post(_url(cid, "no-such-message"), json={"verdict": "not_crisis"}, headers=h)).status == 404
    resp = await alice.post(_url(cid, m0), json={"verdict": "missed"}, headers=h)
    assert resp.status == 409 and "category" in (await resp.json())["error"]
    assert (await alice.post(_url(cid, m0), json={"verdict": "missed", "category": "nope"}, headers=h)).status == 409
    assert (await alice.post(_url(cid, m0), data=b"{", headers={**h, "Content-Type": "application/json"})).status == 400
    assert (await alice.post(_url(cid, m0), json=["x"], headers=h)).status == 400
    assert (await alice.post(_url(cid, m0), json={"verdict": ["missed"]}, headers=h)).status == 400
    assert (await alice.post(_url(cid, m0), json={"verdict": "missed", "category": {"a": 1}}, headers=h)).status == 400
    assert await review.store.pending("demo") == []


async def test_console_without_marks_wired_offers_none():
    staff_store = MemoryStaffStore()
    policy = fast_policy()
    await add_staff(staff_store, "demo", "alice", "counsellor", PW, hasher=policy.hasher)
    deps = HandoffDeps(store=MemoryHandoffStore(), bus=MemoryHandoffBus(), line=RecordingLinePort())
    async with TestClient(TestServer(build_app(staff_store, deps, TENANTS, policy=policy))) as client:
        await login(client, "demo", "alice", PW)
        assert (await client.get("/console/api/crisis-marks")).status == 404


_FORM_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _review_page(client) -> tuple[str, str]:
    resp = await client.get("/admin/crisis-review/", headers={"Accept": "text/html"})
    assert resp.status == 200
    html = await resp.text()
    return html, _FORM_CSRF.search(html).group(1)


async def test_supervisor_confirms_and_rejects_in_the_review_list(env):
    deps, review, staff_store, client_for = env
    alice, csrf = await client_for("demo", "alice")
    cid, (m0, m1) = await _held_with_messages(deps, alice, csrf, SECRET_TEXT, "<b>明日は晴れ</b>")
    h = {"X-CSRF-Token": csrf}
    await alice.post(_url(cid, m0), json={"verdict": "missed", "category": "self_harm"}, headers=h)
    await alice.post(_url(cid, m1), json={"verdict": "missed", "category": "danger"}, headers=h)
    assert (await alice.get("/admin/crisis-review/")).status == 403
    ed, _ = await client_for("demo", "ed")
    assert (await ed.get("/admin/crisis-review/")).status == 403
    sam, _ = await client_for("demo", "sam")
    html, form_csrf = await _review_page(sam)
    assert SECRET_TEXT in html and "&lt;b&gt;明日は晴れ&lt;/b&gt;" in html and "<b>明日" not in html
    assert "確認を待っている記録" not in html and "（2件）" in html
    ids = {i.message_ref: i.id for i in await review.store.pending("demo")}
    assert (await sam.post(f"/admin/crisis-review/{ids[m0]}/decide", data={"decision": "confirmed", "category": "suicide"})).status == 403  # no CSRF
    resp = await sam.post(
        f"/admin/crisis-review/{ids[m0]}/decide", data={"csrf_token": form_csrf, "decision": "confirmed", "category": "suicide"}, allow_redirects=False
    )
    assert resp.status == 303
    resp = await sam.post(f"/admin/crisis-review/{ids[m1]}/decide", data={"csrf_token": form_csrf, "decision": "rejected"}, allow_redirects=False)
    assert resp.status == 303
    decided = {i.message_ref: (i.status, i.label, i.reviewed_by) for i in await review.store.reviewed("demo")}
    assert decided == {m0: ("confirmed", "suicide", "sam"), m1: ("rejected", "none", "sam")}
    again = await sam.post(f"/admin/crisis-review/{ids[m0]}/decide", data={"csrf_token": form_csrf, "decision": "rejected"})
    assert again.status == 404
    bad = await sam.post(f"/admin/crisis-review/{ids[m0]}/decide", data={"csrf_token": form_csrf, "decision": "maybe"})
    assert bad.status == 400
    html, _ = await _review_page(sam)
    assert "確認を待っている記録はありません" in html
    actions = [(e.actor, e.action, e.target, e.detail.get("label")) for e in await staff_store.audit_log("demo")]
    assert ("sam", "crisis_review.confirmed", ids[m0], "suicide") in actions and ("sam", "crisis_review.rejected", ids[m1], "none") in actions
    assert ("sam", "crisis_review.view", "", None) in actions
    assert SECRET_TEXT not in str([e.detail for e in await staff_store.audit_log("demo")])
    ada, _ = await client_for("demo", "ada")
    assert (await ada.get("/admin/crisis-review/", headers={"Accept": "text/html"})).status == 200


async def test_another_tenants_supervisor_sees_and_decides_nothing(env):
    deps, review, _, client_for = env
    alice, csrf = await client_for("demo", "alice")
    cid, (m0,) = await _held_with_messages(deps, alice, csrf, SECRET_TEXT)
    await alice.post(_url(cid, m0), json={"verdict": "missed", "category": "suicide"}, headers={"X-CSRF-Token": csrf})
    (item,) = await review.store.pending("demo")
    sue, _ = await client_for("suita", "sue")
    html, form_csrf = await _review_page(sue)
    assert SECRET_TEXT not in html
    resp = await sue.post(f"/admin/crisis-review/{item.id}/decide", data={"csrf_token": form_csrf, "decision": "rejected"})
    assert resp.status == 404
    assert (await review.store.get("demo", item.id)).status == "pending"
