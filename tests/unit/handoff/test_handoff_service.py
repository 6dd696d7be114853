"""Handoff service: what residents are told, the bot staying silent, replies via LINE, closing — on fakes."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

import handoff
from bot.chat import Incoming
from bot.config import OfficeHours, Tenant
from handoff import (
    HandoffDeps,
    HandoffError,
    HandoffForbidden,
    HandoffPolicy,
    LinePushError,
    MemoryHandoffBus,
    MemoryHandoffStore,
    RecordingLinePort,
)
from tests.helpers import ManualClock

JST = ZoneInfo("Asia/Tokyo")
OH = OfficeHours(weekly={d: "09:00-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}, cutoff_minutes=30)
TENANT = Tenant(id="demo", display_name="デモ市", lg_code="271004", office_hours=OH)


def at(hh: int, mm: int = 0, day: int = 25) -> dt.datetime:
    return dt.datetime(2026, 11, day, hh, mm, tzinfo=JST)  # 2026-11-25 is a Wednesday


@pytest.fixture
def clock():
    return ManualClock(at(10).timestamp())


@pytest.fixture
def deps(clock):
    return HandoffDeps(store=MemoryHandoffStore(), bus=MemoryHandoffBus(), line=RecordingLinePort(), clock=clock)


def incoming(user: str, text: str | None = "こんにちは", kind: str = "text", **kw) -> Incoming:
    return Incoming(tenant=TENANT, user_id=user, kind=kind, webhook_event_id="e", timestamp_ms=0, text=text, **kw)


def body(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)


async def test_request_in_hours_tells_position_and_hours(deps, clock):
    await deps.store.set_presence("demo", "alice", clock.now + 60)  # one counsellor has the console open, free
    first = await handoff.request_handoff(deps, TENANT, "U1", summary="家族のこと")
    second = await handoff.request_handoff(deps, TENANT, "U2")
    assert (first.created, first.position, first.accepting) == (True, 1, True)
    assert "1番目" in body(first.messages) and "月〜金 09:00〜17:30" in body(first.messages)
    assert "0120-279-338" not in body(first.messages)  # someone is free: no need to point elsewhere yet
    assert second.position == 2 and "0120-279-338" in body(second.messages)  # more waiting than free: give the 24h lines
    assert "全員ほかの相談に対応" in body(second.messages)
    assert first.messages[0]["quickReply"]["items"][0]["action"]["data"] == "room=handoff&action=cancel"


async def test_nobody_at_the_console_means_hotlines(deps, clock):
    answer = await handoff.request_handoff(deps, TENANT, "U1")
    assert answer.position == 1 and "0120-279-338" in body(answer.messages)
    assert "すぐにお返事できる相談員がいません" in body(answer.messages)
    assert "全員ほかの相談に対応" not in body(answer.messages)  # nobody is on duty: do not claim they are all busy
    # the hotlines come last, and LINE shows only the last message's quick replies: 「相談をやめる」 goes there
    assert ["quickReply" in m for m in answer.messages] == [False, True]
    assert answer.messages[-1]["quickReply"]["items"][0]["action"]["data"] == "room=handoff&action=cancel"
    await deps.store.set_presence("demo", "alice", clock.now + 60)
    cid = answer.conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    assert "0120-279-338" in body((await handoff.request_handoff(deps, TENANT, "U2")).messages)  # alice is busy


async def test_crisis_goes_first_and_gets_hotlines(deps):
    await handoff.request_handoff(deps, TENANT, "U1")
    crisis = await handoff.request_handoff(deps, TENANT, "U2", risk="crisis", category="suicide", reason="crisis")
    assert crisis.position == 1
    text = body(crisis.messages)
    assert "すぐに相談員" in text and "110" in text and "119" in text


async def test_outside_hours_stays_queued_and_says_when(deps, clock):
    clock.now = at(20).timestamp()
    answer = await handoff.request_handoff(deps, TENANT, "U1")
    text = body(answer.messages)
    assert not answer.accepting and answer.next_open == at(9, day=26)
    assert "受付時間外" in text and "明日 09:00" in text and "0120-279-338" in text
    assert [c.user_id for c in await deps.store.queue("demo")] == ["U1"]


async def test_after_cutoff_no_new_consultations_today(deps, clock):
    clock.now = at(17, 10).timestamp()
    text = body((await handoff.request_handoff(deps, TENANT, "U1")).messages)
    assert "本日の新しいご相談の受付は終了しました" in text and "明日 09:00" in text


async def test_repeated_request_does_not_duplicate_but_raises_risk(deps):
    await handoff.request_handoff(deps, TENANT, "U0")
    a = await handoff.request_handoff(deps, TENANT, "U1")
    b = await handoff.request_handoff(deps, TENANT, "U1", risk="crisis", summary="危険")
    assert not b.created and b.conversation_id == a.conversation_id and b.position == 1
    assert len(await deps.store.queue("demo")) == 2


async def test_crisis_text_only_when_tenant_allows(deps):
    await handoff.request_handoff(deps, TENANT, "U1", risk="crisis", summary="自殺念慮の可能性", resident_text="しにたい")
    assert (await deps.store.open_for_user("demo", "U1")).crisis_text == ""
    deps.policies = {"demo": HandoffPolicy(include_crisis_text=True)}
    await handoff.request_handoff(deps, TENANT, "U2", risk="crisis", resident_text="しにたい")
    assert (await deps.store.open_for_user("demo", "U2")).crisis_text == "しにたい"


async def test_bot_is_silent_while_held_and_messages_reach_the_console(deps):
    assert not await handoff.is_held(deps, "demo", "U1")
    answer = await handoff.request_handoff(deps, TENANT, "U1")
    assert await handoff.is_held(deps, "demo", "U1")
    await handoff.take_over(deps, "demo", answer.conversation_id, "alice")
    async with deps.bus.subscribe("demo") as events:
        out = await handoff.on_resident_message(
            deps, TENANT, "U1", incoming("U1", "聞いてください", message_id="m1", raw={"message": {"markAsReadToken": "tok1"}})
        )
        event = await asyncio.wait_for(anext(events), 1)
    assert out == []
    assert event["type"] == "message" and event["message"]["text"] == "聞いてください" and event["cid"] == answer.conversation_id
    conv = await deps.store.get("demo", answer.conversation_id)
    assert (conv.unread, conv.read_token) == (1, "tok1")
    assert [m.text for m in await deps.store.transcript("demo", conv.id)][-1] == "聞いてください"


async def test_waiting_resident_gets_a_notice_at_most_every_ten_minutes(deps, clock):
    await handoff.request_handoff(deps, TENANT, "U1")
    assert await handoff.on_resident_message(deps, TENANT, "U1", incoming("U1")) == []
    clock.now += 11 * 60
    assert "もう少しお待ちください" in body(await handoff.on_resident_message(deps, TENANT, "U1", incoming("U1")))
    assert await handoff.on_resident_message(deps, TENANT, "U1", incoming("U1")) == []


async def test_resident_can_cancel_while_queued(deps):
    await handoff.request_handoff(deps, TENANT, "U1")
    out = await handoff.on_resident_message(deps, TENANT, "U1", incoming("U1", None, "postback", postback={"room": "handoff", "action": "cancel"}))
    assert "取り消しました" in body(out) and not await handoff.is_held(deps, "demo", "U1")


async def test_take_over_tells_the_resident_and_is_exclusive(deps):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    results = await asyncio.gather(*(handoff.take_over(deps, "demo", cid, n) for n in ("alice", "bob")), return_exceptions=True)
    assert sum(isinstance(r, HandoffError) for r in results) == 1
    assert deps.line.texts_to("U1") == ["相談員につながりました。ここからは相談員がお返事します。"]


async def test_reply_goes_out_with_a_stable_retry_key(deps):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    with pytest.raises(HandoffForbidden):
        await handoff.send_message(deps, "demo", cid, "bob", "こんにちは", "c1")
    deps.line.fail_next(LinePushError("503"))
    with pytest.raises(LinePushError):
        await handoff.send_message(deps, "demo", cid, "alice", "お話を聞かせてください", "c1")
    assert [m.sender for m in await deps.store.transcript("demo", cid)].count("counsellor") == 0  # nothing claimed as sent
    msg = await handoff.send_message(deps, "demo", cid, "alice", "お話を聞かせてください", "c1")
    again = await handoff.send_message(deps, "demo", cid, "alice", "お話を聞かせてください", "c1")  # double submit
    assert again.id == msg.id
    pushes = [c for c in deps.line.pushes if c.messages[0]["text"] == "お話を聞かせてください"]
    assert len(pushes) == 1 and pushes[0].retry_key == handoff.service.retry_key("demo", cid, "c-c1")
    assert [m.text for m in await deps.store.transcript("demo", cid) if m.sender == "counsellor"] == ["お話を聞かせてください"]


async def test_mark_read_only_by_the_holder_with_unread_messages(deps):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    assert not await handoff.mark_read(deps, "demo", cid, "alice")  # nothing unread yet
    await handoff.on_resident_message(deps, TENANT, "U1", incoming("U1", raw={"message": {"markAsReadToken": "t9"}}))
    assert not await handoff.mark_read(deps, "demo", cid, "sam")  # a supervisor watching does not mark it read
    assert await handoff.mark_read(deps, "demo", cid, "alice")
    reads = [c for c in deps.line.calls if c.op == "mark_as_read"]
    assert [c.user_id for c in reads] == ["U1"]


async def test_typing_shows_loading_but_not_on_every_keystroke(deps, clock):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    assert await handoff.typing(deps, "demo", cid, "alice")
    assert not await handoff.typing(deps, "demo", cid, "alice")
    clock.now += 16
    assert await handoff.typing(deps, "demo", cid, "alice")
    assert deps.line.ops().count("show_loading") == 2


async def test_emergency_alerts_supervisors_and_gives_checklist(deps):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    async with deps.bus.subscribe("demo") as events:
        checklist = await handoff.set_emergency(deps, TENANT, cid, "alice")
        seen = [await asyncio.wait_for(anext(events), 1) for _ in range(2)]
    assert {"type": "emergency", "cid": cid, "by": "alice"} in seen
    contacts = [r.contact for r in checklist]
    assert "110" in contacts and "119" in contacts and "189" in contacts and any("271004" in c for c in contacts)
    conv = await deps.store.get("demo", cid)
    assert conv.emergency and conv.risk == "crisis"


async def test_transfer_join_and_close(deps):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    await handoff.transfer(deps, "demo", cid, "alice", "bob")
    with pytest.raises(HandoffForbidden):
        await handoff.send_message(deps, "demo", cid, "alice", "まだいます", "x")
    await handoff.join(deps, "demo", cid, "sam")
    await handoff.send_message(deps, "demo", cid, "sam", "スーパーバイザーです", "y")
    with pytest.raises(HandoffError):
        await handoff.close(deps, "demo", cid, "bob", "counsellor", labels=["unknown"], category="解決")
    await handoff.close(deps, "demo", cid, "bob", "counsellor", labels=["DV"], category="他機関へ紹介", message="ありがとうございました。")
    conv = await deps.store.get("demo", cid)
    assert (conv.status, conv.labels, conv.closing_category) == ("closed", ["DV"], "他機関へ紹介")
    assert deps.line.texts_to("U1")[-1] == "ありがとうございました。"
    assert not await handoff.is_held(deps, "demo", "U1")


async def test_hand_back_releases_to_the_bot(deps):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    with pytest.raises(HandoffForbidden):
        await handoff.hand_back(deps, "demo", cid, "bob", "counsellor")
    await handoff.hand_back(deps, "demo", cid, "alice", "counsellor")
    assert not await handoff.is_held(deps, "demo", "U1")
    assert "自動応答に戻ります" in deps.line.texts_to("U1")[-1]
    assert (await deps.store.get("demo", cid)).status == "handed_back"


async def test_closing_survives_a_line_failure(deps):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    deps.line.fail_next()
    await handoff.close(deps, "demo", cid, "alice", "counsellor", labels=[], category="解決")
    assert not await handoff.is_held(deps, "demo", "U1")
    assert "送れませんでした" in (await deps.store.transcript("demo", cid))[-1].text


async def test_inactive_conversations_time_out(deps, clock):
    idle = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    busy = (await handoff.request_handoff(deps, TENANT, "U2")).conversation_id
    await handoff.take_over(deps, "demo", idle, "alice")
    await handoff.take_over(deps, "demo", busy, "bob")
    clock.now += 29 * 60
    await handoff.on_resident_message(deps, TENANT, "U2", incoming("U2"))
    clock.now += 2 * 60
    assert await handoff.expire_inactive(deps, "demo") == [idle]
    assert not await handoff.is_held(deps, "demo", "U1") and await handoff.is_held(deps, "demo", "U2")
    assert "しばらくやりとりがなかった" in deps.line.texts_to("U1")[-1]


async def test_retention_purge(deps, clock):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    await handoff.close(deps, "demo", cid, "alice", "counsellor", labels=[], category="解決")
    deps.policies = {"demo": HandoffPolicy(retention_days=30)}
    clock.now += 29 * 86400
    assert await handoff.purge_expired(deps, "demo") == 0
    clock.now += 2 * 86400
    assert await handoff.purge_expired(deps, "demo") == 1
    assert await deps.store.get("demo", cid) is None


async def test_handle_if_held_is_the_router_gate(deps):
    assert await handoff.handle_if_held(deps, incoming("U1")) is None  # not held: the bot answers
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    assert await handoff.handle_if_held(deps, incoming("U1", "まだいますか")) == []  # held: the bot says nothing
    await handoff.hand_back(deps, "demo", cid, "alice", "counsellor")
    assert await handoff.handle_if_held(deps, incoming("U1")) is None


class _ApiError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"LINE {status}")
        self.status = status


async def test_gateway_errors_409_is_delivered_others_fail(deps):
    cid = (await handoff.request_handoff(deps, TENANT, "U1")).conversation_id
    await handoff.take_over(deps, "demo", cid, "alice")
    deps.line.fail_next(_ApiError(409))  # LINE saw this retry key before: it was delivered
    assert (await handoff.send_message(deps, "demo", cid, "alice", "届いていますか", "k1")).sender == "counsellor"
    deps.line.fail_next(_ApiError(500))
    with pytest.raises(LinePushError):
        await handoff.send_message(deps, "demo", cid, "alice", "もう一度", "k2")


# ---- statistics (kpi) -----------------------------------------------------------------------------------------


@pytest.fixture
def kpi(clock):
    from kpi.recorder import MemoryKpiRecorder

    return MemoryKpiRecorder(clock=clock)


async def test_consultations_are_counted_once_with_category_hours_and_wait(deps, clock, kpi):
    from kpi import recorder as R

    deps.kpi = kpi
    crisis = await handoff.request_handoff(deps, TENANT, "U1", risk="crisis", category="自殺念慮", reason="crisis")
    await handoff.request_handoff(deps, TENANT, "U1", risk="crisis", reason="crisis")  # the same open consultation
    clock.now += 150
    await handoff.take_over(deps, "demo", crisis.conversation_id, "alice")
    clock.now = at(20).timestamp()
    await handoff.request_handoff(deps, TENANT, "U2", stat_category="dv", reason="intent")  # after hours
    await handoff.request_handoff(deps, TENANT, "U3", stat_category="自由記述", reason="request")  # not an id: general
    (day,) = await kpi.days("demo", [at(10).date()])
    assert day.get(R.CONSULT_OPENED) == 3 and day.get(R.CONSULT_OUTSIDE) == 2
    assert day.breakdown(R.CONSULT_OPENED) == {"crisis": 1, "dv": 1, "general": 1}
    assert day.get(R.CONSULT_TAKEN) == 1 and day.breakdown(R.CONSULT_TAKEN) == {"crisis": 1}
    hist = day.histogram(R.WAIT)
    assert sum(hist) == 1 and hist[R.bucket_index(150)] == 1


async def test_a_statistics_outage_never_blocks_a_consultation(deps):
    class Broken:
        async def consultation_opened(self, *args):
            raise ConnectionError("kpi down")

        consultation_taken = consultation_opened

    deps.kpi = Broken()
    answer = await handoff.request_handoff(deps, TENANT, "U1", risk="crisis", reason="crisis")
    await handoff.take_over(deps, "demo", answer.conversation_id, "alice")
    assert "相談員につながりました" in deps.line.texts_to("U1")[0]


def test_statistics_categories_are_in_the_dashboards_vocabulary():
    from handoff.chat import QUEUE_STAT
    from handoff.model import KPI_CATEGORIES
    from kpi.aggregate import BASE_VOCAB
    from kpi.labels import CONSULT_CATEGORIES
    from nlu.intents import CONSULTATION_ROUTES

    assert set(KPI_CATEGORIES) == set(BASE_VOCAB["consult_category"]) and set(KPI_CATEGORIES) <= set(CONSULT_CATEGORIES)
    assert {r.queue for r in CONSULTATION_ROUTES.values()} <= set(QUEUE_STAT) and set(QUEUE_STAT.values()) <= set(KPI_CATEGORIES)
