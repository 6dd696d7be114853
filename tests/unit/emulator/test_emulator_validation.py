"""LINE's request limits as the emulator enforces them."""

from __future__ import annotations

import pytest

from emulator.validation import Invalid, utf16_len, validate


def text(t: str) -> dict:
    return {"type": "text", "text": t}


def props(endpoint: str, body) -> list[str]:
    with pytest.raises(Invalid) as exc:
        validate(endpoint, body)
    return [d["property"] for d in exc.value.details]


def test_utf16_len_counts_surrogate_pairs():
    assert utf16_len("abc") == 3
    assert utf16_len("大阪") == 2
    assert utf16_len("😀") == 2
    assert utf16_len("👨‍👩‍👧") == 8  # three emoji (2 each) + two zero-width joiners


def test_valid_bodies_pass():
    validate("reply", {"replyToken": "t", "messages": [text("こんにちは")]})
    validate("push", {"to": "U1", "messages": [text("a")] * 5})
    validate("multicast", {"to": ["U1"] * 500, "messages": [text("a")]})
    validate("broadcast", {"messages": [text("a")]})
    validate("loading", {"chatId": "U1", "loadingSeconds": 60})


def test_message_count_limits():
    assert props("push", {"to": "U1", "messages": [text("a")] * 6}) == ["messages"]
    assert props("push", {"to": "U1", "messages": []}) == ["messages"]
    assert props("push", {"to": "U1"}) == ["messages"]


def test_text_length_in_utf16_units():
    validate("push", {"to": "U1", "messages": [text("😀" * 2500)]})
    assert props("push", {"to": "U1", "messages": [text("😀" * 2500 + "a")]}) == ["messages[0].text"]
    assert props("push", {"to": "U1", "messages": [text("")]}) == ["messages[0].text"]


def test_quick_reply_limits():
    item = {"type": "action", "action": {"type": "message", "label": "a", "text": "a"}}
    validate("push", {"to": "U1", "messages": [{**text("a"), "quickReply": {"items": [item] * 13}}]})
    assert props("push", {"to": "U1", "messages": [{**text("a"), "quickReply": {"items": [item] * 14}}]}) == [
        "messages[0].quickReply.items"
    ]
    postback = {"type": "action", "action": {"type": "postback", "label": "a", "data": "x" * 301}}
    assert props("push", {"to": "U1", "messages": [{**text("a"), "quickReply": {"items": [postback]}}]}) == [
        "messages[0].quickReply.items[0].action.data"
    ]


def test_multicast_recipient_limit_and_missing_fields():
    assert props("multicast", {"to": ["U1"] * 501, "messages": [text("a")]}) == ["to"]
    assert props("push", {"messages": [text("a")]}) == ["to"]
    assert props("reply", {"messages": [text("a")]}) == ["replyToken"]


def test_sdk_model_errors_carry_line_paths():
    assert props("push", {"to": "U1", "messages": [text("a"), {"type": "sticker", "packageId": "1"}]}) == [
        "messages[1].stickerId"
    ]
    assert props("push", {"to": "U1", "messages": [{"type": "nope"}]}) == ["messages[0].type"]


def test_error_body_shape():
    with pytest.raises(Invalid) as exc:
        validate("push", {"to": "U1", "messages": [text("a")] * 6})
    assert exc.value.body() == {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "Size must be between 1 and 5", "property": "messages"}],
    }
    with pytest.raises(Invalid) as exc:
        validate("push", ["not", "an", "object"])
    assert "details" not in exc.value.body()


def test_loading_seconds_rules():
    for bad in (0, 7, 65, "20", True):
        assert props("loading", {"chatId": "U1", "loadingSeconds": bad}) == ["loadingSeconds"]
