"""Router and worker behaviour with fakes: follow/unfollow, reply-token expiry, retry keys, loading animation."""

from __future__ import annotations

import asyncio
import time

from bot.inbox import MemoryInbox
from bot.leases import MemoryLeases
from bot.line import LineApiError, RecordingLineGateway
from bot.router import Dispatcher, Rooms
from bot.users import MemoryUserStore
from bot.worker import Responder, WorkerDeps, handle_entry, retry_key_for, run_worker, to_incoming
from tests.helpers import follow_event, tenant, text_event, unfollow_event

T = tenant()


def deps(line=None, rooms=None, users=None):
    users = users or MemoryUserStore()
    return WorkerDeps({"demo": T}, MemoryInbox(4), MemoryLeases(), Dispatcher(users, rooms or Rooms()), line or RecordingLineGateway(), 0.05)


async def process(d, event):
    await d.inbox.enqueue("demo", [event])
    for shard in range(4):
        for entry in await d.inbox.read(shard, block_ms=1):
            await handle_entry(d, Responder(d.line), entry)
            await d.inbox.ack(entry)


async def test_follow_gets_welcome_with_privacy_notice_and_quick_replies():
    d = deps()
    await process(d, follow_event())
    (call,) = d.line.sent("reply")
    msg = call["messages"][0]
    assert "個人情報" in msg["text"] and "デモ市" in msg["text"]
    labels = [i["action"]["label"] for i in msg["quickReply"]["items"]]
    assert any("質問" in label for label in labels) and any("相談" in label for label in labels) and any("通知" in label for label in labels)


async def test_unfollow_marks_inactive_and_sends_nothing():
    users = MemoryUserStore()
    d = deps(users=users)
    await process(d, follow_event("U9"))
    await process(d, unfollow_event("U9"))
    assert not await users.is_active("demo", "U9")
    assert len(d.line.calls) == 1  # only the welcome


async def test_text_without_rooms_gets_honest_answer_with_quick_replies():
    d = deps()
    await process(d, text_event(text="粗大ごみの出し方"))
    (call,) = d.line.sent("reply")
    assert "まだお答えできません" in call["messages"][0]["text"]
    assert call["messages"][0]["quickReply"]["items"]


async def test_expired_reply_token_falls_back_to_push_with_stable_retry_key():
    d = deps()
    old = text_event(ts_ms=int((time.time() - 120) * 1000))
    await process(d, old)
    assert d.line.sent("reply") == []
    (push,) = d.line.sent("push")
    incoming = to_incoming(T, old)
    assert push["retry_key"] == retry_key_for(incoming)
    assert retry_key_for(incoming) == retry_key_for(to_incoming(T, old))  # same event → same key


async def test_push_409_means_already_delivered():
    line = RecordingLineGateway(fail={"push": [LineApiError(409, "conflict")]})
    r = Responder(line)
    incoming = to_incoming(T, text_event(ts_ms=int((time.time() - 120) * 1000)))
    assert await r.send(incoming, [{"type": "text", "text": "x"}]) == "push"


async def test_stale_but_not_expired_token_refused_falls_back_to_push():
    line = RecordingLineGateway(fail={"reply": [LineApiError(400, "Invalid reply token")]})
    r = Responder(line)
    incoming = to_incoming(T, text_event(ts_ms=int((time.time() - 30) * 1000)))
    assert await r.send(incoming, [{"type": "text", "text": "x"}]) == "push"
    assert len(line.sent("push")) == 1


async def test_more_than_five_messages_are_split_reply_then_push():
    line = RecordingLineGateway()
    r = Responder(line)
    incoming = to_incoming(T, text_event())
    await r.send(incoming, [{"type": "text", "text": str(i)} for i in range(7)])
    assert len(line.sent("reply")[0]["messages"]) == 5
    assert len(line.sent("push")[0]["messages"]) == 2


async def test_loading_animation_when_work_is_slow():
    class SlowNlu:
        async def parse(self, text):
            await asyncio.sleep(0.2)
            return None

    d = deps(rooms=Rooms(nlu=SlowNlu()))
    await process(d, text_event())
    assert d.line.sent("show_loading")
    assert d.line.sent("reply")


async def test_no_loading_animation_when_fast():
    d = deps()
    await process(d, text_event())
    assert not d.line.sent("show_loading")


async def test_worker_processes_queue_in_order_and_stops():
    d = deps()
    user = "U" + "b" * 32
    await d.inbox.enqueue("demo", [text_event(user, f"m{i}") for i in range(5)])
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(d, stop, owner="w1"))
    for _ in range(100):
        if len(d.line.sent("reply")) == 5:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    assert len(d.line.sent("reply")) == 5
    assert await d.inbox.depth() == 0


async def test_handler_error_retries_then_dead_letters_without_blocking_others():
    class Boom:
        async def parse(self, text):
            if text == "bad":
                raise RuntimeError("nlu exploded")
            return None

    d = deps(rooms=Rooms(nlu=Boom()))
    user = "U" + "c" * 32
    await d.inbox.enqueue("demo", [text_event(user, "bad"), text_event(user, "good")])
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(d, stop, owner="w1"))
    for _ in range(200):
        if d.line.sent("reply"):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    assert len(d.line.sent("reply")) == 1
    assert len(d.inbox.dead) == 1


async def test_held_conversation_bot_is_silent_and_shows_no_typing():
    class HeldRoom:
        def __init__(self):
            self.forwarded = []

        async def is_held(self, tenant, user):
            return True

        async def on_resident_message(self, incoming, assessment):
            await asyncio.sleep(0.1)  # slower than the loading threshold
            self.forwarded.append((incoming.text, assessment))
            return None

    room = HeldRoom()
    d = deps(rooms=Rooms(handoff=room))
    await process(d, text_event(text="まだ待っています"))
    assert room.forwarded == [("まだ待っています", None)]
    assert d.line.calls == []  # no reply, no push, no loading animation


async def test_worker_counts_processed_events_in_metrics():
    from kpi.metrics import create_metrics

    d = deps()
    d.metrics = create_metrics("worker")
    await d.inbox.enqueue("demo", [text_event(), follow_event("U" + "d" * 32)])
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(d, stop, owner="w1"))
    for _ in range(100):
        if len(d.line.sent("reply")) == 2:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    text = d.metrics.render().decode() if hasattr(d.metrics, "render") else ""
    from prometheus_client import generate_latest

    text = text or generate_latest(d.metrics.registry).decode()
    assert 'kind="message",outcome="ok"' in text and 'kind="follow",outcome="ok"' in text


async def test_metered_nlu_records_latency_by_backend_and_fallbacks():
    from prometheus_client import generate_latest

    from bot.router import MeteredNlu
    from kpi.metrics import create_metrics

    class Fallback:
        async def parse(self, text):
            from nlu.port import Parse

            return Parse("greet", 0.9, [], "fallback")

    metrics = create_metrics("worker")
    parse = await MeteredNlu(Fallback(), metrics).parse("こんにちは")
    assert parse.intent == "greet"
    text = generate_latest(metrics.registry).decode()
    assert 'backend="fallback"' in text and 'reason="rasa_unavailable"' in text
