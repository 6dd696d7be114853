"""The crisis layer through the real processes: emulator → webhook → inbox → worker → LINE API (emulator).

With the demo FAQ loaded (so an FAQ entry *would* match the danger message's words), Rasa not running (the worker's
NLU falls back in-process): a crisis in Japanese, a concern in English, and crises in English and Vietnamese are each
answered by the crisis layer in the first reply, in the writer's language, and never with an FAQ entry.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.system import chat_system

pytestmark = pytest.mark.slow


async def _load_demo_faq(redis_url: str) -> None:
    import redis.asyncio as aioredis

    from faq.demo import SAMPLE
    from faq.io import import_file
    from faq.store import RedisFaqStore

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert not (await import_file(RedisFaqStore(client), "demo", SAMPLE, who="test")).errors
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def system(tmp_path_factory, redis_url):
    with chat_system(tmp_path_factory.mktemp("crisis"), redis_url,
                     prepare=_load_demo_faq) as s:  # no Rasa: tests.system points the NLU at a dead port
        yield s


def _first_reply(system, user: str, text: str) -> tuple[dict, str]:
    system.say(user, text)
    (delivery,) = system.wait_messages(user, 1, timeout=60)
    return delivery, "\n".join(m.get("text", "") for m in delivery["messages"])


def test_a_danger_message_an_faq_entry_would_match_gets_hotlines_not_the_faq(system):
    # control: the FAQ answers the everyday question about spray cans
    _, faq_answer = _first_reply(system, "U" + "f0".ljust(32, "0"), "スプレー缶の捨て方を教えてください")
    assert "スプレー" in faq_answer
    delivery, body = _first_reply(system, "U" + "c1".ljust(32, "0"), "スプレー缶のふたで手首を切った。血が止まらない")
    assert delivery["endpoint"] == "reply"
    assert "0120-279-338" in body and "110" in body  # hotlines, immediate: call 110/119 first
    assert faq_answer.splitlines()[0] not in body and "役に立ちましたか" not in body


def test_concern_in_english_gets_a_check_in_in_english(system):
    delivery, body = _first_reply(system, "U" + "c2".ljust(32, "0"), "I feel so hopeless lately")
    assert "worried about you" in body and "相談" not in body
    labels = [i["action"]["label"] for i in delivery["messages"][-1]["quickReply"]["items"]]
    assert labels == ["Talk to a counsellor", "I'm OK"]


@pytest.mark.parametrize(("user", "text", "expect", "line"), [
    ("c3", "I want to kill myself", "You don't have to carry this alone", "press 2 after the announcement"),
    ("c4", "Tôi muốn chết, không muốn sống nữa", "Bạn không phải chịu đựng một mình", "nhấn số 2"),
])
def test_a_crisis_in_another_language_is_answered_in_that_language(system, user, text, expect, line):
    _, body = _first_reply(system, "U" + user.ljust(32, "0"), text)
    assert expect in body and line in body
    assert "ありがとうございます" not in body  # not the Japanese protocol


def test_the_worker_log_names_levels_but_not_messages(system):
    asyncio.run(asyncio.sleep(0.5))
    log = system.log("worker")
    assert "crisis layer" in log
    assert "手首" not in log and "kill myself" not in log and "muốn chết" not in log
