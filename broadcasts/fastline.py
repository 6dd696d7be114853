"""``FastMulticastLinePort``: ``SdkLinePort`` whose multicast skips line-bot-sdk's model layer.

Why: line-bot-sdk 3.x builds a ``MulticastRequest`` with pydantic v1 (``pydantic.v1``) and serializes it back item by
item — for 500 ids that is ~200,000 validator calls, about half of a delivery worker's CPU per batch (cProfile, 200k
recipients through ``bench/fanout.py``'s bare LINE stand-in). A fan-out worker on 2 cores then cannot keep LINE's
200 multicast/s. The wire request is tiny and fixed (POST ``/v2/bot/message/multicast``, bearer token,
``X-Line-Retry-Key``, JSON ``{"to": [...], "messages": [...]}``), so this port writes it with ``json.dumps`` on the
SDK client's own aiohttp session (same host, token, connection pool). Push, quota and everything else stay on the SDK.

Outcomes are the same as ``SdkLinePort``'s: HTTP status + LINE's ``message`` + ``Retry-After``; 0 for no answer.
The messages are LINE message objects exactly as the engine stores them (the composer and alerts build them as dicts
that line-bot-sdk's ``Message.from_dict`` accepts; LINE validates them, a 400 is recorded as a failure with reason).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiohttp

from broadcasts.line import SdkLinePort, SendOutcome, _error_message, _retry_after

MULTICAST_PATH = "/v2/bot/message/multicast"


class FastMulticastLinePort(SdkLinePort):
    async def multicast(self, tenant: str, to: Sequence[str], messages: list[dict], retry_key: str) -> SendOutcome:
        self._api(tenant)  # builds the tenant's SDK client (token check, session) on first use
        client = self._clients[tenant]
        config = client.configuration  # type: ignore[attr-defined]
        session: aiohttp.ClientSession = client.rest_client.pool_manager  # type: ignore[attr-defined]
        body = json.dumps({"to": list(to), "messages": messages}, ensure_ascii=False, separators=(",", ":"))
        headers = {
            "Authorization": f"Bearer {config.access_token}",
            "Content-Type": "application/json",
            "X-Line-Retry-Key": retry_key,
        }
        try:
            async with session.post(config.host + MULTICAST_PATH, data=body.encode(), headers=headers,
                                    timeout=self._timeout) as resp:
                raw = await resp.read()
                if 200 <= resp.status < 300:
                    return SendOutcome(resp.status)
                return SendOutcome(resp.status, _error_message(raw), _retry_after(resp.headers))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return SendOutcome(0, type(exc).__name__)
