"""Issue 5's browser test through the whole system.

The demo FAQ is in Redis; the real emulator, web and worker processes run. An editor logs in at /staff/login (web
process), changes an answer in /admin/faq, and a resident in the simulator (emulator → webhook → worker) gets the new
answer for that question at once: the worker's own index sees the edit through the store's revision, no restart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import sign_in
from tests.system import chat_system

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PW = "editor password 2026"
QUESTION = "燃えるゴミは何曜日に出せばいい？"
NEW_ANSWER = "燃えるごみは月曜日と木曜日の朝9時までに出してください。"


async def _seed(redis_url: str) -> None:
    """The demo FAQ and one editor account of the demo tenant, as `make demo` and `civicbot staff add` would."""
    import redis.asyncio as aioredis

    from faq.demo import SAMPLE
    from faq.io import import_file
    from faq.store import RedisFaqStore
    from staff import RedisStaffStore, add_staff, fast_policy

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert not (await import_file(RedisFaqStore(client), "demo", SAMPLE, who="test")).errors
        await add_staff(RedisStaffStore(client), "demo", "eda", "editor", PW, display_name="編集者",
                        hasher=fast_policy().hasher)
    finally:
        await client.aclose()


async def _history(redis_url: str, entry_id: str) -> list:
    import redis.asyncio as aioredis

    from faq.store import RedisFaqStore

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return await RedisFaqStore(client).history("demo", entry_id)
    finally:
        await client.aclose()


@pytest.fixture
def system(tmp_path, redis_url):
    with chat_system(tmp_path, redis_url, prepare=_seed) as s:
        yield s


async def _ask(page, text: str):
    from playwright.async_api import expect

    before = await page.get_by_test_id("bubble-bot").count()
    await page.get_by_test_id("composer-input").fill(text)
    await page.get_by_test_id("send-button").click()
    await expect(page.get_by_test_id("bubble-bot")).not_to_have_count(before, timeout=20_000)
    await expect(page.get_by_test_id("bubble-bot").last).to_have_text("役に立ちましたか？", timeout=20_000)
    return page.get_by_test_id("bubble-bot")


async def test_editor_changes_an_answer_and_the_resident_gets_it_at_once(system, browser, redis_url):
    from playwright.async_api import expect

    resident = await (await browser.new_context(viewport={"width": 390, "height": 780}, locale="ja-JP")).new_page()
    await resident.goto(f"{system.emulator}/simulator?tenant=demo&user=U00000000000000000000000000faq01")
    await expect(resident.locator("body[data-connected=true]")).to_have_count(1)
    bubbles = await _ask(resident, QUESTION)
    await expect(bubbles.filter(has_text="8時30分")).not_to_have_count(0)
    await expect(resident.get_by_test_id("quick-reply").filter(has_text="👍")).to_be_visible()

    staff = await (await browser.new_context(locale="ja-JP")).new_page()
    await staff.goto(f"{system.web}/staff/login?next=/admin/faq/")
    await sign_in(staff, "demo", "eda", PW, lands_on=f"{system.web}/admin/faq/")
    await staff.fill("#q", "燃えるゴミ")
    await staff.press("#q", "Enter")
    await staff.click("text=燃えるごみは何曜日に出せばいいですか？")
    await staff.fill("#answer", NEW_ANSWER)
    await staff.click("button:has-text('保存する')")
    await staff.locator("[role=status]", has_text="gomi-001 を更新しました").wait_for()

    bubbles = await _ask(resident, QUESTION)
    answer = bubbles.filter(has_text="燃えるごみは何曜日に出せばいいですか？").last
    await expect(answer).to_contain_text("月曜日と木曜日の朝9時まで")
    await expect(answer).not_to_contain_text("8時30分")
    ARTIFACTS.mkdir(exist_ok=True)
    await resident.screenshot(path=str(ARTIFACTS / "faq-edited-answer.png"))

    (change, *_) = await _history(redis_url, "gomi-001")
    assert change.who == "eda"
