"""The improvement loop: questions the FAQ could not answer (or answered with 👎), kept for editors.

A question enters when the FAQ found nothing, or could only offer もしかして choices (it leaves again when the
resident picks one), or when the resident voted 👎 on the answer.

Only FAQ-like messages enter (``admissible``): never one the crisis layer flagged, never one with personal data
(``faq.pii``), never an overlong one; the chat never passes consultation messages here. A question is kept
``RETENTION`` seconds after it was last asked, then dropped; the text is never logged.

``UnansweredStore`` is the port (memory fake + Redis); ``clusters`` groups similar questions for the admin page.
Answered questions are remembered for ``PENDING_TTL`` (a day) so that a 👎 on the answer, which carries only the
query's hash, can put the question into the list.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

from bot.redis_client import RedisClient
from faq.lang import terms as foreign_terms
from faq.models import query_hash
from faq.pii import contains_pii
from faq.text import Analyzer

RETENTION = 90 * 24 * 3600
PENDING_TTL = 24 * 3600
MAX_LENGTH = 200
MAX_ITEMS = 5000  # per tenant; the least recently asked fall off

Reason = Literal["nothing", "choices", "down"]


@dataclass
class UnansweredQuestion:
    key: str  # query_hash of the text
    text: str
    lang: str
    # the latest: "nothing" (no answer found), "choices" (only もしかして offered, none picked yet), "down" (answered,
    # voted 👎)
    reason: Reason
    first: float
    last: float
    count: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> UnansweredQuestion:
        return cls(**json.loads(raw))


def admissible(text: str, flagged: bool) -> bool:
    """May this message enter the unanswered list? (No crisis flag, no personal data, FAQ-sized.)"""
    stripped = (text or "").strip()
    return not flagged and 2 <= len(stripped) <= MAX_LENGTH and not contains_pii(stripped)


class UnansweredStore(Protocol):
    async def record(self, tenant: str, text: str, lang: str, reason: Reason, now: float | None = None) -> None: ...
    async def remember_answered(self, tenant: str, text: str, lang: str) -> None: ...
    async def voted_down(self, tenant: str, key: str, now: float | None = None) -> bool: ...
    async def list(self, tenant: str, now: float | None = None) -> list[UnansweredQuestion]: ...
    async def remove(self, tenant: str, keys: list[str]) -> int: ...


def _seconds(now: float | None) -> float:
    """Times are kept in whole seconds (first/last seen need no more, and Lua's cjson keeps 14 digits)."""
    return float(int(time.time() if now is None else now))


def _merge(old: UnansweredQuestion | None, text: str, lang: str, reason: Reason, now: float) -> UnansweredQuestion:
    if old is None:
        return UnansweredQuestion(query_hash(text), text, lang, reason, now, now)
    return UnansweredQuestion(old.key, old.text, old.lang, reason, min(old.first, now), max(old.last, now),
                              old.count + 1)


class MemoryUnansweredStore:
    def __init__(self) -> None:
        self._items: dict[str, dict[str, UnansweredQuestion]] = {}
        self._pending: dict[str, dict[str, tuple[str, str, float]]] = {}

    def _expire(self, tenant: str, now: float) -> dict[str, UnansweredQuestion]:
        items = self._items.setdefault(tenant, {})
        for key in [k for k, q in items.items() if q.last < now - RETENTION]:
            del items[key]
        if len(items) > MAX_ITEMS:
            for key in sorted(items, key=lambda k: items[k].last)[: len(items) - MAX_ITEMS]:
                del items[key]
        return items

    async def record(self, tenant: str, text: str, lang: str, reason: Reason, now: float | None = None) -> None:
        now = _seconds(now)
        items = self._items.setdefault(tenant, {})
        key = query_hash(text)
        items[key] = _merge(items.get(key), text, lang, reason, now)
        self._expire(tenant, now)

    async def remember_answered(self, tenant: str, text: str, lang: str) -> None:
        self._pending.setdefault(tenant, {})[query_hash(text)] = (text, lang, time.time() + PENDING_TTL)

    async def voted_down(self, tenant: str, key: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        pending = self._pending.get(tenant, {}).pop(key, None)
        if pending is None or pending[2] < time.time():
            return False
        await self.record(tenant, pending[0], pending[1], "down", now)
        return True

    async def list(self, tenant: str, now: float | None = None) -> list[UnansweredQuestion]:
        items = self._expire(tenant, time.time() if now is None else now)
        return sorted(items.values(), key=lambda q: -q.last)

    async def remove(self, tenant: str, keys: list[str]) -> int:
        items = self._items.get(tenant, {})
        return sum(1 for k in keys if items.pop(k, None) is not None)


# KEYS: 1 items hash, 2 last-seen zset. ARGV: key, text, lang, reason, now, cutoff, retention seconds, max items.
_RECORD = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local now = tonumber(ARGV[5])
local item
if raw then
  item = cjson.decode(raw)
  item.count = item.count + 1
  item.reason = ARGV[4]
  if now < item.first then item.first = now end
  if now > item.last then item.last = now end
else
  item = {key=ARGV[1], text=ARGV[2], lang=ARGV[3], reason=ARGV[4], first=now, last=now, count=1}
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(item))
redis.call('ZADD', KEYS[2], item.last, ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
local n = redis.call('ZCARD', KEYS[2]) - #old
if n > tonumber(ARGV[8]) then
  for _, k in ipairs(redis.call('ZRANGE', KEYS[2], #old, #old + n - tonumber(ARGV[8]) - 1)) do
    table.insert(old, k)
  end
end
for _, k in ipairs(old) do
  redis.call('HDEL', KEYS[1], k)
  redis.call('ZREM', KEYS[2], k)
end
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('EXPIRE', KEYS[2], ARGV[7])
return #old
"""

# KEYS: 1 pending key, 2 items hash, 3 last-seen zset. ARGV as _RECORD minus key/text/lang (read from the pending key).
_VOTED_DOWN = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('DEL', KEYS[1])
local pending = cjson.decode(raw)
local stored = redis.call('HGET', KEYS[2], pending.key)
local now = tonumber(ARGV[1])
local item
if stored then
  item = cjson.decode(stored)
  item.count = item.count + 1
  item.reason = 'down'
  if now > item.last then item.last = now end
else
  item = {key=pending.key, text=pending.text, lang=pending.lang, reason='down', first=now, last=now, count=1}
end
redis.call('HSET', KEYS[2], pending.key, cjson.encode(item))
redis.call('ZADD', KEYS[3], item.last, pending.key)
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 1
"""


class RedisUnansweredStore:
    """Keys: ``cb:{t}:faq:unanswered`` hash key → question JSON; ``cb:{t}:faq:unanswered:last`` zset key → last
    seen (expiry and trimming); ``cb:{t}:faq:unanswered:pending:<key>`` an answered question for a day (a 👎 moves
    it into the list). Every key expires: a tenant's list is gone 90 days after its last question."""

    def __init__(self, client: RedisClient) -> None:
        self._r = client
        self._record = client.register_script(_RECORD)
        self._voted_down = client.register_script(_VOTED_DOWN)

    @classmethod
    def from_url(cls, url: str) -> RedisUnansweredStore:
        return cls(RedisClient.from_url(url, decode_responses=True))

    @staticmethod
    def _k(tenant: str, name: str = "") -> str:
        return f"cb:{{{tenant}}}:faq:unanswered" + (f":{name}" if name else "")

    async def record(self, tenant: str, text: str, lang: str, reason: Reason, now: float | None = None) -> None:
        now = _seconds(now)
        await self._record(keys=[self._k(tenant), self._k(tenant, "last")],
                           args=[query_hash(text), text, lang, reason, now, now - RETENTION, RETENTION, MAX_ITEMS])

    async def remember_answered(self, tenant: str, text: str, lang: str) -> None:
        key = query_hash(text)
        await self._r.set(self._k(tenant, f"pending:{key}"),
                          json.dumps({"key": key, "text": text, "lang": lang}, ensure_ascii=False), ex=PENDING_TTL)

    async def voted_down(self, tenant: str, key: str, now: float | None = None) -> bool:
        now = _seconds(now)
        done = await self._voted_down(
            keys=[self._k(tenant, f"pending:{key}"), self._k(tenant), self._k(tenant, "last")], args=[now, RETENTION])
        return bool(done)

    async def list(self, tenant: str, now: float | None = None) -> list[UnansweredQuestion]:
        now = time.time() if now is None else now
        keys = await self._r.zrevrangebyscore(self._k(tenant, "last"), "+inf", now - RETENTION)
        if not keys:
            return []
        raws = await self._r.hmget(self._k(tenant), keys)
        return [UnansweredQuestion.from_json(r) for r in raws if r]

    async def remove(self, tenant: str, keys: list[str]) -> int:
        if not keys:
            return 0
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hdel(self._k(tenant), *keys)
            pipe.zrem(self._k(tenant, "last"), *keys)
            removed, _ = await pipe.execute()
        return int(removed)


# -- grouping ----------------------------------------------------------------------------------------------------
@dataclass
class Cluster:
    """Similar unanswered questions: the most asked wording is the label."""

    members: list[UnansweredQuestion] = field(default_factory=list)

    @property
    def label(self) -> UnansweredQuestion:
        return max(self.members, key=lambda q: (q.count, q.last))

    @property
    def count(self) -> int:
        return sum(q.count for q in self.members)

    @property
    def first(self) -> float:
        return min(q.first for q in self.members)

    @property
    def last(self) -> float:
        return max(q.last for q in self.members)

    @property
    def reasons(self) -> set[str]:
        return {q.reason for q in self.members}

    @property
    def keys(self) -> list[str]:
        return [q.key for q in self.members]


def term_vector(text: str, lang: str, analyzer: Analyzer) -> Counter[str]:
    return Counter(analyzer.terms(text) if lang.startswith("ja") else foreign_terms(text, lang))


def clusters(
    questions: list[UnansweredQuestion], analyzer: Analyzer, idf: Mapping[str, float] | None = None,
    threshold: float = 0.35,
) -> list[Cluster]:
    """Group questions whose idf-weighted term vectors are at least ``threshold`` similar (cosine) to a member of
    a group (single link), the most asked questions first. ``idf``: the tenant's FAQ index's (a word the FAQ never
    uses counts as rare); without it, idf within the list. Japanese goes through ``analyzer``, other languages
    through ``faq.lang.terms``."""
    vectors = [term_vector(q.text, q.lang, analyzer) for q in questions]
    n = len(questions)
    df: Counter[str] = Counter()
    for v in vectors:
        df.update(v.keys())
    rare = max(idf.values(), default=1.0) if idf else 1.0

    def weight(term: str) -> float:
        if idf is not None:
            return idf.get(term, rare)
        return math.log(1 + n / df[term])

    weighted = []
    for v in vectors:
        w = {t: (1 + math.log(c)) * weight(t) for t, c in v.items()}
        norm = math.sqrt(sum(x * x for x in w.values())) or 1.0
        weighted.append({t: x / norm for t, x in w.items()})
    order = sorted(range(n), key=lambda i: (-questions[i].count, -questions[i].last))
    groups: list[tuple[list[dict[str, float]], Cluster]] = []
    for i in order:
        v = weighted[i]
        for heads, cluster in groups:
            if v and any(sum(x * h.get(t, 0.0) for t, x in v.items()) >= threshold for h in heads):
                heads.append(v)
                cluster.members.append(questions[i])
                break
        else:
            groups.append(([v], Cluster([questions[i]])))
    return sorted((c for _, c in groups), key=lambda c: (-c.count, -c.last))
