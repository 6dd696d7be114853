"""RasaNlu: the Nlu port over Rasa's HTTP API (POST /model/parse), with a short timeout.

The bot never imports rasa (different Python and pins); it only speaks HTTP to ``rasa run --enable-api``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp

from nlu.breaker import CircuitBreaker
from nlu.geo import resolve_municipality
from nlu.intents import FALLBACK_INTENT
from nlu.port import NluUnavailable, Parse

_ENTITY_KEYS = ("entity", "value", "start", "end", "extractor")


class RasaNlu:
    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession,
        *,
        timeout: float = 0.6,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/model/parse"
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._breaker = breaker

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, base_url: str, *, timeout: float = 0.6, breaker: CircuitBreaker | None = None
                      ) -> AsyncIterator[RasaNlu]:
        """A client with its own session (CLI, bench); the app passes its shared session instead."""
        async with aiohttp.ClientSession() as session:
            yield cls(base_url, session, timeout=timeout, breaker=breaker)

    async def parse(self, text: str) -> Parse:
        if self._breaker is not None and not self._breaker.allow():
            raise NluUnavailable("rasa circuit open")
        try:
            async with self._session.post(self._url, json={"text": text}, timeout=self._timeout) as resp:
                if resp.status != 200:
                    raise NluUnavailable(f"rasa answered HTTP {resp.status}")
                body = await resp.json(content_type=None)
            parse = _to_parse(body)
        except NluUnavailable:
            self._failed()
            raise
        except (TimeoutError, aiohttp.ClientError, ValueError, KeyError, TypeError) as exc:
            self._failed()
            raise NluUnavailable(f"rasa unavailable: {type(exc).__name__}") from exc
        if self._breaker is not None:
            self._breaker.record_success()
        return parse

    def _failed(self) -> None:
        if self._breaker is not None:
            self._breaker.record_failure()


def _to_parse(body: dict) -> Parse:
    intent = body.get("intent")
    entities = []
    for raw in body.get("entities") or []:
        entity = {k: raw[k] for k in _ENTITY_KEYS if k in raw}
        if entity.get("entity") == "municipality":
            entity["codes"] = list(resolve_municipality(str(entity.get("value", ""))))
        entities.append(entity)
    if not intent or not intent.get("name"):  # empty text: rasa answers with no intent
        return Parse(FALLBACK_INTENT, 0.0, entities, "rasa")
    return Parse(str(intent["name"]), round(float(intent["confidence"]), 4), entities, "rasa")
