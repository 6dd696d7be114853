"""Kill Rasa mid-session: ResilientNlu keeps answering through the fallback and the crisis layer still fires."""

from __future__ import annotations

import aiohttp
import pytest

from nlu.breaker import CircuitBreaker
from nlu.cli import triage_lines
from nlu.fallback import FallbackNlu
from nlu.rasa_client import RasaNlu
from nlu.resilient import ResilientNlu

pytestmark = pytest.mark.rasa


async def test_resilient_nlu_survives_rasa_being_killed_mid_session(rasa_server_factory):
    server = rasa_server_factory()
    fallback = FallbackNlu.from_yaml()
    async with aiohttp.ClientSession() as session:
        breaker = CircuitBreaker(failure_threshold=2, reset_after=60)
        nlu = ResilientNlu(RasaNlu(server.url, session, timeout=5.0), fallback, breaker, deadline=6.0)

        before = [row async for row in triage_lines(["粗大ゴミを出したいんだけど", "死にたい"], nlu)]
        assert [r["source"] for r in before] == ["rasa", "rasa"]
        assert [(r["intent"], r["crisis"]) for r in before] == [("faq_garbage", None), ("consult_mental", "suicide")]

        server.stop()  # mid-session

        after = [row async for row in triage_lines(
            ["粗大ゴミを出したいんだけど", "死にたい", "今から飛び降りる", "住民票がほしいです"], nlu)]
        assert {r["source"] for r in after} == {"fallback"}
        assert [r["crisis"] for r in after] == [None, "suicide", "suicide", None]
        assert after[0]["intent"] == "faq_garbage" and after[3]["intent"] == "faq_registry"
        assert breaker.state == "open"
        assert nlu.stats.primary == 2 and nlu.stats.primary_errors == 2 and nlu.stats.short_circuited == 2


async def test_rasa_parses_kana_and_width_variants_alike(rasa_url):
    async with RasaNlu.connect(rasa_url, timeout=5.0) as rasa:
        intents = {(await rasa.parse(t)).intent for t in ("ゴミの分別がわからない", "ｺﾞﾐの分別がわからない", "ごみのぶんべつがわからない")}
    assert intents == {"faq_garbage"}
