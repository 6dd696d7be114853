"""FAQ admin pages through real HTTP: an editor's change reaches the bot's answer at once; roles, tenants, CSRF."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from bot.chat import Incoming
from bot.config import Tenant
from faq.admin import FaqAdminDeps, create_app
from faq.chat import FaqDeps, answer
from faq.index import LiveIndex
from faq.io import parse_file
from faq.store import RedisFaqStore
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from staff.web import StaffDeps, setup
from tests.helpers import csrf_token, staff_login

PW = "correct horse battery"
TENANTS = {t: Tenant(id=t, display_name=n, lg_code=c)
           for t, n, c in [("demo", "デモ市", "271004"), ("suita", "吹田市", "272051")]}
DEMO = Path(__file__).resolve().parents[3] / "faq" / "sample" / "demo_faq.csv"


@pytest.fixture
async def env(redis):
    staff_store = MemoryStaffStore()
    policy = fast_policy()
    for tenant, user, role in [("demo", "eda", "editor"), ("demo", "vic", "viewer"), ("suita", "sue", "editor")]:
        await add_staff(staff_store, tenant, user, role, PW, hasher=policy.hasher)
    faq_store = RedisFaqStore(redis)
    await faq_store.put_many("demo", parse_file(DEMO, "demo").entries, who="seed")
    app = web.Application()
    setup(app, StaffDeps(store=staff_store, tenants=TENANTS, policy=policy, cookie_secure=False))
    app.add_subapp("/admin/faq", create_app(FaqAdminDeps(store=faq_store, index=LiveIndex(faq_store))))
    async with TestClient(TestServer(app)) as client:
        yield client, faq_store, staff_store


async def login(client, tenant: str, user: str) -> None:
    await staff_login(client, tenant, user, PW, next_path="/admin/faq/")


async def form_token(client, path: str) -> str:
    body = await (await client.get(path)).text()
    return csrf_token(body)


def resident(tenant: str = "demo") -> Incoming:
    return Incoming(tenant=TENANTS[tenant], user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0)


async def test_editor_change_reaches_the_bot_at_once(env):
    client, store, _ = env
    bot = FaqDeps(index=LiveIndex(store), store=store)  # the bot worker: another index on the same Redis
    before = await answer(resident(), "粗大ごみの申し込み方法", None, bot)
    assert "粗大ごみ受付センター" in before[0]["text"]

    await login(client, "demo", "eda")
    token = await form_token(client, "/admin/faq/entry/gomi-002")
    entry = await store.get("demo", "gomi-002")
    resp = await client.post("/admin/faq/entry/gomi-002", allow_redirects=False, data={
        "csrf_token": token, "version": str(entry.version), "question": entry.question,
        "answer": "粗大ごみはLINEの「粗大ごみ申込」メニューから24時間お申し込みいただけます。",
        "category": entry.category, "url": entry.url, "updated": "2026-11-25", "keywords": "粗大ごみ、申込"})
    assert resp.status == 303

    after = await answer(resident(), "粗大ごみの申し込み方法", None, bot)
    assert "LINEの「粗大ごみ申込」メニュー" in after[0]["text"]
    history = await (await client.get("/admin/faq/entry/gomi-002/history")).text()
    assert "eda" in history and "粗大ごみ受付センター" in history and "24時間" in history


async def test_stale_form_is_refused_not_overwritten(env):
    client, store, _ = env
    await login(client, "demo", "eda")
    token = await form_token(client, "/admin/faq/entry/koseki-001")
    e = await store.get("demo", "koseki-001")
    fields = {"csrf_token": token, "question": e.question, "answer": "一人目の変更", "version": str(e.version)}
    assert (await client.post("/admin/faq/entry/koseki-001", data=fields, allow_redirects=False)).status == 303
    resp = await client.post("/admin/faq/entry/koseki-001", data={**fields, "answer": "二人目の古い画面からの変更"},
                             allow_redirects=False)
    assert resp.status == 409 and "他の職員" in await resp.text()
    assert (await store.get("demo", "koseki-001")).answer == "一人目の変更"


async def test_viewer_reads_but_cannot_write(env):
    client, store, _ = env
    await login(client, "demo", "vic")
    listing = await client.get("/admin/faq/?q=ゴミ")
    assert listing.status == 200 and "燃えるごみは何曜日" in await listing.text()
    token = await form_token(client, "/admin/faq/entry/gomi-001")
    resp = await client.post("/admin/faq/entry/gomi-001/delete", data={"csrf_token": token}, allow_redirects=False)
    assert resp.status == 403
    assert await store.get("demo", "gomi-001") is not None


async def test_staff_never_see_another_tenants_entries(env):
    client, store, _ = env
    await login(client, "suita", "sue")
    assert (await client.get("/admin/faq/entry/gomi-001")).status == 404
    assert "燃えるごみ" not in await (await client.get("/admin/faq/")).text()
    export = await client.get("/admin/faq/export.csv")
    assert export.status == 200 and "gomi-001" not in await export.text()


async def test_post_without_csrf_token_is_refused(env):
    client, store, _ = env
    await login(client, "demo", "eda")
    resp = await client.post("/admin/faq/entry/gomi-001/delete", data={}, allow_redirects=False)
    assert resp.status == 403 and await store.get("demo", "gomi-001") is not None


async def test_create_validates_and_stores(env):
    client, store, _ = env
    await login(client, "demo", "eda")
    token = await form_token(client, "/admin/faq/new")
    bad = await client.post("/admin/faq/new", data={"csrf_token": token, "id": "x-1", "question": "質問だけ"})
    assert bad.status == 400 and "回答 が空です" in await bad.text()
    dup = await client.post("/admin/faq/new", data={"csrf_token": token, "id": "gomi-001", "question": "q",
                                                    "answer": "a"})
    assert dup.status == 400 and "既に使われています" in await dup.text()
    ok = await client.post("/admin/faq/new", allow_redirects=False, data={
        "csrf_token": token, "id": "x-1", "question": "<script>alert(1)</script>の質問", "answer": "回答です"})
    assert ok.status == 303
    listing = await (await client.get("/admin/faq/")).text()
    assert "&lt;script&gt;" in listing and "<script>alert" not in listing


async def test_csv_upload_preview_then_commit(env):
    client, store, _ = env
    await login(client, "demo", "eda")
    token = await form_token(client, "/admin/faq/import")
    data = "ID,質問,回答\r\ngomi-001,燃えるごみの日は？,月曜と木曜です。\r\nnew-1,新しい質問,新しい回答\r\nbad,,回答\r\n"
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", data.encode("cp932"), filename="faq.csv", content_type="text/csv")
    preview = await client.post("/admin/faq/import", data=form)
    body = await preview.text()
    assert preview.status == 200 and "新規 1 件、更新 1 件" in body and "質問 が空です" in body
    assert (await store.get("demo", "new-1")) is None  # nothing written before the commit
    commit_token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    done = await client.post("/admin/faq/import/commit", data={"csrf_token": token, "token": commit_token})
    assert done.status == 200 and "新規 1 件、更新 1 件" in await done.text()
    assert (await store.get("demo", "gomi-001")).answer == "月曜と木曜です。"
    again = await client.post("/admin/faq/import/commit", data={"csrf_token": token, "token": commit_token})
    assert again.status == 400  # a preview commits once


async def test_export_is_csv_attachment_with_neutralised_cells(env):
    client, store, _ = env
    e = await store.get("demo", "gomi-001")
    e.answer = "=HYPERLINK(\"http://evil.example\")"
    await store.put(e, who="x")
    await login(client, "demo", "vic")
    resp = await client.get("/admin/faq/export.csv")
    assert resp.headers["Content-Disposition"].startswith("attachment")
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    cell = next(r for r in rows if r[0] == "gomi-001")[2]
    assert cell.startswith("'=")
