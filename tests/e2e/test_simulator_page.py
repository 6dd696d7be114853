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
from tests.browser import chromium

pytestmark = pytest.mark.browser

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
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 390, "height": 780}, locale="ja-JP", device_scale_factor=2)
        yield await context.new_page()


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


async def test_pushed_flex_arrives_live_and_its_buttons_and_location_work(running, page):
    from playwright.async_api import expect

    user = "U0000000000000000000000000000e2e2"
    await page.goto(f"{running}/simulator?tenant=demo&user={user}")
    await expect(page.locator("body[data-connected=true]")).to_have_count(1)

    flex = {
        "type": "flex",
        "altText": "避難所のご案内",
        "contents": {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {"type": "text", "text": "避難所のご案内", "weight": "bold", "size": "lg"},
                    {"type": "text", "text": "最寄りの避難所を確認できます。", "wrap": True},
                ],
            },
            "footer": {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {"type": "button", "style": "primary", "action": {"type": "postback", "label": "通知を登録", "data": "room=alerts&action=subscribe", "displayText": "通知を登録"}}
                ],
            },
        },
    }
    async with AsyncApiClient(Configuration(host=running, access_token="demo-token")) as client:
        from linebot.v3.messaging import PushMessageRequest

        await AsyncMessagingApi(client).push_message(PushMessageRequest.from_dict({"to": user, "messages": [flex]}))

    bubble = page.get_by_test_id("flex-bubble")
    await expect(bubble).to_contain_text("避難所のご案内")
    await bubble.get_by_role("button", name="通知を登録").click()
    await expect(page.get_by_test_id("bubble-bot").last).to_have_text("受け付けました（room=alerts&action=subscribe）")

    await page.get_by_test_id("location-button").click()
    await page.get_by_test_id("location-preset").filter(has_text="大阪府庁").click()
    await expect(page.get_by_test_id("bubble-user").last).to_contain_text("大阪府庁")

    # the loading animation shows when the bot starts it
    async with AsyncApiClient(Configuration(host=running, access_token="demo-token")) as client:
        await AsyncMessagingApi(client).show_loading_animation(ShowLoadingAnimationRequest(chat_id=user, loading_seconds=20))
    await expect(page.get_by_test_id("loading")).to_be_visible()

    # block and follow again from the settings panel
    await page.get_by_test_id("settings").locator("summary").click()
    await page.get_by_test_id("unfollow-button").click()
    await expect(page.get_by_test_id("system-note").last).to_have_text("ブロックしました。")
    await page.get_by_test_id("follow-button").click()
    await expect(page.get_by_test_id("system-note").last).to_have_text("友だち追加しました。")
    await page.screenshot(path=str(ARTIFACTS / "simulator-flex.png"))


async def test_resident_sends_an_image_the_bot_can_download(running, page, tmp_path):
    from playwright.async_api import expect

    from emulator.control import _PIXEL

    user = "U0000000000000000000000000000e2e3"
    picture = tmp_path / "photo.png"
    picture.write_bytes(_PIXEL)
    await page.goto(f"{running}/simulator?tenant=demo&user={user}")
    await expect(page.locator("body[data-connected=true]")).to_have_count(1)
    await page.get_by_test_id("location-button").click()
    await page.get_by_test_id("image-input").set_input_files(str(picture))
    await expect(page.get_by_test_id("bubble-user").last.locator("img")).to_be_visible()

    history = await (await page.request.get(f"{running}/_emulator/conversation?tenant=demo&user={user}")).json()
    message_id = history[-1]["event"]["message"]["id"]
    async with AsyncApiClient(Configuration(host=running, access_token="demo-token")) as client:
        from linebot.v3.messaging import AsyncMessagingApiBlob

        assert await AsyncMessagingApiBlob(client).get_message_content(message_id) == _PIXEL
