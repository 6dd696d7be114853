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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from emulator.richmenu import RichMenuState

Clock = Callable[[], float]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(clock: Clock = time.time) -> str:
    """A ULID-shaped id (48-bit ms timestamp + 80 random bits, Crockford base32), as LINE's webhookEventId."""
    value = (int(clock() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


class _MessageIds:
    """LINE message ids are decimal strings of about 18 digits. The emulator counts up from a random start, so ids
    never repeat within a run and a batch of recipients can take a whole block at once."""

    def __init__(self, start: int) -> None:
        self._next = start

    def take(self, count: int) -> range:
        first = self._next
        self._next += count
        return range(first, first + count)


_message_ids = _MessageIds(random.SystemRandom().randrange(10**17, 5 * 10**17))


def new_message_id() -> str:
    return str(_message_ids.take(1)[0])


def new_message_ids(count: int) -> range:
    """``count`` consecutive message ids (as ints; ``str`` them for the API)."""
    return _message_ids.take(count)


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
    """One recipient's copy of a request's messages (a multicast to 3 users is 3 deliveries)."""

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


@dataclass(slots=True)
class Batch:
    """One request's messages delivered to its recipients: the ledger's unit, so a multicast to 500 users is one
    entry. ``message_ids`` holds ``len(messages)`` ids per recipient, in recipient order (a ``range`` for a batch,
    whose ids are consecutive)."""

    request_id: str
    tenant: str
    endpoint: str
    to: list[str]
    messages: list[dict[str, Any]]
    message_ids: Sequence[int] | Sequence[str]
    timestamp: int  # ms
    retry_key: str | None = None

    def delivery(self, n: int) -> Delivery:
        """The ``n``-th recipient's copy."""
        size = len(self.messages)
        ids = [str(i) for i in self.message_ids[n * size : (n + 1) * size]]
        return Delivery(
            self.request_id, self.tenant, self.endpoint, self.to[n], self.messages, ids, self.timestamp, self.retry_key
        )

    def positions(self, user_id: str) -> list[int]:
        """Where ``user_id`` appears among the recipients (list.index runs in C: cheap over a 500-id batch)."""
        out: list[int] = []
        try:
            while True:
                out.append(self.to.index(user_id, out[-1] + 1 if out else 0))
        except ValueError:
            return out


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

    def watched(self, tenant: str) -> set[str]:
        """Users of ``tenant`` whose chat has a live subscriber."""
        return {user for (t, user), queues in self._subscribers.items() if t == tenant and queues}

    def publish(self, tenant: str, user_id: str, frame: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get((tenant, user_id), ())):
            if not queue.full():
                queue.put_nowait(frame)


class Ledger:
    """Every message the emulator delivered, in order, kept as one ``Batch`` per request; ``deliveries`` expands
    them into one ``Delivery`` per recipient.

    ``duplicates`` is the number of deliveries whose (tenant, recipient, exact message content — the JSON of the
    messages array with sorted keys) had already been delivered before, whatever the endpoint or retry key. A retried
    push that LINE rejected with 409 is not a delivery, so a client using retry keys correctly causes no duplicates;
    a client that retries without a key (or with a fresh key each time) does. A bot that deliberately sends the same
    text twice also counts; tests should use distinct content when that matters.
    """

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._batches: list[Batch] = []
        self._deliveries = 0
        self._recipients: dict[str, set[str]] = defaultdict(set)  # tenant -> every user delivered to
        self._seen: dict[tuple[str, str], set[str]] = defaultdict(set)  # (tenant, content) -> users who got it
        self._duplicates = 0
        self.inbound: list[Inbound] = []

    def record_batch(self, batch: Batch, content: str | None = None) -> None:
        """Append one request's deliveries; ``content`` is ``content_key(messages)`` when the caller computed it."""
        seen = self._seen[(batch.tenant, content if content is not None else content_key(batch.messages))]
        before = len(seen)
        seen.update(batch.to)
        self._duplicates += len(batch.to) - (len(seen) - before)  # exact, also for a user listed twice in one batch
        self._recipients[batch.tenant].update(batch.to)
        self._deliveries += len(batch.to)
        self._batches.append(batch)
        watched = self._hub.watched(batch.tenant)  # a multicast to 500 mostly has no live page open
        for user_id in watched.intersection(batch.to) if watched else ():
            for n in batch.positions(user_id):
                self._hub.publish(batch.tenant, user_id, {"kind": "delivery", **batch.delivery(n).to_json()})

    def record_inbound(self, item: Inbound) -> None:
        self.inbound.append(item)
        self._hub.publish(item.tenant, item.user_id, {"kind": "inbound", "event": item.event, "display": item.display})

    def deliveries(self, *, to: str | None = None, tenant: str | None = None) -> list[Delivery]:
        """One ``Delivery`` per recipient, in delivery order."""
        batches = [b for b in self._batches if tenant is None or b.tenant == tenant]
        if to is None:
            return [b.delivery(n) for b in batches for n in range(len(b.to))]
        return [b.delivery(n) for b in batches for n in b.positions(to)]

    def stats(self) -> dict[str, int]:
        return {
            "deliveries": self._deliveries,
            "unique_recipients": sum(len(users) for users in self._recipients.values()),
            "duplicates": self._duplicates,
        }

    def reset(self) -> None:
        self._batches.clear()
        self._deliveries = 0
        self._recipients.clear()
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

    def reachable(self, tenant: str, user_ids: list[str]) -> list[str]:
        """``user_ids`` without those who blocked the account."""
        blocked = self.blocked.get(tenant)
        return [u for u in user_ids if u not in blocked] if blocked else user_ids

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
        self.richmenus = RichMenuState()

    def reset(self) -> None:
        self.ledger.reset()
        self.users.reset()
        self.rate_limiter.reset()
        self.events.clear()
        self.narrowcasts.clear()
        self.read_marks.clear()
        self.mark_as_read_tokens.clear()
        self.richmenus.reset()
        self.contents.items.clear()
        self.faults.reseed(self.options.seed)
        self.quota = Quota(self.clock, lambda: self.options.monthly_quota)
        self.retry_keys = RetryKeys(self.clock, lambda: self.options.retry_key_ttl_seconds)
        self.reply_tokens = ReplyTokens(self.clock, lambda: self.options.reply_token_ttl_seconds)
