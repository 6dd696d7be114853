"""One contract for every Nlu implementation: the Rasa client (real server), the fallback, and ResilientNlu with
Rasa down. The router relies on exactly these behaviours."""

from __future__ import annotations

import aiohttp
import pytest

from nlu.breaker import CircuitBreaker
from nlu.fallback import FallbackNlu
from nlu.intents import ALL_INTENTS, FALLBACK_INTENT, is_unknown
from nlu.rasa_client import RasaNlu
from nlu.resilient import ResilientNlu


@pytest.fixture(scope="module")
def fallback() -> FallbackNlu:
    return FallbackNlu.from_yaml()


@pytest.fixture(params=["fallback", "resilient_rasa_down", pytest.param("rasa", marks=pytest.mark.rasa)])
async def nlu(request, fallback):
    if request.param == "fallback":
        yield fallback, "fallback"
        return
    async with aiohttp.ClientSession() as session:
        if request.param == "rasa":
            url = request.getfixturevalue("rasa_url")
            yield RasaNlu(url, session, timeout=5.0), "rasa"
        else:
            dead = RasaNlu("http://127.0.0.1:9", session, timeout=0.5)
            yield ResilientNlu(dead, fallback, CircuitBreaker(failure_threshold=1)), "fallback"


@pytest.mark.parametrize(("text", "intent"), [
    ("粗大ゴミを出したいんだけど", "faq_garbage"),
    ("住民票ほしいねんけど", "faq_registry"),
    ("近くの避難所を知りたいです", "faq_disaster"),
    ("旦那に殴られた", "consult_dv"),
    ("通知を止めてください", "stop_notifications"),
    ("ありがとうございます", "thanks"),
])
async def test_clear_messages_get_their_intent(nlu, text, intent):
    impl, source = nlu
    parse = await impl.parse(text)
    assert (parse.intent, parse.source) == (intent, source)
    assert 0.0 <= parse.confidence <= 1.0


async def test_answers_are_known_intents_or_the_fallback_intent(nlu):
    impl, _ = nlu
    for text in ("税金のことなんですが", "えーと", "Hello"):
        assert (await impl.parse(text)).intent in (*ALL_INTENTS, FALLBACK_INTENT)


async def test_nonsense_is_not_guessed_into_a_topic(nlu):
    impl, _ = nlu
    for text in ("🍣🍣🍣", "今日は何の日かな、ラーメン食べたい"):
        parse = await impl.parse(text)
        assert is_unknown(parse.intent), (text, parse)


async def test_municipality_entities_come_with_codes(nlu):
    impl, _ = nlu
    parse = await impl.parse("茨木市の避難所はどこですか")
    municipalities = [e for e in parse.entities if e["entity"] == "municipality"]
    assert [(e["value"], e["codes"]) for e in municipalities] == [("茨木市", ["27211"])]
