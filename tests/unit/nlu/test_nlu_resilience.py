"""Circuit breaker, the Rasa HTTP client (against a local stub server) and ResilientNlu's switching."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from nlu.breaker import CircuitBreaker
from nlu.port import NluUnavailable, Parse
from nlu.rasa_client import RasaNlu
from nlu.resilient import ResilientNlu
from tests.helpers import ManualClock


def test_breaker_opens_after_threshold_and_lets_one_trial_through_after_the_wait():
    clock = ManualClock(0.0)
    breaker = CircuitBreaker(failure_threshold=2, reset_after=10, clock=clock)
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 10
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # exactly one trial
    breaker.record_failure()  # failed trial: open again for a full wait
    assert breaker.state == "open"
    clock.now = 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_breaker_success_resets_the_failure_count():
    breaker = CircuitBreaker(failure_threshold=2)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


class StubRasa:
    """A local stand-in for ``rasa run --enable-api`` with a switchable behaviour."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls = 0

    async def parse(self, request: web.Request) -> web.Response:
        self.calls += 1
        body = await request.json()
        if self.mode == "error":
            return web.json_response({"error": "boom"}, status=500)
        if self.mode == "slow":
            await asyncio.sleep(1.0)
        if self.mode == "garbage":
            return web.Response(text="not json")
        return web.json_response({
            "text": body["text"],
            "intent": {"name": "faq_disaster", "confidence": 0.91234567},
            "entities": [{"entity": "municipality", "value": "茨木市", "start": 0, "end": 3,
                          "extractor": "RegexEntityExtractor", "processors": []}],
            "intent_ranking": [],
        })


@pytest.fixture
async def stub():
    rasa = StubRasa()
    app = web.Application()
    app.router.add_post("/model/parse", rasa.parse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rasa.url = str(server.make_url("/"))
    yield rasa
    await server.close()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


async def test_rasa_client_maps_the_response_and_resolves_municipality_codes(stub, session):
    parse = await RasaNlu(stub.url, session, timeout=0.5).parse("茨木市の避難所")
    assert parse == Parse("faq_disaster", 0.9123, [{"entity": "municipality", "value": "茨木市", "start": 0, "end": 3,
                                                    "extractor": "RegexEntityExtractor", "codes": ["27211"]}], "rasa")


@pytest.mark.parametrize("mode", ["error", "slow", "garbage"])
async def test_rasa_client_raises_unavailable_on_error_timeout_or_bad_body(stub, session, mode):
    stub.mode = mode
    with pytest.raises(NluUnavailable):
        await RasaNlu(stub.url, session, timeout=0.2).parse("x")


async def test_rasa_client_with_breaker_stops_calling_a_failing_server(stub, session):
    stub.mode = "error"
    client = RasaNlu(stub.url, session, timeout=0.5, breaker=CircuitBreaker(failure_threshold=2, reset_after=60))
    for _ in range(5):
        with pytest.raises(NluUnavailable):
            await client.parse("x")
    assert stub.calls == 2


async def test_rasa_client_connection_refused_is_unavailable(session):
    with pytest.raises(NluUnavailable):
        await RasaNlu("http://127.0.0.1:9", session, timeout=0.5).parse("x")


class FakeNlu:
    def __init__(self, parse: Parse | None = None, error: Exception | None = None, delay: float = 0.0) -> None:
        self.result, self.error, self.delay, self.calls = parse, error, delay, 0

    async def parse(self, text: str) -> Parse:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error:
            raise self.error
        return self.result


RASA = Parse("faq_garbage", 0.99, [], "rasa")
FALLBACK = Parse("faq_garbage", 0.8, [], "fallback")


async def test_resilient_uses_rasa_when_healthy():
    nlu = ResilientNlu(FakeNlu(RASA), FakeNlu(FALLBACK), CircuitBreaker())
    assert (await nlu.parse("ごみ")).source == "rasa"


async def test_resilient_falls_back_when_rasa_fails_and_then_stops_asking_it():
    primary = FakeNlu(error=NluUnavailable("down"))
    nlu = ResilientNlu(primary, FakeNlu(FALLBACK), CircuitBreaker(failure_threshold=2, reset_after=60))
    results = [await nlu.parse("ごみ") for _ in range(5)]
    assert {r.source for r in results} == {"fallback"}
    assert primary.calls == 2
    assert nlu.stats.short_circuited == 3 and nlu.breaker.state == "open"


async def test_resilient_falls_back_when_rasa_is_slower_than_the_deadline():
    nlu = ResilientNlu(FakeNlu(RASA, delay=1.0), FakeNlu(FALLBACK), CircuitBreaker(), deadline=0.05)
    assert (await nlu.parse("ごみ")).source == "fallback"


async def test_resilient_goes_back_to_rasa_after_a_successful_trial():
    clock = ManualClock(0.0)
    primary = FakeNlu(error=NluUnavailable("down"))
    nlu = ResilientNlu(primary, FakeNlu(FALLBACK), CircuitBreaker(failure_threshold=1, reset_after=5, clock=clock))
    assert (await nlu.parse("a")).source == "fallback"
    primary.error, primary.result = None, RASA
    assert (await nlu.parse("b")).source == "fallback"  # still open
    clock.now = 5
    assert (await nlu.parse("c")).source == "rasa"
    assert nlu.breaker.state == "closed"
