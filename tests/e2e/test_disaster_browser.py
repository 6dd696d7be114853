"""The rich menu in the resident simulator, tapped in a browser, and the disaster switch done by two staff members on
the admin page. Whole system (emulator, web, worker, scheduler), Debian chromium.

Also takes the README's screenshots (richmenu-normal.png, richmenu-disaster.png, shelter-carousel.png): into the
ignored artifacts folder, or into docs/images under ``make screenshots`` (tests.browser.readme_screenshots).
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from staff import RedisStaffStore, add_staff, fast_policy
from tests.browser import readme_screenshots, sign_in
from tests.system import System, chat_system

pytestmark = pytest.mark.browser

PW = "correct horse battery staple"
RESIDENT = "U" + "b0a7d15a".ljust(32, "0")


async def _add_staff(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for name, role in (("editor1", "editor"), ("super1", "supervisor")):
            await add_staff(RedisStaffStore(client), "demo", name, role, PW, hasher=fast_policy().hasher)
    finally:
        await client.aclose()


@pytest.fixture
def system(tmp_path, redis_url):
    with chat_system(tmp_path, redis_url, prepare=_add_staff, extra_env={"CIVICBOT_JMA_POLL_SECONDS": "0"}) as s:
        s.start("scheduler")  # uploads the menus, seeds the demo's shelters
        yield s


async def _staff_page(browser, system: System, username: str):
    page = await (await browser.new_context(viewport={"width": 1200, "height": 900}, locale="ja-JP")).new_page()
    await page.goto(f"{system.web}/staff/login?next=/admin/disaster/")
    await sign_in(page, "demo", username, PW, lands_on=f"{system.web}/admin/disaster/")
    return page


async def test_resident_taps_the_menu_staff_switch_to_disaster_resident_finds_a_tsunami_site(system, browser):
    from playwright.async_api import expect

    resident = await (await browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")).new_page()
    errors: list[str] = []
    resident.on("pageerror", lambda exc: errors.append(str(exc)))
    await asyncio.to_thread(system.post, "/_emulator/send", {"tenant": "demo", "user_id": RESIDENT, "type": "follow"})
    await resident.goto(f"{system.emulator}/simulator?tenant=demo&user={RESIDENT}")
    bar = resident.get_by_test_id("rich-menu-bar")
    await expect(bar).to_be_visible(timeout=60_000)
    await expect(bar).to_contain_text("メニュー")
    if await resident.get_by_test_id("rich-menu").is_hidden():
        await bar.click()  # the normal menu opens folded (selected: false)
    areas = resident.get_by_test_id("rich-menu-area")
    await expect(areas).to_have_count(6)
    await expect(resident.get_by_test_id("rich-menu-image")).to_have_js_property("complete", True)
    shots = readme_screenshots()
    await resident.get_by_test_id("phone").screenshot(path=str(shots / "richmenu-normal.png"))

    # a tap on 防災・防犯の通知設定 is a postback the alerts room answers
    await resident.get_by_role("button", name="防災・防犯の通知設定").click()
    await expect(resident.get_by_test_id("bubble-user").last).to_have_text("防災・防犯の通知設定")
    await expect(resident.get_by_test_id("quick-reply").first).to_be_visible(timeout=30_000)

    # staff: an editor asks for disaster mode (津波), a supervisor approves
    editor = await _staff_page(browser, system, "editor1")
    await editor.get_by_label("津波").check()
    await editor.get_by_role("button", name="依頼する").click()
    await expect(editor.get_by_test_id("disaster-pending")).to_be_visible()
    await expect(editor.get_by_test_id("disaster-approve")).to_have_count(0)  # not the requester
    supervisor = await _staff_page(browser, system, "super1")
    await supervisor.get_by_test_id("disaster-approve").click()
    await expect(supervisor.get_by_test_id("disaster-mode")).to_contain_text("災害時")

    # the simulator shows the disaster menu (it opens by itself) without any message
    await expect(resident.get_by_role("button", name="避難所を探す")).to_be_visible(timeout=15_000)
    await expect(resident.get_by_test_id("rich-menu-area")).to_have_count(5)
    await expect(resident.get_by_test_id("rich-menu-image")).to_have_js_property("complete", True)
    await resident.get_by_test_id("phone").screenshot(path=str(shots / "richmenu-disaster.png"))

    await resident.get_by_role("button", name="避難所を探す").click()
    await expect(resident.get_by_test_id("bubble-bot").last).to_contain_text("津波")
    await resident.get_by_test_id("quick-reply").filter(has_text="位置情報").click()
    await resident.get_by_test_id("location-preset").filter(has_text="岸和田駅").click()
    cards = resident.get_by_test_id("flex-bubble")
    await expect(cards).to_have_count(5, timeout=30_000)
    await expect(cards.first).to_contain_text("津波")
    await expect(cards.first).to_contain_text("出典：国土地理院")
    await resident.get_by_test_id("rich-menu-bar").click()  # fold the menu away for the picture
    await expect(resident.get_by_test_id("rich-menu")).to_be_hidden()
    await resident.get_by_test_id("phone").screenshot(path=str(shots / "shelter-carousel.png"))
    assert errors == []
