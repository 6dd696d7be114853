"""/admin/faq/unanswered through real HTTP and Redis: grouping, "new FAQ from this", "attach as alternative",
translations in the edit form, roles and tenants."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.chat import Incoming
from bot.config import Tenant
from faq.admin import FaqAdminDeps, create_app
from faq.chat import FaqDeps, answer
from faq.demo import load_sample
from faq.index import LiveIndex
from faq.store import RedisFaqStore
from faq.unanswered import RedisUnansweredStore
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from staff.web import StaffDeps, setup
from tests.helpers import csrf_token, staff_login

PW = "correct horse battery"
TENANTS = {t: Tenant(id=t, display_name=n, lg_code=c)
           for t, n, c in [("demo", "デモ市", "271004"), ("suita", "吹田市", "272051")]}
QUESTION = "ハクビシンが屋根裏に住み着いて困っています"
SIMILAR = "屋根裏のハクビシンを追い出したい"


@pytest.fixture
async def env(redis):
    staff_store = MemoryStaffStore()
    policy = fast_policy()
    for tenant, user, role in [("demo", "eda", "editor"), ("demo", "vic", "viewer"), ("suita", "sue", "editor")]:
        await add_staff(staff_store, tenant, user, role, PW, hasher=policy.hasher)
    faq_store = RedisFaqStore(redis)
    unanswered = RedisUnansweredStore(redis)
    await load_sample(faq_store, "demo", who="seed")
    app = web.Application()
    setup(app, StaffDeps(store=staff_store, tenants=TENANTS, policy=policy, cookie_secure=False))
    app.add_subapp("/admin/faq", create_app(FaqAdminDeps(store=faq_store, index=LiveIndex(faq_store),
                                                         unanswered=unanswered)))
    bot = FaqDeps(index=LiveIndex(faq_store), store=faq_store, unanswered=unanswered)  # the worker's side
    async with TestClient(TestServer(app)) as client:
        yield client, faq_store, bot


def resident(text: str, tenant: str = "demo") -> Incoming:
    return Incoming(tenant=TENANTS[tenant], user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0,
                    text=text)


async def ask(bot: FaqDeps, text: str) -> str:
    return "\n".join(m["text"] for m in await answer(resident(text), text, None, bot))


async def test_new_faq_from_an_unanswered_group_answers_the_next_resident(env):
    client, store, bot = env
    for text in (QUESTION, QUESTION, SIMILAR, "090-1111-2222 ハクビシンの件で電話ください"):
        await ask(bot, text)
    await staff_login(client, "demo", "eda", PW, next_path="/admin/faq/")
    page = await (await client.get("/admin/faq/unanswered")).text()
    assert QUESTION in page and SIMILAR in page and "090-1111-2222" not in page
    assert page.count('data-testid="unanswered-group"') == 1  # the two wordings are one group …
    group = re.search(r'data-testid="unanswered-group".*?<td>(\d+)</td>', page, re.DOTALL)
    assert group and group.group(1) == "3"  # … asked three times

    link = re.search(r'href="(/admin/faq/new\?from=[0-9a-f,]+)"', page).group(1)
    form = await (await client.get(link)).text()
    assert f'value="{QUESTION}"' in form and SIMILAR in form  # question + the other wording as alternative
    keys = re.search(r'name="from_keys" value="([0-9a-f,]+)"', form).group(1)
    resp = await client.post("/admin/faq/new", allow_redirects=False, data={
        "csrf_token": csrf_token(form), "from_keys": keys, "id": "kurashi-016", "question": QUESTION,
        "alternatives": SIMILAR, "answer": "ハクビシンの捕獲は、環境保全課（電話 06-0000-5400）で箱わなを貸し出しています。",
        "question:en": "A masked palm civet lives in my attic.",
        "answer:en": "The Environmental Conservation Division (tel. 06-0000-5400) lends box traps."})
    assert resp.status == 303
    assert "いまは答えられなかった質問はありません" in await (await client.get("/admin/faq/unanswered")).text()

    assert "箱わな" in await ask(bot, QUESTION)  # the bot worker's own index sees the new entry at once
    assert "箱わな" in await ask(bot, SIMILAR)
    entry = await store.get("demo", "kurashi-016")
    assert entry.translations["en"].answer.startswith("The Environmental Conservation Division")


async def test_attach_as_alternative_question_of_an_existing_entry(env):
    client, store, bot = env
    wording = "空き家の草が伸び放題で虫が出る"
    await ask(bot, wording)
    await staff_login(client, "demo", "eda", PW, next_path="/admin/faq/")
    page = await (await client.get("/admin/faq/unanswered")).text()
    found = re.search(r'name="keys" value="([0-9a-f,]+)"', page)
    assert found, page[-3000:]
    keys = found.group(1)
    resp = await client.post("/admin/faq/unanswered/attach", allow_redirects=False, data={
        "csrf_token": csrf_token(page), "keys": keys, "entry_id": "sumai-003"})
    assert resp.status == 303
    assert (await store.get("demo", "sumai-003")).alternatives == [wording]
    assert "空き家相談窓口" in await ask(bot, wording)
    history = await (await client.get("/admin/faq/entry/sumai-003/history")).text()
    assert "eda" in history
    assert wording not in await (await client.get("/admin/faq/unanswered")).text()


async def test_viewers_and_other_tenants_do_not_see_residents_questions(env):
    client, _, bot = env
    await ask(bot, QUESTION)
    await staff_login(client, "demo", "vic", PW, next_path="/admin/faq/")
    assert (await client.get("/admin/faq/unanswered")).status == 403
    await client.get("/staff/logout")
    client.session.cookie_jar.clear()
    await staff_login(client, "suita", "sue", PW, next_path="/admin/faq/")
    page = await client.get("/admin/faq/unanswered")
    assert page.status == 200 and QUESTION not in await page.text()


async def test_translations_are_edited_in_the_form(env):
    client, store, _ = env
    await staff_login(client, "demo", "eda", PW, next_path="/admin/faq/")
    form = await (await client.get("/admin/faq/entry/gomi-002")).text()
    assert "Bulky garbage must be booked in advance" in form  # the demo FAQ's English translation
    entry = await store.get("demo", "gomi-002")
    resp = await client.post("/admin/faq/entry/gomi-002", allow_redirects=False, data={
        "csrf_token": csrf_token(form), "version": str(entry.version), "question": entry.question,
        "answer": entry.answer, "category": entry.category, "url": entry.url, "keywords": "、".join(entry.keywords),
        "question:en": entry.translations["en"].question, "answer:en": entry.translations["en"].answer,
        "question:vi": "Làm thế nào để vứt đồ cồng kềnh?", "answer:vi": "Đồ cồng kềnh phải đặt lịch trước."})
    assert resp.status == 303
    assert set((await store.get("demo", "gomi-002")).translations) == {"en", "vi"}
    half = await client.post("/admin/faq/entry/gomi-002", data={
        "csrf_token": csrf_token(form), "version": str(entry.version + 1), "question": entry.question,
        "answer": entry.answer, "question:ko": "대형 쓰레기"})
    assert half.status == 400 and "ko の翻訳は質問と回答の両方が必要です" in await half.text()
