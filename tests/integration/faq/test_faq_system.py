"""The FAQ through the real processes: emulator → webhook → inbox → worker (FAQ room) → LINE API (emulator).

A resident asks a demo-FAQ question in their own words and gets the entry's answer with 👍/👎 postback buttons; the
👍 postback goes back through the same pipeline and is stored as feedback for that entry.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

import pytest

from tests.system import chat_system

pytestmark = pytest.mark.slow

QUESTION = "燃えるゴミは何曜日に出せばいい？"
ENTRY = "gomi-001"


async def _load_demo_faq(redis_url: str) -> None:
    import redis.asyncio as aioredis

    from faq.demo import SAMPLE
    from faq.io import import_file
    from faq.store import RedisFaqStore

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        report = await import_file(RedisFaqStore(client), "demo", SAMPLE, who="test")
        assert not report.errors
    finally:
        await client.aclose()


async def _feedback(redis_url: str) -> list:
    import redis.asyncio as aioredis

    from faq.store import RedisFaqStore

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return await RedisFaqStore(client).feedback("demo", 100)
    finally:
        await client.aclose()


@pytest.fixture
def system(tmp_path, redis_url):
    with chat_system(tmp_path, redis_url, prepare=_load_demo_faq) as s:
        yield s


def _postbacks(message: dict) -> dict[str, str]:
    """quick-reply label → postback data of one LINE message."""
    items = (message.get("quickReply") or {}).get("items", [])
    return {i["action"]["label"]: i["action"]["data"] for i in items if i["action"]["type"] == "postback"}


def test_resident_gets_the_faq_answer_with_feedback_buttons_and_the_vote_is_stored(system, redis_url):
    user = "U" + "0" * 31 + "f"
    system.say(user, QUESTION)
    (delivery,) = system.wait_messages(user, 1)
    assert delivery["endpoint"] == "reply"
    texts = [m.get("text", "") for m in delivery["messages"]]
    body = "\n".join(texts)
    assert "燃えるごみは何曜日に出せばいいですか？" in body and "8時30分" in body
    assert "https://www.city.demo.example.jp/faq/gomi-001.html" in body
    assert texts[-1] == "役に立ちましたか？"
    buttons = _postbacks(delivery["messages"][-1])
    up = next(data for label, data in buttons.items() if "👍" in label)
    assert any("👎" in label for label in buttons)
    assert dict(parse_qsl(up))["id"] == ENTRY

    system.post("/_emulator/send", {"tenant": "demo", "user_id": user, "type": "postback", "data": up,
                                    "display_text": "役に立った"})
    thanks = system.wait_messages(user, 2)[1]
    assert "ありがとうございます" in thanks["messages"][0]["text"]
    votes = asyncio.run(_feedback(redis_url))
    assert [(v.entry_id, v.vote) for v in votes] == [(ENTRY, "up")]

    # the same resident voting again is not counted twice
    system.post("/_emulator/send", {"tenant": "demo", "user_id": user, "type": "postback", "data": up})
    again = system.wait_messages(user, 3)[2]
    assert "すでに" in again["messages"][0]["text"]
    assert len(asyncio.run(_feedback(redis_url))) == 1


def test_question_the_faq_cannot_answer_gets_an_honest_reply_not_a_wrong_answer(system):
    user = "U" + "0" * 31 + "e"
    system.say(user, "火星行きのロケットの予約をしたい")
    (delivery,) = system.wait_messages(user, 1)
    body = "\n".join(m.get("text", "") for m in delivery["messages"])
    assert "役に立ちましたか？" not in body
