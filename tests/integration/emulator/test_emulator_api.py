"""The emulator as the bot sees it, driven by line-bot-sdk's real async client."""

from __future__ import annotations

import uuid

import pytest
from linebot.v3.messaging import (
    ApiException,
    BroadcastRequest,
    MessageAction,
    MulticastRequest,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)

from .conftest import TENANTS, send

TOKEN_HEADERS = {"Authorization": "Bearer demo-token"}


def text(t: str) -> dict:
    return {"type": "text", "text": t}


async def ledger(emu, user: str) -> list[dict]:
    return await (await emu.get("/_emulator/messages", params={"to": user})).json()


async def stats(emu) -> dict:
    return await (await emu.get("/_emulator/stats")).json()


async def test_reply_via_sdk_lands_in_ledger_and_token_is_single_use(emu, line_api):
    sent = await send(emu, user_id="U1", text="こんにちは")
    qr = QuickReply(items=[QuickReplyItem(action=MessageAction(label="FAQ", text="FAQ"))])
    request = ReplyMessageRequest(reply_token=sent["replyToken"], messages=[TextMessage(text="こんにちは！", quick_reply=qr)])

    response = await line_api.reply_message(request)

    assert len(response.sent_messages) == 1
    [delivery] = await ledger(emu, "U1")
    assert delivery["endpoint"] == "reply" and delivery["tenant"] == "demo"
    assert delivery["messages"][0]["text"] == "こんにちは！"
    assert delivery["messages"][0]["quickReply"]["items"][0]["action"]["label"] == "FAQ"
    with pytest.raises(ApiException) as second:
        await line_api.reply_message(request)
    assert second.value.status == 400
    assert '"Invalid reply token"' in second.value.body
    assert len(await ledger(emu, "U1")) == 1


async def test_reply_token_expires_after_configured_ttl(emu, line_api, clock, options):
    options.reply_token_ttl_seconds = 60
    fresh = await send(emu, user_id="U1", text="a")
    stale = await send(emu, user_id="U1", text="b")
    clock.advance(59)
    await line_api.reply_message(ReplyMessageRequest(reply_token=fresh["replyToken"], messages=[TextMessage(text="ok")]))
    clock.advance(2)  # 61 s after the event
    with pytest.raises(ApiException) as exc:
        await line_api.reply_message(ReplyMessageRequest(reply_token=stale["replyToken"], messages=[TextMessage(text="late")]))
    assert exc.value.status == 400 and "Invalid reply token" in exc.value.body
    assert [d["messages"][0]["text"] for d in await ledger(emu, "U1")] == ["ok"]


async def test_reply_token_of_another_channel_is_invalid(emu, emu_url):
    sent = await send(emu, tenant="suita", user_id="U1", text="a")
    resp = await emu.post(
        "/v2/bot/message/reply", json={"replyToken": sent["replyToken"], "messages": [text("x")]}, headers=TOKEN_HEADERS
    )
    assert resp.status == 400
    assert (await resp.json()) == {"message": "Invalid reply token"}


async def test_retry_key_second_push_is_409_and_delivered_once(emu, line_api):
    key = str(uuid.uuid4())
    request = PushMessageRequest(to="U9", messages=[TextMessage(text="避難所が開設されました")])

    first = await line_api.push_message_with_http_info(request, x_line_retry_key=key)
    with pytest.raises(ApiException) as second:
        await line_api.push_message(request, x_line_retry_key=key)

    assert second.value.status == 409
    assert second.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert "x-line-request-id" in second.value.headers
    assert len(await ledger(emu, "U9")) == 1
    assert (await stats(emu)) == {"deliveries": 1, "unique_recipients": 1, "duplicates": 0}


async def test_retry_after_injected_500_delivers_once(emu, line_api, options):
    """A 500 before delivery does not burn the retry key: the retry goes through and delivers exactly once."""
    key = str(uuid.uuid4())
    request = PushMessageRequest(to="U9", messages=[TextMessage(text="x")])
    options.fault_rate = 1.0
    with pytest.raises(ApiException) as failed:
        await line_api.push_message(request, x_line_retry_key=key)
    assert failed.value.status == 500
    options.fault_rate = 0.0
    await line_api.push_message(request, x_line_retry_key=key)
    assert len(await ledger(emu, "U9")) == 1


async def test_500_after_delivery_then_retry_is_409_not_a_duplicate(emu, line_api, options):
    key = str(uuid.uuid4())
    request = PushMessageRequest(to="U9", messages=[TextMessage(text="x")])
    options.fault_after_delivery_rate = 1.0
    with pytest.raises(ApiException) as failed:
        await line_api.push_message(request, x_line_retry_key=key)
    assert failed.value.status == 500
    options.fault_after_delivery_rate = 0.0
    with pytest.raises(ApiException) as retried:
        await line_api.push_message(request, x_line_retry_key=key)
    assert retried.value.status == 409
    assert (await stats(emu))["duplicates"] == 0


async def test_push_retried_without_key_counts_as_duplicate(emu, line_api):
    request = PushMessageRequest(to="U9", messages=[TextMessage(text="同じ内容")])
    await line_api.push_message(request)
    await line_api.push_message(request)
    assert (await stats(emu)) == {"deliveries": 2, "unique_recipients": 1, "duplicates": 1}


async def test_bad_retry_key_is_400(emu):
    resp = await emu.post(
        "/v2/bot/message/push",
        json={"to": "U1", "messages": [text("x")]},
        headers={**TOKEN_HEADERS, "X-Line-Retry-Key": "not-a-uuid"},
    )
    assert resp.status == 400


async def test_six_messages_is_400_with_line_error_shape(emu):
    # raw JSON: the SDK's own model already refuses 6 messages client-side, other clients may not
    resp = await emu.post(
        "/v2/bot/message/push", json={"to": "U1", "messages": [text(str(i)) for i in range(6)]}, headers=TOKEN_HEADERS
    )
    assert resp.status == 400
    assert (await resp.json()) == {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "Size must be between 1 and 5", "property": "messages"}],
    }
    assert await ledger(emu, "U1") == []


@pytest.mark.parametrize(
    ("body_text", "ok"),
    [
        ("あ" * 5000, True),
        ("あ" * 5001, False),
        ("😀" * 2500, True),  # 5,000 UTF-16 code units
        ("😀" * 2500 + "a", False),  # 2,501 characters but 5,001 code units
    ],
)
async def test_text_limit_counts_utf16_units(emu, line_api, body_text, ok):
    request = PushMessageRequest(to="U1", messages=[TextMessage(text=body_text)])
    if ok:
        await line_api.push_message(request)
        assert len(await ledger(emu, "U1")) == 1
    else:
        with pytest.raises(ApiException) as exc:
            await line_api.push_message(request)
        assert exc.value.status == 400
        assert "messages[0].text" in exc.value.body


async def test_fourteen_quick_replies_is_400(emu):
    items = [{"type": "action", "action": {"type": "message", "label": f"q{i}", "text": f"q{i}"}} for i in range(14)]
    resp = await emu.post(
        "/v2/bot/message/push",
        json={"to": "U1", "messages": [{"type": "text", "text": "x", "quickReply": {"items": items}}]},
        headers=TOKEN_HEADERS,
    )
    body = await resp.json()
    assert resp.status == 400
    assert body["details"][0]["property"] == "messages[0].quickReply.items"


async def test_quick_reply_label_over_20_is_400(emu):
    item = {"type": "action", "action": {"type": "message", "label": "あ" * 21, "text": "x"}}
    resp = await emu.post(
        "/v2/bot/message/push",
        json={"to": "U1", "messages": [{"type": "text", "text": "x", "quickReply": {"items": [item]}}]},
        headers=TOKEN_HEADERS,
    )
    assert resp.status == 400
    assert (await resp.json())["details"][0]["property"] == "messages[0].quickReply.items[0].action.label"


async def test_sdk_model_rejects_unknown_message_type_and_missing_fields(emu):
    for message, prop in (({"type": "bogus"}, "messages[0].type"), ({"type": "flex", "altText": "a"}, "messages[0].contents")):
        resp = await emu.post("/v2/bot/message/push", json={"to": "U1", "messages": [message]}, headers=TOKEN_HEADERS)
        body = await resp.json()
        assert resp.status == 400, body
        assert body["message"].startswith("The request body has")
        assert body["details"][0]["property"] == prop


async def test_malformed_json_is_400(emu):
    resp = await emu.post("/v2/bot/message/push", data=b"{not json", headers={**TOKEN_HEADERS, "Content-Type": "application/json"})
    assert resp.status == 400
    assert "could not be parsed as JSON" in (await resp.json())["message"]


async def test_multicast_limits_and_delivery(emu, line_api):
    resp = await emu.post(
        "/v2/bot/message/multicast", json={"to": [f"U{i}" for i in range(501)], "messages": [text("x")]}, headers=TOKEN_HEADERS
    )
    assert resp.status == 400
    assert (await resp.json())["details"][0]["property"] == "to"

    await line_api.multicast(MulticastRequest(to=[f"U{i}" for i in range(500)], messages=[TextMessage(text="x")]))
    assert (await stats(emu))["deliveries"] == 500
    assert (await stats(emu))["unique_recipients"] == 500


async def test_broadcast_reaches_followers_not_blockers(emu, line_api):
    for user in ("U1", "U2", "U3"):
        await send(emu, user_id=user, type="follow")
    assert (await emu.post("/_emulator/block", json={"tenant": "demo", "user_id": "U2"})).status == 200
    await send(emu, tenant="suita", user_id="U4", type="follow")  # another channel's follower

    await line_api.broadcast(BroadcastRequest(messages=[TextMessage(text="お知らせ")]))

    got = await (await emu.get("/_emulator/messages", params={"tenant": "demo"})).json()
    assert sorted(d["to"] for d in got) == ["U1", "U3"]


async def test_narrowcast_is_202_and_progress_reports_success(emu):
    await send(emu, user_id="U1", type="follow")
    resp = await emu.post("/v2/bot/message/narrowcast", json={"messages": [text("x")]}, headers=TOKEN_HEADERS)
    assert resp.status == 202
    request_id = resp.headers["x-line-request-id"]
    progress = await emu.get("/v2/bot/message/progress/narrowcast", params={"requestId": request_id}, headers=TOKEN_HEADERS)
    body = await progress.json()
    assert body["phase"] == "succeeded" and body["successCount"] == 1


async def test_push_to_blocked_user_is_accepted_but_not_delivered(emu, line_api, fake_bot):
    await send(emu, user_id="U1", type="follow")
    await emu.post("/_emulator/block", json={"tenant": "demo", "user_id": "U1"})

    await line_api.push_message(PushMessageRequest(to="U1", messages=[TextMessage(text="x")]))

    assert await ledger(emu, "U1") == []
    assert fake_bot.received[-1]["body"]["events"][0]["type"] == "unfollow"


async def test_blocked_push_status_can_be_made_an_error(emu, options):
    options.blocked_push_status = 400
    await emu.post("/_emulator/block", json={"tenant": "demo", "user_id": "U1"})
    resp = await emu.post("/v2/bot/message/push", json={"to": "U1", "messages": [text("x")]}, headers=TOKEN_HEADERS)
    assert resp.status == 400
    assert (await resp.json())["message"] == "Failed to send messages"


async def test_rate_limit_answers_429_until_the_bucket_refills(emu, line_api, clock):
    resp = await emu.post("/_emulator/config", json={"rate_limits": {"push": 2}})
    assert resp.status == 200
    request = PushMessageRequest(to="U1", messages=[TextMessage(text="x")])
    await line_api.push_message(request)
    await line_api.push_message(request)
    with pytest.raises(ApiException) as exc:
        await line_api.push_message(request)
    assert exc.value.status == 429 and "Too many requests" in exc.value.body
    clock.advance(1.0)
    await line_api.push_message(request)
    assert len(await ledger(emu, "U1")) == 3


async def test_rate_limit_is_per_endpoint(emu, line_api):
    await emu.post("/_emulator/config", json={"rate_limits": {"push": 1}})
    await line_api.push_message(PushMessageRequest(to="U1", messages=[TextMessage(text="x")]))
    await line_api.multicast(MulticastRequest(to=["U1"], messages=[TextMessage(text="y")]))  # not limited


async def test_monthly_quota_counts_recipients_and_answers_429(emu, line_api):
    await emu.post("/_emulator/config", json={"monthly_quota": 3})
    await line_api.multicast(MulticastRequest(to=["U1", "U2"], messages=[TextMessage(text="a"), TextMessage(text="b")]))
    with pytest.raises(ApiException) as exc:
        await line_api.multicast(MulticastRequest(to=["U3", "U4"], messages=[TextMessage(text="c")]))
    assert exc.value.status == 429 and "You have reached your monthly limit." in exc.value.body
    await line_api.push_message(PushMessageRequest(to="U3", messages=[TextMessage(text="d")]))
    quota = await line_api.get_message_quota()
    usage = await line_api.get_message_quota_consumption()
    assert (quota.type, quota.value, usage.total_usage) == ("limited", 3, 3)


async def test_reply_is_free_of_quota(emu, line_api):
    await emu.post("/_emulator/config", json={"monthly_quota": 0})
    sent = await send(emu, user_id="U1", text="a")
    await line_api.reply_message(ReplyMessageRequest(reply_token=sent["replyToken"], messages=[TextMessage(text="ok")]))
    assert len(await ledger(emu, "U1")) == 1


async def test_fault_injection_is_seeded_and_reproducible(emu, options):
    async def pattern() -> list[int]:
        await emu.post("/_emulator/config", json={"fault_rate": 0.5, "seed": 42})
        out = []
        for _ in range(20):
            resp = await emu.get("/v2/bot/message/quota", headers=TOKEN_HEADERS)
            out.append(resp.status)
        return out

    first, second = await pattern(), await pattern()
    assert first == second
    assert set(first) == {200, 500}


async def test_slow_responses_are_injected(emu, options, monkeypatch):
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("emulator.api.asyncio.sleep", fake_sleep)
    await emu.post("/_emulator/config", json={"slow_rate": 1.0, "slow_ms": 250})
    resp = await emu.get("/v2/bot/message/quota", headers=TOKEN_HEADERS)
    assert resp.status == 200
    assert slept == [0.25]


async def test_auth_missing_or_unknown_token_is_401(emu):
    missing = await emu.post("/v2/bot/message/push", json={"to": "U1", "messages": [text("x")]})
    wrong = await emu.post(
        "/v2/bot/message/push", json={"to": "U1", "messages": [text("x")]}, headers={"Authorization": "Bearer nope"}
    )
    assert (missing.status, wrong.status) == (401, 401)
    assert "Authorization header required" in (await missing.json())["message"]
    assert "x-line-request-id" in wrong.headers


async def test_token_picks_the_tenant(emu, emu_url):
    resp = await emu.post(
        "/v2/bot/message/push", json={"to": "U1", "messages": [text("x")]}, headers={"Authorization": "Bearer suita-token"}
    )
    assert resp.status == 200
    [delivery] = await ledger(emu, "U1")
    assert delivery["tenant"] == "suita"


async def test_invalid_config_is_refused(emu):
    for bad in ({"nope": 1}, {"fault_rate": 2}, {"rate_limits": {"unknown": 1}}):
        assert (await emu.post("/_emulator/config", json=bad)).status == 400


async def test_profile_content_loading_and_mark_as_read(emu, line_api, line_blob):
    sent = await send(emu, user_id="Uabc1234", type="image", data_base64="aGVsbG8=", content_type="image/jpeg",
                      display_name="大阪 太郎")
    profile = await line_api.get_profile("Uabc1234")
    assert profile.display_name == "大阪 太郎"

    event_id = sent["webhookEventId"]
    assert event_id
    message_id = None
    async with emu.get("/_emulator/conversation", params={"tenant": "demo", "user": "Uabc1234"}) as resp:
        message_id = (await resp.json())[0]["event"]["message"]["id"]
    assert await line_blob.get_message_content(message_id) == b"hello"

    ws = await emu.ws_connect("/_emulator/ws", params={"tenant": "demo", "user": "Uabc1234"})
    await line_api.show_loading_animation(ShowLoadingAnimationRequest(chat_id="Uabc1234", loading_seconds=10))
    assert (await ws.receive_json(timeout=5)) == {"kind": "loading", "seconds": 10}
    resp = await emu.post("/v2/bot/message/markAsRead", json={"chat": {"userId": "Uabc1234"}}, headers=TOKEN_HEADERS)
    assert resp.status == 200
    assert (await ws.receive_json(timeout=5)) == {"kind": "read"}
    await ws.close()


async def test_loading_seconds_must_be_multiple_of_five(emu):
    resp = await emu.post("/v2/bot/chat/loading/start", json={"chatId": "U1", "loadingSeconds": 7}, headers=TOKEN_HEADERS)
    assert resp.status == 400


async def test_reset_clears_ledger(emu, line_api):
    await line_api.push_message(PushMessageRequest(to="U1", messages=[TextMessage(text="x")]))
    await emu.post("/_emulator/reset")
    assert (await stats(emu)) == {"deliveries": 0, "unique_recipients": 0, "duplicates": 0}


def test_tenants_fixture_has_distinct_tokens():
    assert len({t.channel_token.get_secret_value() for t in TENANTS.values()}) == len(TENANTS)


async def test_concurrent_pushes_with_one_retry_key_deliver_once(emu, options, monkeypatch):
    """Retries racing each other (slow responses make them overlap) still deliver exactly once."""
    import asyncio

    options.slow_rate, options.slow_ms = 1.0, 20
    key = str(uuid.uuid4())

    async def push() -> int:
        resp = await emu.post(
            "/v2/bot/message/push",
            json={"to": "U1", "messages": [text("race")]},
            headers={**TOKEN_HEADERS, "X-Line-Retry-Key": key},
        )
        return resp.status

    statuses = await asyncio.gather(*(push() for _ in range(10)))
    assert sorted(statuses) == [200] + [409] * 9
    assert len(await ledger(emu, "U1")) == 1


async def test_unknown_api_paths_answer_line_shaped_404(emu):
    resp = await emu.get("/v2/bot/no/such/thing", headers=TOKEN_HEADERS)
    assert resp.status == 404
    assert (await resp.json()) == {"message": "Not found"}
    assert "x-line-request-id" in resp.headers
    wrong_method = await emu.get("/v2/bot/message/push", headers=TOKEN_HEADERS)
    assert wrong_method.status == 405 and "message" in await wrong_method.json()


async def test_unfollow_event_issues_no_reply_token(emu):
    result = await send(emu, user_id="U1", type="unfollow")
    assert result["replyToken"] is None
