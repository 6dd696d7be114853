"""Webhook events the emulator builds, checked with line-bot-sdk's own parser."""

from __future__ import annotations

import pytest
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import ImageMessageContent, MessageEvent, TextMessageContent

from emulator.webhook import BadSend, build_event, callback_body, destination, sign


def clock() -> float:
    return 1_795_000_000.5


def test_signed_body_parses_with_sdk():
    event = build_event({"user_id": "U1", "text": "こんにちは"}, clock=clock, reply_token="rt")
    body = callback_body("demo", [event])
    [parsed] = WebhookParser("demo-secret").parse(body.decode(), sign("demo-secret", body))
    assert isinstance(parsed, MessageEvent) and isinstance(parsed.message, TextMessageContent)
    assert parsed.timestamp == 1_795_000_000_500
    assert parsed.mode.value == "active"
    assert parsed.message.quote_token


def test_image_event_has_line_content_provider():
    event = build_event({"user_id": "U1", "type": "image"}, clock=clock, reply_token="rt")
    body = callback_body("demo", [event])
    [parsed] = WebhookParser("s").parse(body.decode(), sign("s", body))
    assert isinstance(parsed.message, ImageMessageContent)
    assert parsed.message.content_provider.type == "line"


def test_destination_is_a_bot_user_id_per_tenant():
    assert destination("demo") != destination("suita")
    assert destination("demo").startswith("U") and len(destination("demo")) == 33
    int(destination("demo")[1:], 16)


@pytest.mark.parametrize(
    "req",
    [
        {"user_id": "U1"},
        {"text": "a"},
        {"user_id": "U1", "type": "sticker"},
        {"user_id": "U1", "type": "location", "lat": 91, "lng": 0},
        {"user_id": "U1", "type": "postback"},
        {"user_id": "U1", "type": "postback", "data": "x", "params": ["no"]},
    ],
)
def test_bad_requests_are_refused(req):
    with pytest.raises(BadSend):
        build_event(req, clock=clock, reply_token="rt")
