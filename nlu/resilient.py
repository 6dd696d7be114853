"""ResilientNlu: Rasa first, the in-process fallback when Rasa is down, slow or its circuit is open."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from nlu.breaker import CircuitBreaker
from nlu.port import Nlu, NluUnavailable, Parse

log = logging.getLogger(__name__)


@dataclass
class NluStats:
    primary: int = 0
    fallback: int = 0
    primary_errors: int = 0
    short_circuited: int = 0


class ResilientNlu:
    """The router's Nlu. ``deadline`` bounds the primary call even if its own timeout misbehaves."""

    def __init__(self, primary: Nlu, fallback: Nlu, breaker: CircuitBreaker, *, deadline: float = 1.0) -> None:
        self._primary = primary
        self._fallback = fallback
        self._breaker = breaker
        self._deadline = deadline
        self.stats = NluStats()

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def parse(self, text: str) -> Parse:
        if self._breaker.allow():
            try:
                parse = await asyncio.wait_for(self._primary.parse(text), self._deadline)
            except (TimeoutError, NluUnavailable) as exc:
                self._breaker.record_failure()
                self.stats.primary_errors += 1
                log.warning("nlu primary failed, using fallback", extra={"error": type(exc).__name__,
                                                                         "breaker": self._breaker.state})
            else:
                self._breaker.record_success()
                self.stats.primary += 1
                return parse
        else:
            self.stats.short_circuited += 1
        self.stats.fallback += 1
        return await self._fallback.parse(text)
