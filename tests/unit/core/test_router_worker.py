"""Router and worker behaviour with fakes: follow/unfollow, reply-token expiry, retry keys, loading animation."""

from __future__ import annotations

import asyncio
import time

from redis.exceptions import ConnectionError as RedisConnectionError

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


class _Outage:
    """Redis as a failover shows it to the worker: every call refused while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.refused = 0

    def check(self) -> None:
        if self.down:
            self.refused += 1
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:7001. Connection refused.")


class _FlakyLeases(MemoryLeases):
    def __init__(self, outage: _Outage) -> None:
        super().__init__()
        self.outage = outage

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        self.outage.check()
        return await super().acquire(name, owner, ttl_ms)

    async def heartbeat(self, owner: str, ttl_ms: int) -> int:
        self.outage.check()
        return await super().heartbeat(owner, ttl_ms)


class _FlakyInbox(MemoryInbox):
    def __init__(self, outage: _Outage, shards: int, failing_acks: int = 0) -> None:
        super().__init__(shards)
        self.outage = outage
        self.failing_acks = failing_acks

    async def read(self, shard: int, count: int = 16, block_ms: int = 1000):
        self.outage.check()
        return await super().read(shard, count, block_ms)

    async def ack(self, entry) -> None:
        self.outage.check()
        if self.failing_acks:  # the ack's connection dies after the reply went out
            self.failing_acks -= 1
            raise RedisConnectionError("Connection reset by peer")
        await super().ack(entry)


async def _until(check, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_worker_rides_out_a_redis_outage_and_answers_each_event_once():
    """A failover used to kill the worker (an unhandled ConnectionError in the lease loop set the process's stop
    event), so the fan-out and the chat stopped for good; now it pauses, and every event is answered exactly once."""
    outage = _Outage()
    users = MemoryUserStore()
    d = WorkerDeps({"demo": T}, _FlakyInbox(outage, 4), _FlakyLeases(outage), Dispatcher(users, Rooms()), RecordingLineGateway(), 0.05)
    residents = ["U" + c * 32 for c in "def"]
    await d.inbox.enqueue("demo", [text_event(u, "before") for u in residents])
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(d, stop, owner="w1"))
    await _until(lambda: len(d.line.sent("reply")) == 3)
    outage.down = True
    await d.inbox.enqueue("demo", [text_event(u, "during") for u in residents])  # the web side still has a replica
    await asyncio.sleep(2.5)  # longer than a lease-loop pause and a shard pause: both loops hit the outage
    assert outage.refused >= 2 and not task.done() and not stop.is_set()
    outage.down = False
    await _until(lambda: len(d.line.sent("reply")) == 6)
    await asyncio.sleep(0.3)
    stop.set()
    await task
    assert len(d.line.sent("reply")) == 6
    assert await d.inbox.depth() == 0 and not d.inbox.dead


async def test_lost_ack_connection_is_retried_not_answered_twice():
    d = WorkerDeps({"demo": T}, _FlakyInbox(_Outage(), 4, failing_acks=2), MemoryLeases(), Dispatcher(MemoryUserStore(), Rooms()),
                   RecordingLineGateway(), 0.05)
    await d.inbox.enqueue("demo", [text_event("U" + "a" * 32, "こんにちは")])
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(d, stop, owner="w1"))
    await _until(lambda: d.inbox.failing_acks == 0)
    await asyncio.sleep(1.5)  # a re-read of the still-pending event would answer it again now
    stop.set()
    await task
    assert len(d.line.sent("reply")) + len(d.line.sent("push")) == 1
    assert await d.inbox.depth() == 0


async def test_redis_error_inside_a_handler_is_not_counted_towards_the_dead_letter():
    class FailingOver:
        calls = 0

        async def parse(self, text):
            FailingOver.calls += 1
            if FailingOver.calls <= 3:  # three attempts dead-letter an event that fails for its own reasons
                raise RedisConnectionError("Connection refused")
            return None

    d = deps(rooms=Rooms(nlu=FailingOver()))
    await d.inbox.enqueue("demo", [text_event("U" + "9" * 32, "台風の時はどうすれば")])
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(d, stop, owner="w1"))
    await _until(lambda: len(d.line.sent("reply")) == 1)
    stop.set()
    await task
    assert FailingOver.calls == 4 and not d.inbox.dead
