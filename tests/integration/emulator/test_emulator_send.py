"""The emulator playing LINE towards the bot: signed webhooks, redelivery, follow/unfollow, the live feed."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import PushMessageRequest, TextMessage
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import FollowEvent, LocationMessageContent, MessageEvent, PostbackEvent, UnfollowEvent

from emulator.webhook import destination

from .conftest import send


async def test_text_event_is_signed_with_the_tenant_secret(emu, fake_bot):
    result = await send(emu, user_id="U1", text="こんにちは")

    [received] = fake_bot.received
    expected = base64.b64encode(hmac.new(b"demo-secret", received["raw"].encode(), hashlib.sha256).digest()).decode()
    assert received["headers"]["X-Line-Signature"] == expected
    [[event]] = fake_bot.parsed  # WebhookParser accepted the signature
    assert isinstance(event, MessageEvent)
    assert event.message.text == "こんにちは"
    assert event.webhook_event_id == result["webhookEventId"]
    assert event.reply_token == result["replyToken"]
    assert event.delivery_context.is_redelivery is False
    assert received["body"]["destination"] == destination("demo")
    assert result["status"] == 200


async def test_signature_fails_with_another_secret_or_tampered_body(emu, fake_bot):
    await send(emu, user_id="U1", text="a")
    [received] = fake_bot.received
    signature = received["headers"]["X-Line-Signature"]
    with pytest.raises(InvalidSignatureError):
        WebhookParser("suita-secret").parse(received["raw"], signature)
    with pytest.raises(InvalidSignatureError):
        WebhookParser("demo-secret").parse(received["raw"].replace("U1", "U2"), signature)


async def test_each_tenant_posts_to_its_own_callback(emu, fake_bot):
    await send(emu, tenant="suita", user_id="U1", text="a")
    assert fake_bot.received[0]["tenant"] == "suita"


async def test_event_ids_are_fresh_and_ulid_shaped(emu):
    ids = {(await send(emu, user_id="U1", text=str(i)))["webhookEventId"] for i in range(5)}
    assert len(ids) == 5
    assert all(len(i) == 26 and i.isalnum() and i.isupper() for i in ids)


async def test_redeliver_reposts_same_event_flagged(emu, fake_bot):
    first = await send(emu, user_id="U1", text="a")
    again = await send(emu, redeliver=first["webhookEventId"])

    original, redelivered = (r["body"]["events"][0] for r in fake_bot.received)
    assert again["webhookEventId"] == first["webhookEventId"]
    assert redelivered["deliveryContext"] == {"isRedelivery": True}
    assert {k: v for k, v in redelivered.items() if k != "deliveryContext"} == {
        k: v for k, v in original.items() if k != "deliveryContext"
    }


async def test_redeliver_unknown_event_is_404(emu):
    resp = await emu.post("/_emulator/send", json={"tenant": "demo", "redeliver": "01NOPE"})
    assert resp.status == 404


async def test_location_postback_follow_unfollow_events(emu, fake_bot):
    await send(emu, user_id="U1", type="location", lat=34.7055, lng=135.4983, address="大阪市北区梅田")
    await send(emu, user_id="U1", type="postback", data="room=faq&action=more", params={"date": "2026-12-01"})
    await send(emu, user_id="U1", type="follow")
    await send(emu, user_id="U1", type="unfollow")
    location, postback, follow, unfollow = (events[0] for events in fake_bot.parsed)
    assert isinstance(location.message, LocationMessageContent) and location.message.latitude == pytest.approx(34.7055)
    assert isinstance(postback, PostbackEvent) and postback.postback.data == "room=faq&action=more"
    assert postback.postback.params == {"date": "2026-12-01"}
    assert isinstance(follow, FollowEvent) and follow.reply_token
    assert isinstance(unfollow, UnfollowEvent)
    assert "replyToken" not in fake_bot.received[3]["body"]["events"][0]


async def test_blocked_user_cannot_send_until_follow(emu):
    await emu.post("/_emulator/block", json={"tenant": "demo", "user_id": "U1"})
    resp = await emu.post("/_emulator/send", json={"tenant": "demo", "user_id": "U1", "text": "a"})
    assert resp.status == 409
    await send(emu, user_id="U1", type="follow")
    await send(emu, user_id="U1", text="a")


async def test_bad_send_requests(emu):
    for body, status in (
        ({"tenant": "nowhere", "user_id": "U1", "text": "a"}, 404),
        ({"tenant": "demo", "user_id": "U1"}, 400),
        ({"tenant": "demo", "user_id": "U1", "type": "location", "lat": "north"}, 400),
        ({"tenant": "demo", "text": "a"}, 400),
    ):
        assert (await emu.post("/_emulator/send", json=body)).status == status, body


async def test_bot_status_is_passed_back(emu, fake_bot):
    fake_bot.status = 503
    resp = await emu.post("/_emulator/send", json={"tenant": "demo", "user_id": "U1", "text": "a"})
    assert (await resp.json())["status"] == 503


async def test_unreachable_bot_is_502(options):
    from aiohttp.test_utils import TestClient, TestServer

    from emulator import create_app

    from .conftest import TENANTS

    client = TestClient(TestServer(create_app(TENANTS, "http://127.0.0.1:9", options)))
    await client.start_server()
    try:
        resp = await client.post("/_emulator/send", json={"tenant": "demo", "user_id": "U1", "text": "a"})
        body = await resp.json()
        assert resp.status == 502 and body["status"] is None and "unreachable" in body["error"]
    finally:
        await client.close()


async def test_websocket_feeds_inbound_and_deliveries_for_that_chat_only(emu, line_api):
    ws = await emu.ws_connect("/_emulator/ws", params={"tenant": "demo", "user": "U1"})
    await send(emu, user_id="U1", text="こんにちは")
    inbound = await ws.receive_json(timeout=5)
    assert inbound["kind"] == "inbound" and inbound["event"]["message"]["text"] == "こんにちは"
    await line_api.push_message(PushMessageRequest(to="U2", messages=[TextMessage(text="other user")]))
    await line_api.push_message(PushMessageRequest(to="U1", messages=[TextMessage(text="お知らせ")]))
    frame = await ws.receive_json(timeout=5)
    assert frame["kind"] == "delivery" and frame["to"] == "U1" and frame["messages"][0]["text"] == "お知らせ"
    await ws.close()


async def test_conversation_history_interleaves_both_sides(emu, line_api, clock):
    await send(emu, user_id="U1", text="一")
    clock.advance(1)
    await line_api.push_message(PushMessageRequest(to="U1", messages=[TextMessage(text="二")]))
    clock.advance(1)
    await send(emu, user_id="U1", text="三")
    history = await (await emu.get("/_emulator/conversation", params={"tenant": "demo", "user": "U1"})).json()
    texts = [h["event"]["message"]["text"] if h["kind"] == "inbound" else h["messages"][0]["text"] for h in history]
    assert texts == ["一", "二", "三"]


async def test_tenants_listing_and_simulator_page(emu):
    tenants = await (await emu.get("/_emulator/tenants")).json()
    assert {"id": "demo", "display_name": "デモ市"} in tenants
    for path in ("/", "/simulator"):
        resp = await emu.get(path)
        assert resp.status == 200
        assert 'data-testid="composer-input"' in await resp.text()
    assert (await emu.get("/static/simulator.js")).status == 200
