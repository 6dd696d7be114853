"""/admin/reports through real HTTP with the staff login: list, filters, map, detail, status (with a repair photo),
assignment, notes, merge, API keys; roles, CSRF, pseudonyms and the audit log."""

from __future__ import annotations

import re

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from bot.users import User
from reports.model import Report
from reports.store import MemoryApiKeyStore, RedisDraftStore, RedisReportStore
from reports.testing import demo_tenant, make_deps, photo_with_exif
from reports.web import ReportsWebDeps, create_app
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from staff.web import StaffDeps, setup
from tests.helpers import csrf_token, staff_login

PW = "correct horse battery"
LINE_ID = "U0123456789abcdef0123456789abcdef"


@pytest.fixture
async def env(redis):
    deps, line, _ = make_deps()
    deps.reports, deps.drafts = RedisReportStore(redis), RedisDraftStore(redis)
    await deps.users.save(User(tenant="demo", user_id=LINE_ID, language="ko"))
    now = deps.clock()
    for rid, cat, lat in [("R000001", "pothole", 34.6937), ("R000002", "pothole", 34.6938), ("R000003", "graffiti", 34.70)]:
        await deps.reports.create(Report(tenant="demo", id=rid, category=cat, lat=lat, lng=135.5023, created_at=now - 3 * 86400 if rid == "R000003" else now,
                                         reporter=LINE_ID if rid == "R000001" else "Uother", department="road", address="大阪市北区梅田一丁目", comment="深い穴"))
    staff_store = MemoryStaffStore()
    policy = fast_policy()
    for user, role in [("ed", "editor"), ("vic", "viewer"), ("ada", "admin")]:
        await add_staff(staff_store, "demo", user, role, PW, hasher=policy.hasher)
    keys = MemoryApiKeyStore()
    app = web.Application()
    setup(app, StaffDeps(store=staff_store, tenants={"demo": demo_tenant()}, policy=policy, cookie_secure=False))
    app.add_subapp("/admin/reports", create_app(ReportsWebDeps(reports=deps, keys=keys, public_base_url="https://city.example")))
    async with TestClient(TestServer(app)) as client:
        yield client, deps, line, staff_store, keys


async def page(client, path: str) -> str:
    resp = await client.get(path)
    assert resp.status == 200, resp.status
    return await resp.text()


async def test_list_filters_and_map_without_line_ids(env):
    client, *_ = env
    assert (await client.get("/admin/reports/", allow_redirects=False)).status in (303, 401)
    await staff_login(client, "demo", "vic", PW, next_path="/admin/reports/")
    html = await page(client, "/admin/reports/")
    assert all(r in html for r in ("R000001", "R000002", "R000003")) and LINE_ID not in html
    assert html.count("<circle") == 3 and "<polygon" in html
    only = await page(client, "/admin/reports/?category=graffiti")
    assert "R000003" in only and "R000001" not in only
    old = await page(client, "/admin/reports/?age=2")
    assert "R000003" in old and "R000002" not in old
    assert "R000001" in await page(client, "/admin/reports/?area=北区&status=open")


async def test_viewer_cannot_change_anything(env):
    client, *_ = env
    await staff_login(client, "demo", "vic", PW, next_path="/admin/reports/")
    html = await page(client, "/admin/reports/R000001")
    assert "通報者-" in html and LINE_ID not in html and "変更して通知する" not in html
    token = csrf_token(html)
    resp = await client.post("/admin/reports/R000001/status", data={"csrf_token": token, "status": "closed", "text": "x"})
    assert resp.status == 403


async def test_status_change_with_repair_photo_pushes_in_the_residents_language_and_is_audited(env):
    client, deps, line, staff_store, _ = env
    await staff_login(client, "demo", "ed", PW, next_path="/admin/reports/")
    token = csrf_token(await page(client, "/admin/reports/R000001"))
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field("status", "closed")
    form.add_field("text", "穴を埋めました。ご協力ありがとうございました。")
    form.add_field("photo", photo_with_exif(), filename="fixed.jpg", content_type="image/jpeg")
    resp = await client.post("/admin/reports/R000001/status", data=form, allow_redirects=False)
    assert resp.status == 303
    report = await deps.reports.get("demo", "R000001")
    assert report.status == "closed" and report.fix_photo and report.history[-1].actor == "ed"
    [push] = line.sent("push")
    assert push["to"] == LINE_ID and "완료" in push["messages"][0]["text"] and "穴を埋めました" in push["messages"][0]["text"]
    assert push["messages"][1] == {"type": "image", "originalContentUrl": "https://city.example/open311/v2/demo/media/R000001.jpg",
                                   "previewImageUrl": "https://city.example/open311/v2/demo/media/R000001.jpg"}
    html = await page(client, "/admin/reports/R000001")
    photo_url = re.search(r'/admin/reports/R000001/photo/[0-9a-f]{32}', html).group(0)
    photo = await client.get(photo_url)
    assert photo.status == 200 and b"SERIAL" not in await photo.read()
    entries = await staff_store.audit_log("demo", limit=10)
    assert [(e.action, e.target, e.actor) for e in entries][:1] == [("reports.status", "R000001", "ed")]


async def test_declining_without_a_reason_is_refused_with_a_message(env):
    client, deps, line, *_ = env
    await staff_login(client, "demo", "ed", PW, next_path="/admin/reports/")
    token = csrf_token(await page(client, "/admin/reports/R000002"))
    resp = await client.post("/admin/reports/R000002/status", data={"csrf_token": token, "status": "declined", "text": ""})
    assert resp.status == 400 and "理由" in await resp.text()
    assert (await deps.reports.get("demo", "R000002")).status == "received" and line.sent("push") == []


async def test_bad_repair_photo_is_refused(env):
    client, deps, *_ = env
    await staff_login(client, "demo", "ed", PW, next_path="/admin/reports/")
    token = csrf_token(await page(client, "/admin/reports/R000002"))
    form = FormData()
    for k, v in {"csrf_token": token, "status": "closed", "text": "済"}.items():
        form.add_field(k, v)
    form.add_field("photo", b"%PDF-1.7", filename="x.pdf", content_type="application/pdf")
    resp = await client.post("/admin/reports/R000002/status", data=form)
    assert resp.status == 400 and "写真を受け付けられません" in await resp.text()
    assert (await deps.reports.get("demo", "R000002")).status == "received"


async def test_assign_note_merge_are_recorded(env):
    client, deps, _, staff_store, _ = env
    await staff_login(client, "demo", "ed", PW, next_path="/admin/reports/")
    token = csrf_token(await page(client, "/admin/reports/R000002"))
    assert (await client.post("/admin/reports/R000002/assign", data={"csrf_token": token, "department": "park"}, allow_redirects=False)).status == 303
    assert (await client.post("/admin/reports/R000002/note", data={"csrf_token": token, "text": "現地確認済み"}, allow_redirects=False)).status == 303
    assert (await client.post("/admin/reports/R000002/merge", data={"csrf_token": token, "into": "R000001"}, allow_redirects=False)).status == 303
    dup, target = await deps.reports.get("demo", "R000002"), await deps.reports.get("demo", "R000001")
    assert dup.department == "park" and dup.notes[0].text == "現地確認済み" and dup.merged_into == "R000001"
    assert "Uother" in target.followers
    assert [e.action for e in await staff_store.audit_log("demo", limit=10)][:3] == ["reports.merge", "reports.note", "reports.assign"]
    assert "現地確認済み" in await page(client, "/admin/reports/R000002")


async def test_admin_issues_an_api_key_shown_once(env):
    client, deps, _, _, keys = env
    await staff_login(client, "demo", "ed", PW, next_path="/admin/reports/")
    assert (await client.get("/admin/reports/keys")).status == 403
    await staff_login(client, "demo", "ada", PW, next_path="/admin/reports/")
    token = csrf_token(await page(client, "/admin/reports/keys"))
    html = await (await client.post("/admin/reports/keys", data={"csrf_token": token, "client": "fixmystreet"})).text()
    key = re.search(r'data-testid="issued-key">([^<]+)<', html).group(1)
    assert await keys.client_of("demo", key) == "fixmystreet"
    assert key not in await page(client, "/admin/reports/keys")
