"""Browser test of the resident simulator against the emulator and a tiny fake bot (no Redis, no worker).

The fake bot checks the webhook signature with the SDK's WebhookParser and replies 「こんにちは！」 with a quick reply
through line-bot-sdk pointed at the emulator, so the page shows exactly what LINE would show.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import MessageEvent, PostbackEvent, TextMessageContent
from pydantic import SecretStr

from bot.config import Tenant
from emulator import EmulatorOptions, create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TENANT = Tenant(
    id="demo", display_name="デモ市", lg_code="271004", channel_secret=SecretStr("demo-secret"), channel_token=SecretStr("demo-token")
)


class FakeBot:
    def __init__(self) -> None:
        self.emulator_url = ""
        self.tasks: set[asyncio.Task] = set()

    async def callback(self, request: web.Request) -> web.Response:
        raw = (await request.read()).decode()
        try:
            events = WebhookParser("demo-secret").parse(raw, request.headers.get("X-Line-Signature", ""))
        except InvalidSignatureError:
            return web.Response(status=403)
        for event in events:
            task = asyncio.create_task(self.answer(event))  # acknowledge first, like the real bot
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return web.Response(text="OK")

    async def answer(self, event) -> None:
        if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
            reply = TextMessage(
                text="こんにちは！",
                quick_reply=QuickReply(
                    items=[
                        QuickReplyItem(action=MessageAction(label="よくある質問", text="よくある質問")),
                        QuickReplyItem(action=PostbackAction(label="相談する", data="room=consult", display_text="相談したいです")),
                    ]
                ),
            )
        elif isinstance(event, PostbackEvent):
            reply = TextMessage(text=f"受け付けました（{event.postback.data}）")
        else:
            return
        config = Configuration(host=self.emulator_url, access_token="demo-token")
        async with AsyncApiClient(config) as client:
            api = AsyncMessagingApi(client)
            await api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=event.source.user_id, loading_seconds=5))
            await api.reply_message(ReplyMessageRequest(reply_token=event.reply_token, messages=[reply]))


@pytest.fixture
async def running():
    bot = FakeBot()
    bot_app = web.Application()
    bot_app.router.add_post("/callback/{tenant}", bot.callback)
    bot_server = TestServer(bot_app)
    await bot_server.start_server()
    emu_server = TestServer(create_app({"demo": TENANT}, str(bot_server.make_url("")).rstrip("/"), EmulatorOptions()))
    await emu_server.start_server()
    bot.emulator_url = str(emu_server.make_url("")).rstrip("/")
    yield bot.emulator_url
    await emu_server.close()
    await bot_server.close()


@pytest.fixture
async def page():
    playwright_api = pytest.importorskip("playwright.async_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        context = await browser.new_context(viewport={"width": 390, "height": 780}, locale="ja-JP", device_scale_factor=2)
        yield await context.new_page()
        await browser.close()


async def test_resident_says_hello_and_sees_reply_with_quick_reply(running, page):
    from playwright.async_api import expect

    await page.goto(f"{running}/simulator?tenant=demo&user=U0000000000000000000000000000e2e1")
    await expect(page.get_by_test_id("chat-title")).to_have_text("デモ市")
    await expect(page.locator("body[data-connected=true]")).to_have_count(1)

    await page.get_by_test_id("composer-input").fill("こんにちは")
    await page.get_by_test_id("send-button").click()

    await expect(page.get_by_test_id("bubble-user").last).to_have_text("こんにちは")
    await expect(page.get_by_test_id("bubble-bot").last).to_have_text("こんにちは！")
    chips = page.get_by_test_id("quick-reply")
    await expect(chips).to_have_text(["よくある質問", "相談する"])
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "simulator.png"))

    # tapping a postback chip shows its displayText as the resident's message and gets an answer
    await chips.nth(1).click()
    await expect(page.get_by_test_id("bubble-user").last).to_have_text("相談したいです")
    await expect(page.get_by_test_id("bubble-bot").last).to_have_text("受け付けました（room=consult）")
    await expect(page.get_by_test_id("quick-reply")).to_have_count(0)

    # a reload keeps the tenant/user (localStorage) and shows the history
    await page.goto(f"{running}/simulator")
    await expect(page.get_by_test_id("bubble-bot")).to_have_count(2)
