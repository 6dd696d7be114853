"""HandoffRoom: the router's view — 「人と話したい」, consultation intents, repeated failures, crisis, held messages."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import handoff
from bot.chat import Incoming
from handoff import HandoffDeps, HandoffRoom, MemoryHandoffBus, MemoryHandoffStore, RecordingLinePort
from handoff.testing import demo_tenants

TENANT = demo_tenants()["demo"]


@dataclass
class Parse:
    intent: str


@dataclass
class Route:
    label: str
    queue: str
    risk: str


@dataclass
class Assessment:
    category: str
    severity: str = "immediate"
    rule_id: str = "r1"


ROUTES = {"consult_poverty": Route("生活困窮", "livelihood", "medium"), "consult_dv": Route("DV", "dv", "high")}


@pytest.fixture
def room():
    deps = HandoffDeps(store=MemoryHandoffStore(), bus=MemoryHandoffBus(), line=RecordingLinePort())
    return HandoffRoom(deps, consultation_routes=ROUTES)


def msg(text: str | None = "こんにちは", kind: str = "text", **kw) -> Incoming:
    return Incoming(tenant=TENANT, user_id="U1", kind=kind, webhook_event_id="e", timestamp_ms=0, text=text, **kw)


def texts(messages) -> str:
    return "\n".join(m["text"] for m in messages)


async def test_talk_to_human_intent_and_plain_words_queue(room):
    out = await room.on_text(msg("人と話したい"), Parse("talk_to_human"))
    assert "1番目" in texts(out) and await room.is_held("demo", "U1")


async def test_words_work_when_nlu_is_down(room):
    assert await room.on_text(msg("ごみの日は？"), None) is None
    out = await room.on_text(msg("相談員と話せますか"), None)
    assert out and await room.is_held("demo", "U1")


async def test_medium_consultation_is_offered_high_is_queued(room):
    offer = await room.on_text(msg("生活が苦しい"), Parse("consult_poverty"))
    assert not await room.is_held("demo", "U1")
    item = offer[0]["quickReply"]["items"][0]["action"]
    assert item["label"] == "相談員と話す" and "room=handoff" in item["data"]
    await room.on_text(msg("夫に殴られる"), Parse("consult_dv"))
    conv = await room.deps.store.open_for_user("demo", "U1")
    assert (conv.risk, conv.category, conv.reason) == ("high", "DV", "intent")


async def test_offer_postback_queues(room):
    out = await room.on_postback(msg(None, "postback"), {"room": "handoff", "action": "request", "category": "生活困窮"})
    assert out and (await room.deps.store.open_for_user("demo", "U1")).category == "生活困窮"


async def test_repeated_failures_offer_a_person(room):
    assert await room.on_unanswered(msg("???")) is None
    offer = await room.on_unanswered(msg("???"))
    assert "相談員と話しますか" in texts(offer)
    assert await room.on_unanswered(msg("???")) is None  # counter starts again after the offer


async def test_crisis_queues_on_top_without_repeating_hotlines(room):
    await room.on_text(msg("人と話したい"), Parse("talk_to_human"))
    other = Incoming(tenant=TENANT, user_id="U2", kind="text", webhook_event_id="e", timestamp_ms=0, text="しにたい")
    out = await room.request_from_crisis(other, Assessment("suicide"))
    assert "0120" not in texts(out) and "1番目" in texts(out)
    top = (await room.deps.store.queue("demo"))[0]
    assert (top.user_id, top.risk, top.reason, top.crisis_text) == ("U2", "crisis", "crisis", "")


async def test_crisis_signal_while_waiting_raises_risk_and_gives_hotlines_at_once(room):
    await room.on_text(msg("人と話したい"), Parse("talk_to_human"))
    out = await room.on_resident_message(msg("もう消えたい"), Assessment("suicide"))
    assert "0120-279-338" in texts(out) and "優先して" in texts(out)  # nobody holds it yet: never silence
    assert out[-1]["quickReply"]["items"][0]["action"]["data"] == "room=handoff&action=cancel"
    conv = await room.deps.store.open_for_user("demo", "U1")
    assert conv.risk == "crisis" and conv.category == "自殺念慮"
    assert (await room.deps.store.transcript("demo", conv.id))[0].text == "もう消えたい"


async def test_crisis_signal_in_a_held_conversation_goes_to_the_counsellor_only(room):
    await room.on_text(msg("人と話したい"), Parse("talk_to_human"))
    conv = await room.deps.store.open_for_user("demo", "U1")
    await handoff.take_over(room.deps, "demo", conv.id, "alice")
    assert await room.on_resident_message(msg("もう消えたい"), Assessment("suicide")) == []  # the counsellor answers
    conv = await room.deps.store.get("demo", conv.id)
    assert conv.risk == "crisis" and conv.category == "自殺念慮"


async def test_unfollow_ends_the_conversation(room):
    await room.on_text(msg("人と話したい"), Parse("talk_to_human"))
    await room.on_unfollow("demo", "U1")
    assert not await room.is_held("demo", "U1")
    assert (await handoff.is_held(room.deps, "demo", "U1")) is False


async def test_statistics_category_follows_the_route(room):
    from dataclasses import replace

    from kpi import recorder as R
    from kpi.recorder import MemoryKpiRecorder

    room.deps.kpi = kpi = MemoryKpiRecorder()
    await room.on_text(msg("夫に殴られる"), Parse("consult_dv"))  # high-risk route: queued at once
    offer = {"room": "handoff", "action": "request", "category": "生活困窮"}  # the 「相談員と話す」 button of a medium route
    await room.on_postback(replace(msg(None, kind="postback", postback=offer), user_id="U2"), offer)
    await room.request_from_crisis(replace(msg("もう死にたい"), user_id="U3"), Assessment("suicide"))
    await room.on_text(replace(msg("人と話したい"), user_id="U4"), Parse("talk_to_human"))
    (day,) = await kpi.days("demo", [kpi.today()])
    assert day.breakdown(R.CONSULT_OPENED) == {"dv": 1, "living": 1, "crisis": 1, "general": 1}
