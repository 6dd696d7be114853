"""The whole system in a browser: the resident simulator talks to the real web + worker processes via the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import chromium
from tests.system import chat_system

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture
def system(tmp_path, redis_url):
    with chat_system(tmp_path, redis_url) as s:
        yield s


@pytest.fixture
async def page():
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 390, "height": 780}, locale="ja-JP")
        yield await context.new_page()


async def test_resident_says_konnichiwa_and_gets_the_bots_reply(system, page):
    from playwright.async_api import expect

    await page.goto(f"{system.emulator}/simulator?tenant=demo&user=U00000000000000000000000000whole1")
    await expect(page.locator("body[data-connected=true]")).to_have_count(1)
    await page.get_by_test_id("composer-input").fill("こんにちは")
    await page.get_by_test_id("send-button").click()
    bot = page.get_by_test_id("bubble-bot").last
    await expect(bot).to_contain_text("デモ市", timeout=15_000)
    await expect(page.get_by_test_id("quick-reply").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "whole-system.png"))
