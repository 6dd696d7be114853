"""The staff review page through real HTTP: manual placement + send, dismissal, roles, tenants, CSRF, audit."""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alerts.geo import Gazetteer
from alerts.notices.service import NoticeDeps, RawNotice, process
from alerts.notices.store import RedisIncidentStore
from alerts.notices.web import create_app
from bot.config import Tenant
from broadcasts.jobs import MemoryDeliverer
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from staff.web import StaffDeps, setup
from tests.helpers import csrf_token, staff_login

PW = "correct horse battery"
TENANTS = {t: Tenant(id=t, display_name=n, lg_code=c) for t, n, c in [("demo", "デモ市", "272051"), ("suita", "吹田市", "272051")]}
G = Gazetteer.load()
UNPLACED = RawNotice(source="rss:x", source_name="大阪府警察", received_at=time.time(), subject="声かけ事案の発生",
                     body="■声かけ\n本日午後4時頃、駅前の公園で、男が声をかける事案が発生しました。\n■男の特徴\n30歳位")


@pytest.fixture
async def env(redis):
    staff_store = MemoryStaffStore()
    policy = fast_policy()
    for tenant, user, role in [("demo", "ada", "admin"), ("demo", "vic", "viewer"), ("suita", "sue", "admin")]:
        await add_staff(staff_store, tenant, user, role, PW, hasher=policy.hasher)
    deps = NoticeDeps(gazetteer=G, store=RedisIncidentStore(redis), deliverer=MemoryDeliverer())
    app = web.Application()
    setup(app, StaffDeps(store=staff_store, tenants=TENANTS, policy=policy, cookie_secure=False))
    app.add_subapp("/admin/notices", create_app(deps))
    async with TestClient(TestServer(app)) as client:
        yield client, deps, staff_store


async def login(client, tenant: str, user: str) -> None:
    await staff_login(client, tenant, user, PW, next_path="/admin/notices/")


async def page_token(client) -> tuple[str, str]:
    body = await (await client.get("/admin/notices/")).text()
    return body, csrf_token(body)


async def test_manual_placement_sends_and_is_audited(env):
    client, deps, staff_store = env
    out = await process("demo", UNPLACED, deps)
    assert out.status == "review"
    await login(client, "demo", "ada")
    body, token = await page_token(client)
    assert "駅前の公園" in body and "この場所で配信する" in body

    bad = await client.post(f"/admin/notices/review/{out.review.id}/place", data={"csrf_token": token, "code": "27205", "town": "梅田一丁目"})
    assert bad.status == 400 and "一覧から選んでください" in await bad.text()
    assert not deps.deliverer.jobs

    resp = await client.post(f"/admin/notices/review/{out.review.id}/place", allow_redirects=False,
                             data={"csrf_token": token, "code": "27205", "town": "江坂町一丁目"})
    assert resp.status == 303
    [job] = deps.deliverer.jobs.values()
    assert job.audience.categories == ("crime",) and "吹田市江坂町一丁目" in job.messages["ja"][0]["text"]
    assert await deps.store.list_review("demo") == []
    actions = [(e.action, e.actor) for e in await deps.store.audit_log("demo")]
    assert ("review.place", "ada") in actions and ("notice.send", "ada") in actions
    staff_log = await staff_store.audit_log("demo")
    assert any(e.action == "notices.place_send" and e.actor == "ada" and e.target == out.review.id for e in staff_log)


async def test_dismiss_needs_a_reason_and_csrf(env):
    client, deps, _ = env
    out = await process("demo", UNPLACED, deps)
    await login(client, "demo", "ada")
    _, token = await page_token(client)
    no_csrf = await client.post(f"/admin/notices/review/{out.review.id}/dismiss", data={"reason": "重複"})
    assert no_csrf.status == 403
    no_reason = await client.post(f"/admin/notices/review/{out.review.id}/dismiss", data={"csrf_token": token, "reason": ""})
    assert no_reason.status == 400
    ok = await client.post(f"/admin/notices/review/{out.review.id}/dismiss", allow_redirects=False, data={"csrf_token": token, "reason": "重複"})
    assert ok.status == 303 and await deps.store.list_review("demo") == [] and not deps.deliverer.jobs


async def test_roles_and_tenants(env):
    client, deps, _ = env
    out = await process("demo", UNPLACED, deps)
    assert (await client.get("/admin/notices/", headers={"Accept": "application/json"})).status == 401
    await login(client, "demo", "vic")
    assert (await client.get("/admin/notices/")).status == 403
    client.session.cookie_jar.clear()
    await login(client, "suita", "sue")
    body, token = await page_token(client)
    assert "駅前の公園" not in body  # another tenant's review list
    resp = await client.post(f"/admin/notices/review/{out.review.id}/place", data={"csrf_token": token, "code": "27205", "town": ""})
    assert resp.status == 404 and not deps.deliverer.jobs


async def test_town_list_json(env):
    client, _, _ = env
    await login(client, "demo", "ada")
    towns = await (await client.get("/admin/notices/towns", params={"code": "27205", "q": "江坂町"})).json()
    assert {"江坂町一丁目", "江坂町二丁目"} <= {t["town"] for t in towns}
