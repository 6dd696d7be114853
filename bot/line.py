"""Outbound LINE Messaging API: a small port, the line-bot-sdk adapter, and a recording fake.

Messages travel as LINE API JSON dicts (what handlers return); the adapter validates them into the SDK's models.
The SDK raises a plain ``ApiException``; we translate it into ``LineApiError`` with the status so callers can branch
(409 on a repeated retry key = already accepted; 429 = rate limit or monthly quota; 403/404 on push = blocked).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    MarkMessagesAsReadRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)

from bot.config import Tenant

MAX_MESSAGES = 5


class LineApiError(Exception):
    def __init__(self, status: int, message: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(f"LINE API {status}: {message}")
        self.status = status
        self.message = message
        self.headers = headers or {}

    @property
    def invalid_reply_token(self) -> bool:
        return self.status == 400 and "reply token" in self.message.lower()

    @property
    def accepted_before(self) -> bool:  # 409 on a retry key LINE has seen
        return self.status == 409

    @property
    def blocked(self) -> bool:
        return self.status in (403, 404)


class LineGateway(Protocol):
    async def reply(self, tenant: str, reply_token: str, messages: list[dict]) -> None: ...
    async def push(self, tenant: str, user_id: str, messages: list[dict], retry_key: str) -> None: ...
    async def show_loading(self, tenant: str, user_id: str, seconds: int = 5) -> None: ...
    async def mark_as_read(self, tenant: str, user_id: str) -> None: ...
    async def profile(self, tenant: str, user_id: str) -> dict: ...


def new_retry_key() -> str:
    return str(uuid.uuid4())


def _error(exc: ApiException) -> LineApiError:
    message = ""
    try:
        message = json.loads(exc.body or "{}").get("message", "")
    except (TypeError, ValueError):
        message = str(exc.body or "")[:200]
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    return LineApiError(int(exc.status or 0), message, headers)


class SdkLineGateway:
    """line-bot-sdk's async client, one per tenant channel; ``base_url`` None = LINE itself."""

    def __init__(self, tenants: dict[str, Tenant], base_url: str | None = None) -> None:
        self._tenants = tenants
        self._base_url = base_url
        self._clients: dict[str, AsyncApiClient] = {}
        self._apis: dict[str, AsyncMessagingApi] = {}

    def _api(self, tenant: str) -> AsyncMessagingApi:
        if tenant not in self._apis:
            conf = Configuration(access_token=self._tenants[tenant].channel_token.get_secret_value())
            if self._base_url:
                conf = Configuration(host=self._base_url.rstrip("/"), access_token=conf.access_token)
            client = AsyncApiClient(conf)
            self._clients[tenant] = client
            self._apis[tenant] = AsyncMessagingApi(client)
        return self._apis[tenant]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        self._apis.clear()

    async def reply(self, tenant: str, reply_token: str, messages: list[dict]) -> None:
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages[:MAX_MESSAGES]})
        try:
            await self._api(tenant).reply_message(request)
        except ApiException as exc:
            raise _error(exc) from None

    async def push(self, tenant: str, user_id: str, messages: list[dict], retry_key: str) -> None:
        request = PushMessageRequest.from_dict({"to": user_id, "messages": messages[:MAX_MESSAGES]})
        try:
            await self._api(tenant).push_message(request, x_line_retry_key=retry_key)
        except ApiException as exc:
            raise _error(exc) from None

    async def show_loading(self, tenant: str, user_id: str, seconds: int = 5) -> None:
        seconds = max(5, min(60, seconds - seconds % 5))
        try:
            await self._api(tenant).show_loading_animation(ShowLoadingAnimationRequest(chatId=user_id, loadingSeconds=seconds))
        except ApiException as exc:
            raise _error(exc) from None

    async def mark_as_read(self, tenant: str, user_id: str) -> None:
        try:
            await self._api(tenant).mark_messages_as_read(MarkMessagesAsReadRequest.from_dict({"chat": {"userId": user_id}}))
        except ApiException as exc:
            raise _error(exc) from None

    async def profile(self, tenant: str, user_id: str) -> dict:
        try:
            prof = await self._api(tenant).get_profile(user_id)
        except ApiException as exc:
            raise _error(exc) from None
        return {"displayName": prof.display_name, "language": getattr(prof, "language", None)}


@dataclass
class RecordingLineGateway:
    """Fake: records every call; ``fail`` maps a method name to a queue of errors to raise first."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: dict[str, list[LineApiError]] = field(default_factory=dict)

    def _maybe_fail(self, method: str) -> None:
        queue = self.fail.get(method)
        if queue:
            raise queue.pop(0)

    async def reply(self, tenant: str, reply_token: str, messages: list[dict]) -> None:
        self._maybe_fail("reply")
        self.calls.append(("reply", {"tenant": tenant, "reply_token": reply_token, "messages": messages}))

    async def push(self, tenant: str, user_id: str, messages: list[dict], retry_key: str) -> None:
        self._maybe_fail("push")
        self.calls.append(("push", {"tenant": tenant, "to": user_id, "messages": messages, "retry_key": retry_key}))

    async def show_loading(self, tenant: str, user_id: str, seconds: int = 5) -> None:
        self._maybe_fail("show_loading")
        self.calls.append(("show_loading", {"tenant": tenant, "to": user_id, "seconds": seconds}))

    async def mark_as_read(self, tenant: str, user_id: str) -> None:
        self.calls.append(("mark_as_read", {"tenant": tenant, "to": user_id}))

    async def profile(self, tenant: str, user_id: str) -> dict:
        return {"displayName": "テスト 太郎", "language": "ja"}

    def sent(self, method: str | None = None) -> list[dict]:
        return [c for m, c in self.calls if method is None or m == method]
