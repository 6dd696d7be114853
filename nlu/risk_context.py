"""Conversation context for the crisis layer: the risk scores of a resident's last messages — numbers, never text.

Risk accumulates: 「もう疲れた」 and then 「全部終わりにしたい」 is a crisis even if neither message is one alone. The
assessor needs only the model's P(risk) of the last few messages within a window, so that is all that is kept:
``CONTEXT_TURNS`` scores, forgotten ``CONTEXT_WINDOW_S`` after the newest. A port with two adapters:

* ``MemoryRiskContext`` — tests and single-process demos;
* ``RedisRiskContext`` — key ``cb:{<tenant>}:crisis:ctx:<user>``, a list of ``<ms>:<score>`` (newest first), trimmed and
  given a TTL in one MULTI, so a resident's context expires by itself.
"""

from __future__ import annotations

from typing import Protocol

from bot.redis_client import RedisClient
from nlu.risk import CONTEXT_TURNS, CONTEXT_WINDOW_S


class RiskContextStore(Protocol):
    async def recent(self, tenant: str, user_id: str, now_ms: int) -> list[float]:
        """P(risk) of the resident's previous messages inside the window, newest first."""
        ...

    async def remember(self, tenant: str, user_id: str, risk: float, now_ms: int) -> None: ...

    async def forget(self, tenant: str, user_id: str) -> None: ...


def _fresh(entries: list[tuple[int, float]], now_ms: int) -> list[float]:
    return [score for ms, score in entries if now_ms - ms <= CONTEXT_WINDOW_S * 1000][:CONTEXT_TURNS]


class MemoryRiskContext:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], list[tuple[int, float]]] = {}

    async def recent(self, tenant: str, user_id: str, now_ms: int) -> list[float]:
        return _fresh(self._entries.get((tenant, user_id), []), now_ms)

    async def remember(self, tenant: str, user_id: str, risk: float, now_ms: int) -> None:
        entries = self._entries.setdefault((tenant, user_id), [])
        entries.insert(0, (now_ms, round(risk, 3)))
        del entries[CONTEXT_TURNS:]

    async def forget(self, tenant: str, user_id: str) -> None:
        self._entries.pop((tenant, user_id), None)


class RedisRiskContext:
    def __init__(self, redis: RedisClient) -> None:
        self._r = redis

    @staticmethod
    def _k(tenant: str, user_id: str) -> str:
        return f"cb:{{{tenant}}}:crisis:ctx:{user_id}"

    async def recent(self, tenant: str, user_id: str, now_ms: int) -> list[float]:
        raw = await self._r.lrange(self._k(tenant, user_id), 0, CONTEXT_TURNS - 1)
        entries = []
        for item in raw:
            ms, _, score = (item.decode() if isinstance(item, bytes) else item).partition(":")
            entries.append((int(ms), float(score)))
        return _fresh(entries, now_ms)

    async def remember(self, tenant: str, user_id: str, risk: float, now_ms: int) -> None:
        key = self._k(tenant, user_id)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.lpush(key, f"{now_ms}:{risk:.3f}")
            pipe.ltrim(key, 0, CONTEXT_TURNS - 1)
            pipe.expire(key, CONTEXT_WINDOW_S)
            await pipe.execute()

    async def forget(self, tenant: str, user_id: str) -> None:
        await self._r.delete(self._k(tenant, user_id))
