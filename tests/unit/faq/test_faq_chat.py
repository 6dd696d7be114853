"""Chat replies: shapes LINE accepts (≤5 messages, ≤5,000 chars, ≤13 quick replies, labels ≤20, data ≤300)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.chat import Incoming, parse_postback
from bot.config import Tenant
from faq.chat import ConfidencePolicy, FaqDeps, answer, answer_messages, on_postback, split_text
from faq.index import LiveIndex
from faq.io import parse_file
from faq.models import FaqEntry
from faq.store import MemoryFaqStore

DEMO = Path(__file__).resolve().parents[3] / "faq" / "sample" / "demo_faq.csv"


def incoming(kind: str = "text", user_id: str = "U1") -> Incoming:
    tenant = Tenant(id="demo", display_name="デモ市", lg_code="271004")
    return Incoming(tenant=tenant, user_id=user_id, kind=kind, webhook_event_id="e1", timestamp_ms=0)


@pytest.fixture
async def deps():
    store = MemoryFaqStore()
    await store.put_many("demo", parse_file(DEMO, "demo").entries, who="test")
    return FaqDeps(index=LiveIndex(store), store=store)


def assert_line_limits(messages: list[dict]) -> None:
    assert 1 <= len(messages) <= 5
    for m in messages:
        assert m["type"] == "text" and 0 < len(m["text"]) <= 5000
        items = m.get("quickReply", {}).get("items", [])
        assert len(items) <= 13
        for item in items:
            action = item["action"]
            assert len(action["label"]) <= 20
            if action["type"] == "postback":
                assert len(action["data"]) <= 300 and len(action.get("displayText", "")) <= 300
    assert all("quickReply" not in m for m in messages[:-1])  # LINE shows quick replies of the last message only


def postbacks(message: dict) -> list[dict]:
    return [parse_postback(i["action"]["data"]) for i in message["quickReply"]["items"]
            if i["action"]["type"] == "postback"]


async def test_confident_answer_has_text_url_and_feedback_buttons(deps):
    messages = await answer(incoming(), "粗大ゴミの申し込み方法を教えて", None, deps)
    assert_line_limits(messages)
    assert "粗大ごみ受付センター" in messages[0]["text"]
    assert "https://www.city.demo.example.jp/faq/gomi-002.html" in messages[0]["text"]
    assert messages[-1]["text"] == "役に立ちましたか？"
    votes = postbacks(messages[-1])
    assert [(v["room"], v["action"], v["id"], v["v"]) for v in votes] == [
        ("faq", "feedback", "gomi-002", "up"), ("faq", "feedback", "gomi-002", "down")]


async def test_unsure_offers_top_three_questions(deps):
    deps.policy = ConfidencePolicy(answer_min=1.01)  # never confident
    messages = await answer(incoming(), "子どもを預けたい", None, deps)
    assert_line_limits(messages)
    shows = [p for p in postbacks(messages[-1]) if p["action"] == "show"]
    assert len(shows) == 3 and all(p["room"] == "faq" for p in shows)
    labels = [i["action"]["label"] for i in messages[-1]["quickReply"]["items"]]
    assert "人と話す" in labels


async def test_nothing_found_says_so_and_offers_people(deps):
    messages = await answer(incoming(), "ｘｙｚｚｙ", None, deps)
    assert_line_limits(messages)
    assert "見つかりませんでした" in messages[0]["text"]
    assert {i["action"]["label"] for i in messages[0]["quickReply"]["items"]} == {"相談する", "人と話す"}


async def test_show_postback_answers_chosen_entry(deps):
    data = parse_postback("room=faq&action=show&id=koseki-001&q=abc")
    messages = await on_postback(incoming("postback"), data, deps)
    assert_line_limits(messages)
    assert messages[0]["text"].startswith("Q. 住民票の写しはどこで取れますか？")
    assert postbacks(messages[-1])[0]["q"] == "abc"


async def test_show_of_deleted_entry_is_polite(deps):
    messages = await on_postback(incoming("postback"), {"room": "faq", "action": "show", "id": "nope"}, deps)
    assert "見つかりませんでした" in messages[0]["text"]


async def test_feedback_is_stored_and_thanked(deps):
    up = await on_postback(incoming("postback"), {"action": "feedback", "id": "gomi-001", "v": "up", "q": "h1"}, deps)
    down = await on_postback(incoming("postback", "U2"), {"action": "feedback", "id": "gomi-001", "v": "down",
                                                          "q": "h1"}, deps)
    assert "ありがとうございます" in up[0]["text"] and "quickReply" in down[0]
    assert await deps.store.feedback_counts("demo") == {"gomi-001": (1, 1)}
    again = await on_postback(incoming("postback"), {"action": "feedback", "id": "gomi-001", "v": "down", "q": "h1"},
                              deps)
    assert "すでに" in again[0]["text"]
    assert await deps.store.feedback_counts("demo") == {"gomi-001": (1, 1)}  # one resident cannot stuff the votes
    assert all(fb.voter and fb.voter not in ("U1", "U2") for fb in await deps.store.feedback("demo"))
    bad = await on_postback(incoming("postback"), {"action": "feedback", "id": "gomi-001", "v": "maybe"}, deps)
    assert "受け付けられません" in bad[0]["text"]
    assert await deps.store.feedback_counts("demo") == {"gomi-001": (1, 1)}


def test_long_answer_is_split_within_limits():
    body = ("。".join(["とても長い説明の文です"] * 1500)) + "。"
    entry = FaqEntry("demo", "long", "長い質問", body, url="https://example.jp/long")
    messages = answer_messages(entry, "q")
    assert_line_limits(messages)
    assert len(messages) == 5 and "https://example.jp/long" in messages[-2]["text"]
    assert all(len(p) <= 5000 for p in split_text(body))
    assert "".join(split_text("あ" * 12000)) == "あ" * 12000


async def test_nlu_topic_steers_the_choices(deps):
    deps.policy = ConfidencePolicy(answer_min=1.01)
    deps.topic_labels = {"faq_childcare": "子育て・保育"}
    async def first_choice(topic):
        messages = await answer(incoming(), "相談したい", topic, deps)
        return [p["id"] for p in postbacks(messages[-1]) if p["action"] == "show"][0]

    assert (await first_choice("faq_childcare")).startswith(("kosodate", "hoiku"))
    assert not (await first_choice(None)).startswith(("kosodate", "hoiku"))  # a prior, visible only with the topic


async def test_room_takes_faq_topics_and_unsure_texts_only(deps):
    from types import SimpleNamespace

    from faq.chat import FaqRoom

    deps.topic_labels = {"faq_garbage": "ごみ・リサイクル"}
    room = FaqRoom(deps)
    ev = incoming()
    ev.text = "粗大ゴミの申し込み方法を教えて"
    assert "粗大ごみ受付センター" in (await room.on_text(ev, SimpleNamespace(intent="faq_garbage")))[0]["text"]
    assert await room.on_text(ev, SimpleNamespace(intent="consult_dv")) is None  # consultations always win
    assert await room.on_text(ev, SimpleNamespace(intent="nlu_fallback")) is not None
    ev.text = "ｘｙｚｚｙ"
    assert await room.on_text(ev, SimpleNamespace(intent="nlu_fallback")) is None  # nothing: let others answer
    said = await room.on_text(ev, SimpleNamespace(intent="faq_garbage"))
    assert "見つかりませんでした" in said[0]["text"]  # an FAQ question gets an honest answer
    shown = await room.on_postback(ev, {"room": "faq", "action": "show", "id": "gomi-001"})
    assert shown[0]["text"].startswith("Q. 燃えるごみ")


async def test_kpis_count_answers_choices_misses_and_votes(deps):
    from types import SimpleNamespace

    from faq.chat import FaqRoom
    from kpi.recorder import FAQ_ANSWERED, FAQ_DOWN, FAQ_RESOLVED, FAQ_UNANSWERED, FAQ_UP, MemoryKpiRecorder

    kpi = MemoryKpiRecorder()
    deps.kpi = kpi
    await answer(incoming(), "粗大ゴミの申し込み方法を教えて", None, deps)  # direct answer: resolved
    await answer(incoming(), "ｘｙｚｚｙ", None, deps)  # nothing found
    room = FaqRoom(deps)
    ev = incoming()
    ev.text = "ｘｙｚｚｙ"
    assert await room.on_text(ev, SimpleNamespace(intent="nlu_fallback")) is None  # not ours: not counted
    deps.policy = ConfidencePolicy(answer_min=1.01)
    await answer(incoming(), "子どもを預けたい", None, deps)  # choices: answered, not resolved
    await on_postback(incoming("postback"), {"action": "feedback", "id": "gomi-002", "v": "up", "q": "h"}, deps)
    await on_postback(incoming("postback", "U2"), {"action": "feedback", "id": "gomi-002", "v": "down", "q": "h"},
                      deps)
    await on_postback(incoming("postback", "U2"), {"action": "feedback", "id": "gomi-002", "v": "down", "q": "h"},
                      deps)  # a repeat vote is not counted twice
    (day,) = await kpi.days("demo", [kpi.today()])
    assert {k: day.get(k) for k in (FAQ_ANSWERED, FAQ_RESOLVED, FAQ_UNANSWERED, FAQ_UP, FAQ_DOWN)} == {
        FAQ_ANSWERED: 2, FAQ_RESOLVED: 1, FAQ_UNANSWERED: 1, FAQ_UP: 1, FAQ_DOWN: 1}


async def test_a_broken_kpi_recorder_never_stops_the_reply(deps):
    class Broken:
        async def faq_answered(self, *a, **k):
            raise ConnectionError("kpi down")

        faq_unanswered = faq_feedback = faq_answered

    deps.kpi = Broken()
    assert "粗大ごみ受付センター" in (await answer(incoming(), "粗大ゴミの申し込み方法を教えて", None, deps))[0]["text"]
    up = await on_postback(incoming("postback"), {"action": "feedback", "id": "gomi-002", "v": "up", "q": "h"}, deps)
    assert "ありがとうございます" in up[0]["text"]
