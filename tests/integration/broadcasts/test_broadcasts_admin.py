"""The composer sub-app behind staff login: compose, audience preview, two-person approval, cancel, audit, browser."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.config import Tenant
from bot.users import RedisUserStore
from broadcasts.admin import ComposerDeps, create_admin_app
from broadcasts.composer import RedisDraftStore
from broadcasts.engine import RedisDeliverer
from broadcasts.friends import FriendsAudience
from broadcasts.service import seed_subscribers
from staff import RedisStaffStore, add_staff, fast_policy
from staff.testing import complete_login
from staff.web import StaffDeps
from staff.web import setup as staff_setup
from tests.browser import chromium, sign_in
from tests.helpers import csrf_token
from tests.system import free_port

PW = "correct horse battery"
TENANTS = {"t1": Tenant(id="t1", display_name="テスト市", lg_code="27205", channel_token=SecretStr("x"), channel_secret=SecretStr("y"))}


@pytest.fixture
async def site(redis):
    staff_store = RedisStaffStore(redis)
    policy = fast_policy()
    await add_staff(staff_store, "t1", "eri", "editor", PW, display_name="広報 江利", hasher=policy.hasher)
    await add_staff(staff_store, "t1", "sam", "supervisor", PW, display_name="課長 佐藤", hasher=policy.hasher)
    await add_staff(staff_store, "t1", "vic", "viewer", PW, hasher=policy.hasher)
    users = RedisUserStore(redis)
    await seed_subscribers(users, "t1", 7)
    deliverer = RedisDeliverer(redis)
    app = web.Application()
    staff_setup(app, StaffDeps(store=staff_store, tenants=TENANTS, policy=policy, cookie_secure=False, home_path="/admin/broadcasts/"))
    drafts = RedisDraftStore(redis)
    app.add_subapp(
        "/admin/broadcasts",
        create_admin_app(ComposerDeps(drafts=drafts, deliverer=deliverer, audience=FriendsAudience(users), staff_store=staff_store)),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", deliverer, drafts, staff_store
    await runner.cleanup()


async def login(base: str, username: str) -> tuple[aiohttp.ClientSession, str]:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(f"{base}/staff/login") as r:
        token = csrf_token(await r.text())
    form = {"tenant": "t1", "username": username, "password": PW, "csrf_token": token, "next": "/admin/broadcasts/"}
    async with session.post(f"{base}/staff/login", data=form, allow_redirects=False) as r:
        assert r.status == 303
        landing = await complete_login(session, r.headers["Location"], "t1", username, base=base)  # supervisors: TOTP
    async with session.get(f"{base}{landing}") as r:
        page = await r.text()
        assert r.status == 200 and "お知らせ配信" in page, page[:300]
    csrf = csrf_token(page)
    return session, csrf


async def test_everyone_broadcast_needs_a_second_person_and_is_audited(site):
    base, deliverer, drafts, staff_store = site
    eri, csrf = await login(base, "eri")
    try:
        async with eri.post(f"{base}/admin/broadcasts/preview", data={"all_friends": "1"}, headers={"X-CSRF-Token": csrf}) as r:
            assert await r.json() == {"size": 7, "needs_approval": True}
        async with eri.post(f"{base}/admin/broadcasts/drafts", data={"csrf_token": csrf, "text": "年末年始の窓口のお知らせ", "all_friends": "1"}) as r:
            assert r.status == 200 and "承認待ち" in await r.text()
        (draft,) = await drafts.recent("t1")
        assert draft.state == "awaiting_approval" and await deliverer.list_jobs("t1") == []
        async with eri.post(f"{base}/admin/broadcasts/drafts/{draft.id}/approve", data={"csrf_token": csrf}) as r:
            assert r.status == 403  # editors cannot approve at all
    finally:
        await eri.close()
    sam, csrf2 = await login(base, "sam")
    try:
        async with sam.post(f"{base}/admin/broadcasts/drafts/{draft.id}/approve", data={"csrf_token": csrf2}) as r:
            assert r.status == 200 and "配信済み" in await r.text()
        (sent,) = await drafts.recent("t1")
        async with sam.get(f"{base}/admin/broadcasts/jobs/{sent.job_id}") as r:
            status = await r.json()
            assert status["priority"] == "routine" and status["state"] == "queued"
    finally:
        await sam.close()
    actions = [(e.actor, e.action) for e in await staff_store.audit_log("t1")]
    assert ("eri", "broadcast.compose") in actions and ("sam", "broadcast.approve") in actions


async def test_csrf_and_roles_are_enforced(site):
    base, deliverer, drafts, _ = site
    vic, csrf = await login(base, "vic")
    try:
        async with vic.post(f"{base}/admin/broadcasts/drafts", data={"csrf_token": csrf, "text": "x", "area_codes": "27205"}) as r:
            assert r.status == 403  # viewers only look
    finally:
        await vic.close()
    eri, csrf = await login(base, "eri")
    try:
        async with eri.post(f"{base}/admin/broadcasts/drafts", data={"text": "x", "area_codes": "27205"}) as r:
            assert r.status == 403  # no CSRF token
        async with eri.post(f"{base}/admin/broadcasts/drafts", data={"csrf_token": csrf, "text": "", "area_codes": "27205"}) as r:
            assert r.status == 400 and "本文を入力してください" in await r.text()
        async with eri.get(f"{base}/admin/broadcasts/jobs/other.abc") as r:
            assert r.status == 404  # another tenant's job id
    finally:
        await eri.close()
    async with aiohttp.ClientSession() as anon, anon.post(f"{base}/admin/broadcasts/drafts", data={"text": "x"}) as r:
        assert r.status == 401
    assert await drafts.recent("t1") == []


@pytest.mark.browser
async def test_staff_composes_an_area_broadcast_in_a_browser(site):
    base, deliverer, drafts, _ = site
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{base}/admin/broadcasts/")
        await sign_in(page, "t1", "eri", PW, lands_on=f"{base}/admin/broadcasts/")
        await page.fill("#text", "<b>断水</b>のお知らせです。")
        await page.check("#all_friends")
        await page.click("#preview")
        await page.locator("#audience-size", has_text="7人").wait_for()  # a locator: the page's CSP forbids eval
        assert "承認が必要" in await page.text_content("#audience-size")
        await page.click("#submit")
        await page.wait_for_selector("#drafts .state-awaiting_approval")
        assert "<b>断水</b>" in await page.text_content("#drafts tbody tr")  # shown as text, not markup
    (draft,) = await drafts.recent("t1")
    assert draft.state == "awaiting_approval" and draft.audience_size == 7
