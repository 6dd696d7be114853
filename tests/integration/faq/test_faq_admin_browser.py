"""An editor in a real browser (Debian chromium via Playwright) changes an answer; the bot answers with it at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from bot.chat import Incoming
from bot.config import Tenant
from faq.admin import FaqAdminDeps, create_app
from faq.chat import FaqDeps, answer
from faq.index import LiveIndex
from faq.io import parse_file
from faq.store import RedisFaqStore
from staff import RedisStaffStore, add_staff, fast_policy
from staff.web import StaffDeps, setup
from tests.browser import chromium, sign_in
from tests.system import free_port

pytestmark = pytest.mark.browser
PW = "correct horse battery"
DEMO = Path(__file__).resolve().parents[3] / "faq" / "sample" / "demo_faq.csv"
TENANT = Tenant(id="demo", display_name="デモ市", lg_code="271004")


@pytest.fixture
async def site(redis):
    staff_store, policy = RedisStaffStore(redis), fast_policy()
    await add_staff(staff_store, "demo", "eda", "editor", PW, display_name="編集者", hasher=policy.hasher)
    faq_store = RedisFaqStore(redis)
    await faq_store.put_many("demo", parse_file(DEMO, "demo").entries, who="seed")
    app = web.Application()
    setup(app, StaffDeps(store=staff_store, tenants={"demo": TENANT}, policy=policy, home_path="/admin/faq/"))
    app.add_subapp("/admin/faq", create_app(FaqAdminDeps(store=faq_store, index=LiveIndex(faq_store))))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield faq_store, f"http://127.0.0.1:{port}"  # Chromium accepts Secure cookies on loopback http
    await runner.cleanup()


async def test_editor_changes_answer_and_bot_uses_it(site):
    store, base = site
    bot = FaqDeps(index=LiveIndex(store), store=store)  # a bot worker with its own index on the same Redis
    resident = Incoming(tenant=TENANT, user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0)
    assert "8時30分" in (await answer(resident, "燃えるゴミは何曜日に出せばいい？", None, bot))[0]["text"]

    async with chromium() as browser:
        page = await (await browser.new_context(locale="ja-JP")).new_page()
        await page.goto(f"{base}/admin/faq/")
        await page.wait_for_url("**/staff/login**")
        await sign_in(page, "demo", "eda", PW, lands_on=f"{base}/admin/faq/")

        await page.fill("#q", "燃えるゴミ")
        await page.press("#q", "Enter")
        await page.click("text=燃えるごみは何曜日に出せばいいですか？")
        await page.fill("#answer", "燃えるごみは月曜日と木曜日の朝9時までに出してください。")
        await page.click("button:has-text('保存する')")
        await page.locator("[role=status]", has_text="gomi-001 を更新しました").wait_for()

    reply = await answer(resident, "燃えるゴミは何曜日に出せばいい？", None, bot)
    assert "月曜日と木曜日の朝9時まで" in reply[0]["text"]
    assert (await store.history("demo", "gomi-001"))[0].who == "eda"
