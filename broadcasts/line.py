"""The slice of LINE's Messaging API the delivery engine needs, as a port.

The engine never sees HTTP or the SDK: it gets a ``SendOutcome`` (status + LINE's message) and decides itself what is
retryable. ``SdkLinePort`` talks to LINE (or the emulator) through line-bot-sdk's ``AsyncMessagingApi``;
``FakeLinePort`` records requests and answers from a queue, honouring ``X-Line-Retry-Key`` like LINE does, so unit
tests can judge "exactly once" from its ledger.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp


@dataclass(frozen=True)
class SendOutcome:
    status: int  # HTTP status; 0 = no answer (timeout, connection error)
    message: str = ""  # LINE's error message, e.g. "You have reached your monthly limit."
    retry_after: float | None = None  # seconds, from a Retry-After header

    @property
    def accepted(self) -> bool:
        """2xx, or 409: LINE already accepted a request with this retry key."""
        return 200 <= self.status < 300 or self.status == 409

    @property
    def monthly_limit(self) -> bool:
        return self.status == 429 and "monthly limit" in self.message.lower()

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class QuotaReading:
    limit: int | None  # None = no target limit set ("type": "none")
    used: int  # totalUsage this month


class LinePort(Protocol):
    async def multicast(self, tenant: str, to: Sequence[str], messages: list[dict], retry_key: str) -> SendOutcome: ...
    async def push(self, tenant: str, to: str, messages: list[dict], retry_key: str) -> SendOutcome: ...
    async def quota(self, tenant: str) -> QuotaReading: ...


def _error_message(body: object) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            data = json.loads(body)
        except ValueError:
            return body[:200]
        if isinstance(data, dict):
            return str(data.get("message", ""))[:200]
    return ""


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class SdkLinePort:
    # The line-bot-sdk import costs seconds and tens of MB: it is loaded when this port first sends, so that the
    # processes that only import the delivery engine (FastMulticastLinePort, CLI tools, the mock feed) never pay it.
    """LINE through ``linebot.v3.messaging.AsyncMessagingApi``; one API client per tenant channel.

    ``host`` None means LINE itself; tests and the emulator pass ``http://127.0.0.1:PORT``.
    """

    def __init__(
        self,
        tokens: Mapping[str, str],
        host: str | None = None,
        *,
        timeout_seconds: float = 10.0,
        max_connections: int = 64,
    ) -> None:
        self._tokens = dict(tokens)
        self._host = host
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._max_connections = max_connections
        self._clients: dict[str, object] = {}
        self._apis: dict[str, object] = {}

    def _api(self, tenant: str):
        api = self._apis.get(tenant)
        if api is None:
            from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration  # noqa: PLC0415 - SDK loaded on first send (see below)

            if tenant not in self._tokens:
                raise KeyError(f"no LINE channel token for tenant {tenant!r}")
            config = Configuration(access_token=self._tokens[tenant], **({"host": self._host} if self._host else {}))
            config.connection_pool_maxsize = self._max_connections
            client = AsyncApiClient(config)
            self._clients[tenant] = client
            api = self._apis[tenant] = AsyncMessagingApi(client)
        return api

    def warm(self, tenant: str) -> None:
        """Build the tenant's API client now rather than on the first send."""
        self._api(tenant)

    async def _call(self, coro_factory) -> SendOutcome:
        from linebot.v3.messaging.exceptions import ApiException  # noqa: PLC0415 - SDK loaded on first send (see below)

        try:
            await coro_factory()
        except ApiException as exc:
            return SendOutcome(int(exc.status or 0), _error_message(exc.body), _retry_after(exc.headers))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return SendOutcome(0, type(exc).__name__)
        return SendOutcome(200)

    async def multicast(self, tenant: str, to: Sequence[str], messages: list[dict], retry_key: str) -> SendOutcome:
        from linebot.v3.messaging import MulticastRequest  # noqa: PLC0415 - SDK loaded on first send (see below)

        request = MulticastRequest.from_dict({"to": list(to), "messages": messages})
        api = self._api(tenant)
        return await self._call(lambda: api.multicast(request, x_line_retry_key=retry_key, _request_timeout=self._timeout))

    async def push(self, tenant: str, to: str, messages: list[dict], retry_key: str) -> SendOutcome:
        from linebot.v3.messaging import PushMessageRequest  # noqa: PLC0415 - SDK loaded on first send (see below)

        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        api = self._api(tenant)
        return await self._call(lambda: api.push_message(request, x_line_retry_key=retry_key, _request_timeout=self._timeout))

    async def quota(self, tenant: str) -> QuotaReading:
        api = self._api(tenant)
        quota = await api.get_message_quota(_request_timeout=self._timeout)
        consumption = await api.get_message_quota_consumption(_request_timeout=self._timeout)
        limit = quota.value if str(getattr(quota.type, "value", quota.type)) == "limited" else None
        return QuotaReading(limit=limit, used=int(consumption.total_usage))

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        self._apis.clear()


@dataclass
class SentRequest:
    tenant: str
    endpoint: str  # "multicast" | "push"
    to: tuple[str, ...]
    messages: list[dict]
    retry_key: str
    status: int


@dataclass
class FakeLinePort:
    """Records every request and answers from ``responses`` (then 200), deduplicating retry keys like LINE.

    A queued response is a ``SendOutcome``, or ``"hang"`` (never answers — a worker stuck mid-request), or
    ``"deliver_then_500"`` (LINE delivered but the client saw an error). ``delivered`` counts per (tenant, user) how
    many times a user actually received a message: the judge of exactly-once.
    """

    responses: deque = field(default_factory=deque)
    quota_reading: QuotaReading = field(default_factory=lambda: QuotaReading(limit=None, used=0))
    requests: list[SentRequest] = field(default_factory=list)
    delivered: Counter = field(default_factory=Counter)
    accepted_keys: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)  # push to these answers 403
    latency: float = 0.0
    quota_reads: int = 0

    def queue(self, *outcomes) -> None:
        self.responses.extend(outcomes)

    async def _send(self, tenant: str, endpoint: str, to: tuple[str, ...], messages: list[dict], key: str) -> SendOutcome:
        if self.latency:
            await asyncio.sleep(self.latency)
        planned = self.responses.popleft() if self.responses else None
        if key in self.accepted_keys:
            outcome = SendOutcome(409, "The retry key is already accepted")
        elif planned == "hang":
            self._deliver(tenant, to, key)
            self.requests.append(SentRequest(tenant, endpoint, to, messages, key, -1))
            await asyncio.Event().wait()
        elif planned == "deliver_then_500":
            self._deliver(tenant, to, key)
            outcome = SendOutcome(500, "Internal error")
        elif isinstance(planned, SendOutcome):
            outcome = planned
            if outcome.accepted:
                self._deliver(tenant, to, key)
        elif endpoint == "push" and to[0] in self.blocked:
            outcome = SendOutcome(403, "The user blocked the account")
        else:
            outcome = SendOutcome(200)
            self._deliver(tenant, to, key)
        self.requests.append(SentRequest(tenant, endpoint, to, messages, key, outcome.status))
        return outcome

    def _deliver(self, tenant: str, to: tuple[str, ...], key: str) -> None:
        self.accepted_keys.add(key)
        for user in to:
            self.delivered[(tenant, user)] += 1

    async def multicast(self, tenant: str, to: Sequence[str], messages: list[dict], retry_key: str) -> SendOutcome:
        return await self._send(tenant, "multicast", tuple(to), messages, retry_key)

    async def push(self, tenant: str, to: str, messages: list[dict], retry_key: str) -> SendOutcome:
        return await self._send(tenant, "push", (to,), messages, retry_key)

    async def quota(self, tenant: str) -> QuotaReading:
        self.quota_reads += 1
        return self.quota_reading
