"""In-memory state of the emulated LINE platform, one small class per concern.

The emulator is a test double, so nothing here is persisted; every class takes the clock (and randomness) it needs so
tests can drive expiry and faults deterministically instead of sleeping.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

Clock = Callable[[], float]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(clock: Clock = time.time) -> str:
    """A ULID-shaped id (48-bit ms timestamp + 80 random bits, Crockford base32), as LINE's webhookEventId."""
    value = (int(clock() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


_ids = random.Random(random.SystemRandom().getrandbits(64))  # unique enough for a test double; no syscall per id


def new_message_id() -> str:
    """LINE message ids are decimal strings of about 18 digits."""
    return str(_ids.randrange(10**17, 10**18))


def new_request_id() -> str:
    return str(uuid.uuid4())


class InvalidReplyToken(Exception):
    pass


@dataclass
class _Token:
    tenant: str
    user_id: str
    issued_at: float


class ReplyTokens:
    """Single-use reply tokens that expire ``ttl`` seconds after the event was sent to the bot."""

    def __init__(self, clock: Clock, ttl: Callable[[], float]) -> None:
        self._clock = clock
        self._ttl = ttl
        self._tokens: dict[str, _Token] = {}

    def issue(self, tenant: str, user_id: str) -> str:
        token = uuid.uuid4().hex
        self._tokens[token] = _Token(tenant, user_id, self._clock())
        return token

    def consume(self, tenant: str, token: str) -> str:
        """Return the user the token answers; the token is spent even when it had expired."""
        entry = self._tokens.pop(token, None)
        if entry is None or entry.tenant != tenant:
            raise InvalidReplyToken(token)
        if self._clock() - entry.issued_at > self._ttl():
            raise InvalidReplyToken(token)
        return entry.user_id

    def peek(self, tenant: str, token: str) -> str | None:
        """The user a still-valid token belongs to, without spending it (validation runs before delivery)."""
        entry = self._tokens.get(token)
        if entry is None or entry.tenant != tenant or self._clock() - entry.issued_at > self._ttl():
            return None
        return entry.user_id


@dataclass
class Accepted:
    request_id: str
    sent_messages: list[dict[str, Any]]
    at: float


class RetryKeys:
    """Requests accepted under an ``X-Line-Retry-Key``, per channel, remembered for ``ttl`` seconds (LINE: 24 h)."""

    def __init__(self, clock: Clock, ttl: Callable[[], float]) -> None:
        self._clock = clock
        self._ttl = ttl
        self._accepted: dict[tuple[str, str], Accepted] = {}

    def get(self, tenant: str, key: str) -> Accepted | None:
        entry = self._accepted.get((tenant, key.lower()))
        if entry is not None and self._clock() - entry.at > self._ttl():
            del self._accepted[(tenant, key.lower())]
            return None
        return entry

    def remember(self, tenant: str, key: str, request_id: str, sent_messages: list[dict[str, Any]]) -> None:
        self._accepted[(tenant, key.lower())] = Accepted(request_id, sent_messages, self._clock())


class RateLimiter:
    """Token bucket per (channel, endpoint): ``rate`` requests per second, bursts up to ``max(1, rate)``."""

    def __init__(self, clock: Clock, rates: Callable[[], dict[str, float]]) -> None:
        self._clock = clock
        self._rates = rates
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def allow(self, tenant: str, endpoint: str) -> bool:
        rate = self._rates().get(endpoint)
        if not rate:
            return True
        now = self._clock()
        capacity = max(1.0, rate)
        tokens, last = self._buckets.get((tenant, endpoint), (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[(tenant, endpoint)] = (tokens, now)
            return False
        self._buckets[(tenant, endpoint)] = (tokens - 1.0, now)
        return True

    def reset(self) -> None:
        self._buckets.clear()


class Quota:
    """Monthly message quota per channel. LINE counts one message per recipient of a push-type request;
    replies are free. The month is the calendar month of the clock (UTC)."""

    def __init__(self, clock: Clock, limit: Callable[[], int | None]) -> None:
        self._clock = clock
        self._limit = limit
        self._used: dict[tuple[str, str], int] = defaultdict(int)

    def _month(self) -> str:
        return time.strftime("%Y-%m", time.gmtime(self._clock()))

    def used(self, tenant: str) -> int:
        return self._used[(tenant, self._month())]

    def limit(self) -> int | None:
        return self._limit()

    def would_exceed(self, tenant: str, count: int) -> bool:
        limit = self._limit()
        return limit is not None and self.used(tenant) + count > limit

    def consume(self, tenant: str, count: int) -> None:
        self._used[(tenant, self._month())] += count


class Faults:
    """Seeded dice for fault injection, so a failing run can be replayed with the same seed."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate


@dataclass
class Delivery:
    """One message batch delivered to one user (a multicast to 3 users is 3 deliveries)."""

    request_id: str
    tenant: str
    endpoint: str
    to: str
    messages: list[dict[str, Any]]
    message_ids: list[str]
    timestamp: int  # ms
    retry_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Inbound:
    """Something the resident did (the emulator sent it to the bot as a webhook event)."""

    tenant: str
    user_id: str
    event: dict[str, Any]
    bot_status: int | None
    timestamp: int
    display: str | None = None  # what the chat shows for it (a postback's displayText), if anything


def content_key(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, sort_keys=True, ensure_ascii=False)


class Hub:
    """Fan-out of live events (deliveries, loading animations, inbound events) to WebSocket subscribers."""

    def __init__(self) -> None:
        self._subscribers: dict[tuple[str, str], set[asyncio.Queue]] = defaultdict(set)

    def subscribe(self, tenant: str, user_id: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self._subscribers[(tenant, user_id)].add(queue)
        return queue

    def unsubscribe(self, tenant: str, user_id: str, queue: asyncio.Queue) -> None:
        self._subscribers[(tenant, user_id)].discard(queue)

    def has_subscribers(self, tenant: str, user_id: str) -> bool:
        return bool(self._subscribers.get((tenant, user_id)))

    def publish(self, tenant: str, user_id: str, frame: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get((tenant, user_id), ())):
            if not queue.full():
                queue.put_nowait(frame)


class Ledger:
    """Every message the emulator delivered, in order.

    ``duplicates`` is the number of deliveries whose (tenant, recipient, exact message content — the JSON of the
    messages array with sorted keys) had already been delivered before, whatever the endpoint or retry key. A retried
    push that LINE rejected with 409 is not a delivery, so a client using retry keys correctly causes no duplicates;
    a client that retries without a key (or with a fresh key each time) does. A bot that deliberately sends the same
    text twice also counts; tests should use distinct content when that matters.
    """

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._deliveries: list[Delivery] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._duplicates = 0
        self.inbound: list[Inbound] = []

    def record(self, delivery: Delivery, content: str | None = None) -> None:
        """Append one delivery; ``content`` is ``content_key(messages)`` when the caller already computed it."""
        key = (delivery.tenant, delivery.to, content if content is not None else content_key(delivery.messages))
        if key in self._seen:
            self._duplicates += 1
        self._seen.add(key)
        self._deliveries.append(delivery)
        if self._hub.has_subscribers(delivery.tenant, delivery.to):  # a multicast to 500 mostly has no live page open
            self._hub.publish(delivery.tenant, delivery.to, {"kind": "delivery", **delivery.to_json()})

    def record_inbound(self, item: Inbound) -> None:
        self.inbound.append(item)
        self._hub.publish(item.tenant, item.user_id, {"kind": "inbound", "event": item.event, "display": item.display})

    def deliveries(self, *, to: str | None = None, tenant: str | None = None) -> list[Delivery]:
        return [d for d in self._deliveries if (to is None or d.to == to) and (tenant is None or d.tenant == tenant)]

    def stats(self) -> dict[str, int]:
        return {
            "deliveries": len(self._deliveries),
            "unique_recipients": len({(d.tenant, d.to) for d in self._deliveries}),
            "duplicates": self._duplicates,
        }

    def reset(self) -> None:
        self._deliveries.clear()
        self._seen.clear()
        self._duplicates = 0
        self.inbound.clear()


@dataclass
class Users:
    """Who follows which channel, who blocked it, and profiles the emulator makes up for them."""

    followers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    blocked: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    profiles: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def follow(self, tenant: str, user_id: str) -> None:
        self.blocked[tenant].discard(user_id)
        self.followers[tenant].add(user_id)

    def block(self, tenant: str, user_id: str) -> None:
        self.followers[tenant].discard(user_id)
        self.blocked[tenant].add(user_id)

    def is_blocked(self, tenant: str, user_id: str) -> bool:
        return user_id in self.blocked[tenant]

    def audience(self, tenant: str) -> list[str]:
        return sorted(self.followers[tenant] - self.blocked[tenant])

    def reset(self) -> None:
        self.followers.clear()
        self.blocked.clear()
        self.profiles.clear()


@dataclass
class Contents:
    """Binary content of messages residents sent (images), served by GET /v2/bot/message/{id}/content."""

    items: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)

    def put(self, tenant: str, message_id: str, data: bytes, content_type: str) -> None:
        self.items[(tenant, message_id)] = (data, content_type)

    def get(self, tenant: str, message_id: str) -> tuple[bytes, str] | None:
        return self.items.get((tenant, message_id))


class EmulatorState:
    """Everything the emulator remembers, built from its options."""

    def __init__(self, options) -> None:
        self.options = options
        clock = lambda: options.clock()  # noqa: E731 - follow a clock swapped at run time
        self.clock = clock
        self.hub = Hub()
        self.ledger = Ledger(self.hub)
        self.reply_tokens = ReplyTokens(clock, lambda: options.reply_token_ttl_seconds)
        self.retry_keys = RetryKeys(clock, lambda: options.retry_key_ttl_seconds)
        self.rate_limiter = RateLimiter(clock, lambda: options.rate_limits)
        self.quota = Quota(clock, lambda: options.monthly_quota)
        self.faults = Faults(options.seed)
        self.users = Users()
        self.contents = Contents()
        self.events: dict[str, tuple[str, dict[str, Any]]] = {}  # webhookEventId -> (tenant, event)
        self.narrowcasts: dict[str, dict[str, Any]] = {}  # request id -> progress
        self.read_marks: list[dict[str, Any]] = []
        self.mark_as_read_tokens: dict[str, tuple[str, str]] = {}

    def reset(self) -> None:
        self.ledger.reset()
        self.users.reset()
        self.rate_limiter.reset()
        self.events.clear()
        self.narrowcasts.clear()
        self.read_marks.clear()
        self.mark_as_read_tokens.clear()
        self.contents.items.clear()
        self.faults.reseed(self.options.seed)
        self.quota = Quota(self.clock, lambda: self.options.monthly_quota)
        self.retry_keys = RetryKeys(self.clock, lambda: self.options.retry_key_ttl_seconds)
        self.reply_tokens = ReplyTokens(self.clock, lambda: self.options.reply_token_ttl_seconds)
