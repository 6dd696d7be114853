"""The emulator's requests and responses against LINE's official OpenAPI descriptions (emulator/openapi/).

If the emulator drifts from LINE (a missing field, a wrong status, a webhook event LINE would never send), these fail.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import send
from .spec import check_callback, checked_call, messaging, webhook

AUTH = {"Authorization": "Bearer demo-token"}
QR = {"items": [{"type": "action", "action": {"type": "message", "label": "FAQ", "text": "FAQ"}}]}
TEXT = {"type": "text", "text": "こんにちは！", "quickReply": QR}
FLEX = {
    "type": "flex",
    "altText": "避難所",
    "contents": {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "避難所一覧"}]},
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "button", "action": {"type": "postback", "label": "登録", "data": "room=alerts"}}],
        },
    },
}


def test_strict_checker_catches_what_plain_json_schema_misses():
    _, strict = webhook()
    event = {
        "type": "message", "mode": "active", "timestamp": 1, "source": {"type": "user", "userId": "U1"},
        "webhookEventId": "01J", "deliveryContext": {"isRedelivery": False}, "replyToken": "t",
        "message": {"id": "1", "type": "text", "text": "hi"},  # no quoteToken
    }
    body = {"destination": "U" + "0" * 32, "events": [event]}
    assert any("quoteToken" in e for e in strict.check("CallbackRequest", body))
    _, mstrict = messaging()
    assert mstrict.check("PushMessageRequest", {"to": "U1", "messages": [{"type": "bogus"}]})


async def test_reply_push_multicast_broadcast_narrowcast_match_spec(emu):
    sent = await send(emu, user_id="U1", text="こんにちは")
    await send(emu, user_id="U2", type="follow")
    status, raw, _ = await checked_call(
        emu, "post", "/v2/bot/message/reply", json_body={"replyToken": sent["replyToken"], "messages": [TEXT, FLEX]}, headers=AUTH
    )
    assert status == 200 and len(json.loads(raw)["sentMessages"]) == 2
    key = {**AUTH, "X-Line-Retry-Key": str(uuid.uuid4())}
    status, _, _ = await checked_call(emu, "post", "/v2/bot/message/push", json_body={"to": "U1", "messages": [TEXT]}, headers=key)
    assert status == 200
    status, _, headers = await checked_call(emu, "post", "/v2/bot/message/push", json_body={"to": "U1", "messages": [TEXT]}, headers=key)
    assert status == 409 and headers["x-line-accepted-request-id"]
    status, _, _ = await checked_call(
        emu, "post", "/v2/bot/message/multicast", json_body={"to": ["U1", "U2"], "messages": [TEXT]}, headers=AUTH
    )
    assert status == 200
    status, _, _ = await checked_call(emu, "post", "/v2/bot/message/broadcast", json_body={"messages": [TEXT]}, headers=AUTH)
    assert status == 200
    status, _, headers = await checked_call(
        emu, "post", "/v2/bot/message/narrowcast", json_body={"messages": [TEXT]}, headers=AUTH
    )
    assert status == 202
    status, _, _ = await checked_call(
        emu, "get", "/v2/bot/message/progress/narrowcast", params={"requestId": headers["x-line-request-id"]}, headers=AUTH
    )
    assert status == 200


async def test_error_responses_match_spec(emu):
    status, raw, _ = await checked_call(
        emu, "post", "/v2/bot/message/reply", json_body={"replyToken": "nope", "messages": [TEXT]}, headers=AUTH
    )
    assert status == 400 and json.loads(raw) == {"message": "Invalid reply token"}
    long_text = {"type": "text", "text": "x" * 5001}
    status, _, _ = await checked_call(emu, "post", "/v2/bot/message/push", json_body={"to": "U1", "messages": [long_text]}, headers=AUTH)
    assert status == 400
    await emu.post("/_emulator/config", json={"rate_limits": {"broadcast": 1}})
    await checked_call(emu, "post", "/v2/bot/message/broadcast", json_body={"messages": [TEXT]}, headers=AUTH)
    status, _, _ = await checked_call(emu, "post", "/v2/bot/message/broadcast", json_body={"messages": [TEXT]}, headers=AUTH)
    assert status == 429
    await emu.post("/_emulator/config", json={"monthly_quota": 0})
    status, raw, _ = await checked_call(emu, "post", "/v2/bot/message/push", json_body={"to": "U1", "messages": [TEXT]}, headers=AUTH)
    assert status == 429 and json.loads(raw)["message"] == "You have reached your monthly limit."
    status, _, _ = await checked_call(emu, "post", "/v2/bot/message/push", json_body={"to": "U1", "messages": [TEXT]}, headers={"Authorization": "Bearer bad"})
    assert status == 401


async def test_read_endpoints_match_spec(emu):
    sent = await send(emu, user_id="U1", type="image", data_base64="aGVsbG8=")
    conversation = await (await emu.get("/_emulator/conversation", params={"tenant": "demo", "user": "U1"})).json()
    message_id = conversation[0]["event"]["message"]["id"]
    assert sent["webhookEventId"]
    for method, pattern, kwargs, expected in [
        ("get", "/v2/bot/profile/{userId}", {"path_params": {"userId": "U1"}}, 200),
        ("get", "/v2/bot/message/quota", {}, 200),
        ("get", "/v2/bot/message/quota/consumption", {}, 200),
        ("get", "/v2/bot/message/{messageId}/content", {"path_params": {"messageId": message_id}}, 200),
        ("post", "/v2/bot/chat/loading/start", {"json_body": {"chatId": "U1", "loadingSeconds": 20}}, 202),
        ("post", "/v2/bot/message/markAsRead", {"json_body": {"chat": {"userId": "U1"}}}, 200),
        ("post", "/v2/bot/chat/loading/start", {"json_body": {"chatId": "U1", "loadingSeconds": 61}, "invalid_request": True}, 400),
    ]:
        status, _, _ = await checked_call(emu, method, pattern, headers=AUTH, **kwargs)
        assert status == expected, pattern
    await emu.post("/_emulator/config", json={"monthly_quota": 10})
    status, raw, _ = await checked_call(emu, "get", "/v2/bot/message/quota", headers=AUTH)
    assert json.loads(raw) == {"type": "limited", "value": 10}


@pytest.mark.parametrize(
    "req",
    [
        {"text": "こんにちは"},
        {"type": "location", "lat": 34.6937, "lng": 135.5023, "address": "大阪府大阪市中央区大手前２丁目", "title": "大阪府庁"},
        {"type": "postback", "data": "room=alerts&action=add", "params": {"datetime": "2026-11-25T10:00"}},
        {"type": "follow"},
        {"type": "unfollow"},
        {"type": "image"},
    ],
    ids=["text", "location", "postback", "follow", "unfollow", "image"],
)
async def test_webhook_bodies_match_callback_request(emu, fake_bot, req):
    await send(emu, user_id="U1", **req)
    [received] = fake_bot.received
    assert check_callback(received["body"]) == []


async def test_redelivered_and_block_webhooks_match_callback_request(emu, fake_bot):
    sent = await send(emu, user_id="U1", text="a")
    await send(emu, redeliver=sent["webhookEventId"])
    await emu.post("/_emulator/block", json={"tenant": "demo", "user_id": "U1"})
    assert len(fake_bot.received) == 3
    for received in fake_bot.received:
        assert check_callback(received["body"]) == []


async def test_mark_as_read_by_token_matches_spec(emu, fake_bot):
    await send(emu, user_id="U1", text="a")
    token = fake_bot.received[0]["body"]["events"][0]["message"]["markAsReadToken"]
    status, _, _ = await checked_call(emu, "post", "/v2/bot/chat/markAsRead", json_body={"markAsReadToken": token}, headers=AUTH)
    assert status == 200
    status, _, _ = await checked_call(emu, "post", "/v2/bot/chat/markAsRead", json_body={"markAsReadToken": "nope"}, headers=AUTH)
    assert status == 400


def test_every_emulated_route_exists_in_the_spec(options):
    """Path drift: each /v2/bot route the emulator serves is a path (and method) of messaging-api.yml."""
    import re

    from emulator import create_app

    from .conftest import TENANTS

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    _, strict = messaging()
    spec_ops = {(shape(path), method) for path, ops in strict.doc["paths"].items() for method in ops}
    app = create_app(TENANTS, "http://127.0.0.1:9", options)
    served = {
        (shape(route.resource.canonical), route.method.lower())
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/v2/bot/") and route.method != "HEAD"
    }
    assert len(served) >= 13
    assert served <= spec_ops, served - spec_ops
