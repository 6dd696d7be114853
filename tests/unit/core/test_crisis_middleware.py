"""The router's crisis layer: crisis and concern are answered before any room, in the resident's language."""

from __future__ import annotations

import logging
import time

import pytest

from bot.chat import Incoming, parse_postback
from bot.router import Dispatcher, Rooms
from bot.users import MemoryUserStore, User
from nlu.crisis_layer import CrisisLayer
from nlu.crisis_model import ModelScores
from nlu.crisis_reply import CrisisReplies
from nlu.risk import RiskAssessor, Thresholds, default_risk_assessor
from nlu.risk_context import MemoryRiskContext
from tests.helpers import tenant

T = tenant(hotlines=[{"category": "all", "name": "デモ市こころの相談", "number": "06-0000-0000", "hours": "平日"}])


class RecordingFaq:
    """Answers every text with an FAQ entry — the crisis layer must keep it from answering danger."""

    name = "faq"

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def on_text(self, incoming, parse):
        self.asked.append(incoming.text)
        return [{"type": "text", "text": "FAQ: スプレー缶は穴をあけずに出してください。"}]

    async def on_postback(self, incoming, data):
        return None

    async def on_location(self, incoming):
        return None

    async def on_unfollow(self, tenant_id, user_id):
        return None


class RecordingHandoff(RecordingFaq):
    name = "handoff"

    def __init__(self) -> None:
        self.requests: list[tuple[str | None, str | None]] = []

    async def is_held(self, tenant_id, user_id):
        return False

    async def request_from_crisis(self, incoming, assessment):
        self.requests.append((getattr(assessment, "level", None), getattr(assessment, "category", None)))
        return [{"type": "text", "text": "すぐに相談員におつなぎします。"}]

    async def on_text(self, incoming, parse):
        return None

    async def on_unanswered(self, incoming):
        return None


class MiddlingModel:
    """A model that is a little worried about every message: the concern level without depending on weights."""

    def score(self, analysis):
        return ModelScores(risk=Thresholds().concern + 0.05, crisis=0.05, category="suicide", category_p=0.8)


def rig(model=None):
    users = MemoryUserStore()
    faq, handoff = RecordingFaq(), RecordingHandoff()
    shipped = default_risk_assessor()
    assessor = shipped if model is None else RiskAssessor(shipped.lexicon, shipped.intl, model, shipped.languages,
                                                          shipped.analyzer)
    crisis = CrisisLayer(assessor, MemoryRiskContext(), CrisisReplies())
    return Dispatcher(users, Rooms(crisis=crisis, handoff=handoff, included=[faq])), users, faq, handoff


def incoming(text: str | None = None, *, kind: str = "text", postback: str = "", ts: int | None = None) -> Incoming:
    return Incoming(tenant=T, user_id="U1", kind=kind, webhook_event_id="E" + str(time.perf_counter_ns()),
                    timestamp_ms=ts or int(time.time() * 1000), text=text, postback=parse_postback(postback))


def _text(messages):
    return "\n".join(m["text"] for m in messages)


async def test_a_crisis_gets_hotlines_first_then_the_queue_and_never_an_faq():
    dispatcher, _, faq, handoff = rig()
    out = await dispatcher.process(incoming("さっきスプレー缶のふたで手首切った、血が止まらない"))
    assert faq.asked == []
    assert "06-0000-0000" in _text(out[:2]) and "0120-279-338" in _text(out[:2])
    assert out[-1]["text"] == "すぐに相談員におつなぎします。"
    assert handoff.requests in ([("crisis", "self_harm")], [("crisis", "suicide")])
    assert len(out) <= 5


async def test_concern_gets_a_check_in_and_a_high_priority_queue_item_not_an_faq():
    dispatcher, _, faq, handoff = rig(MiddlingModel())
    out = await dispatcher.process(incoming("最近あまり眠れていません"))
    assert faq.asked == []
    assert out[0]["text"].startswith("少し心配になりました")
    assert handoff.requests == [("concern", "suicide")]
    assert [i["action"]["data"] for i in out[0]["quickReply"]["items"]] == [
        "room=crisis&action=talk&lang=ja", "room=crisis&action=fine&lang=ja"]


async def test_everyday_questions_reach_the_rooms():
    dispatcher, _, faq, handoff = rig()
    out = await dispatcher.process(incoming("スプレー缶の捨て方を教えてください"))
    assert faq.asked == ["スプレー缶の捨て方を教えてください"] and handoff.requests == []
    assert out[0]["text"].startswith("FAQ:")


@pytest.mark.parametrize(("text", "marker", "number"), [
    ("I want to kill myself", "Thank you for telling us", "0570-090-911"),
    ("Chồng tôi bóp cổ tôi tối qua, tôi sợ về nhà", "Cảm ơn bạn đã chia sẻ", "0570-090-911"),
])
async def test_a_foreign_resident_is_answered_in_their_own_language_throughout(text, marker, number):
    dispatcher, users, faq, _ = rig()
    await users.save(User(tenant="demo", user_id="U1", language="ja"))
    out = await dispatcher.process(incoming(text))
    body = _text(out)
    assert marker in body and "ありがとう" not in body and "相談員" not in body  # no Japanese protocol
    assert faq.asked == []
    if "vi" in marker or "Cảm" in marker:
        assert number in body


async def test_context_turns_a_second_ambiguous_message_into_concern_or_crisis():
    dispatcher, _, faq, _ = rig()
    now = int(time.time() * 1000)
    first = await dispatcher.process(incoming("もう疲れた", ts=now))
    second = await dispatcher.process(incoming("全部終わりにしたい", ts=now + 20_000))
    assert "少し心配" in _text(first) or "ひとりで抱えなくて" in _text(first)
    assert "ひとりで抱えなくて大丈夫" in _text(second)  # the crisis opening
    assert faq.asked == []


async def test_the_quick_replies_talk_and_fine_are_answered_by_the_crisis_layer():
    dispatcher, _, _, handoff = rig()
    talk = await dispatcher.process(incoming(kind="postback", postback="room=crisis&action=talk&lang=en"))
    assert handoff.requests == [(None, None)] and "counsellor" in _text(talk)
    fine = await dispatcher.process(incoming(kind="postback", postback="room=crisis&action=fine&lang=ja"))
    assert fine[0]["text"].startswith("教えてくれてありがとうございます")


async def test_logs_carry_level_and_category_never_the_message(caplog):
    caplog.set_level(logging.WARNING, logger="civicbot.router")
    dispatcher, *_ = rig()
    await dispatcher.process(incoming("夫に首を絞められた"))
    [record] = [r for r in caplog.records if r.getMessage().startswith("crisis layer")]
    assert (record.level, record.category) == ("crisis", "dv")
    assert "首" not in caplog.text and "夫" not in caplog.text
