"""The Messaging API as the bot sees it (api.line.me and api-data.line.me paths on one host).

Every request goes through the same gate, in LINE's order: request id → auth (Bearer channel token) → injected
faults → rate limit → body validation → retry key → quota → delivery.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.richmenu import RichMenuEndpoints
from emulator.state import (
    Batch,
    EmulatorState,
    InvalidReplyToken,
    content_key,
    new_message_id,
    new_message_ids,
    new_request_id,
)
from emulator.validation import Invalid, validate

Handler = Callable[[web.Request, "Call"], Awaitable[web.StreamResponse]]

MSG_AUTH_MISSING = "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
MSG_AUTH_INVALID = (
    "Authentication failed due to the following reason: invalid token. "
    "Confirm that the access token in the authorization header is valid."
)
MSG_RATE = "Too many requests"
MSG_QUOTA = "You have reached your monthly limit."
MSG_REPLY_TOKEN = "Invalid reply token"
MSG_RETRY_KEY_USED = "The retry key is already accepted"
MSG_RETRY_KEY_BAD = "The value for the 'X-Line-Retry-Key' header is invalid"


@dataclass
class Call:
    """One authenticated API call."""

    tenant: str
    request_id: str
    endpoint: str


@web.middleware
async def line_errors(request: web.Request, handler) -> web.StreamResponse:
    """Unknown paths and methods under /v2/ answer in LINE's JSON error shape, with a request id."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not request.path.startswith("/v2/") or exc.status < 400:
            raise
        message = "Not found" if exc.status == 404 else exc.reason
        return error(exc.status, message, new_request_id())


def error(status: int, message: str, request_id: str, **extra: Any) -> web.Response:
    headers = {"x-line-request-id": request_id}
    headers.update(extra.pop("headers", {}))
    return web.json_response({"message": message, **extra}, status=status, headers=headers)


class MessagingApi:
    """Route handlers bound to the emulator state and the channel-token → tenant map."""

    def __init__(self, state: EmulatorState, tokens: dict[str, str]) -> None:
        self.state = state
        self.tokens = tokens  # channel access token -> tenant id

    def routes(self) -> list[web.RouteDef]:
        g = self._gate
        return [
            web.post("/v2/bot/message/reply", g("reply", self.reply)),
            web.post("/v2/bot/message/push", g("push", self.push)),
            web.post("/v2/bot/message/multicast", g("multicast", self.multicast)),
            web.post("/v2/bot/message/narrowcast", g("narrowcast", self.narrowcast)),
            web.post("/v2/bot/message/broadcast", g("broadcast", self.broadcast)),
            web.get("/v2/bot/message/progress/narrowcast", g("progress", self.narrowcast_progress)),
            web.get("/v2/bot/profile/{user_id}", g("profile", self.profile)),
            web.get("/v2/bot/message/quota", g("quota", self.quota)),
            web.get("/v2/bot/message/quota/consumption", g("quota", self.consumption)),
            web.get("/v2/bot/message/{message_id}/content", g("content", self.content)),
            web.post("/v2/bot/chat/loading/start", g("loading", self.loading)),
            web.post("/v2/bot/message/markAsRead", g("markAsRead", self.mark_as_read)),
            web.post("/v2/bot/chat/markAsRead", g("markAsRead", self.mark_as_read_by_token)),
            *RichMenuEndpoints(self.state.richmenus, self._gate, self._body, self.state.clock).routes(),
        ]

    # -- the gate -------------------------------------------------------------------------------------------------

    def _gate(self, endpoint: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def gated(request: web.Request) -> web.StreamResponse:
            request_id = new_request_id()
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                return error(401, MSG_AUTH_MISSING, request_id)
            tenant = self.tokens.get(auth[len("Bearer ") :].strip())
            if tenant is None:
                return error(401, MSG_AUTH_INVALID, request_id)
            opts, faults = self.state.options, self.state.faults
            if faults.roll(opts.slow_rate) and opts.slow_ms > 0:
                await asyncio.sleep(opts.slow_ms / 1000)
            if faults.roll(opts.fault_rate):
                return error(500, "Internal server error (injected by the emulator)", request_id)
            if not self.state.rate_limiter.allow(tenant, endpoint):
                return error(429, MSG_RATE, request_id)
            response = await handler(request, Call(tenant, request_id, endpoint))
            if response.status < 300 and faults.roll(opts.fault_after_delivery_rate):
                return error(500, "Internal server error after delivery (injected by the emulator)", request_id)
            response.headers["x-line-request-id"] = request_id
            return response

        return gated

    async def _body(self, request: web.Request, call: Call, schema: str | None = None) -> dict[str, Any]:
        """The JSON body, validated as LINE would for ``schema`` (default: the endpoint's request model)."""
        raw = await request.read()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
            raise Invalid(f"The request body could not be parsed as JSON (line: {line}, column: {col})") from exc
        validate(schema or call.endpoint, body)
        return body

    def _retry_key(self, request: web.Request) -> str | None:
        key = request.headers.get("X-Line-Retry-Key")
        if key is None:
            return None
        try:
            uuid.UUID(key)
        except ValueError as exc:
            raise Invalid(MSG_RETRY_KEY_BAD) from exc
        return key

    # -- sending ----------------------------------------------------------------------------------------------------

    async def reply(self, request: web.Request, call: Call) -> web.Response:
        try:
            body = await self._body(request, call)
        except Invalid as bad:
            return web.json_response(bad.body(), status=400)
        try:
            user_id = self.state.reply_tokens.consume(call.tenant, body["replyToken"])
        except InvalidReplyToken:
            return web.json_response({"message": MSG_REPLY_TOKEN}, status=400)
        sent = self._deliver(call, [user_id], body["messages"], retry_key=None)
        return web.json_response({"sentMessages": sent})

    async def push(self, request: web.Request, call: Call) -> web.Response:
        return await self._push_like(request, call, lambda body: [body["to"]])

    async def multicast(self, request: web.Request, call: Call) -> web.Response:
        return await self._push_like(request, call, lambda body: list(dict.fromkeys(body["to"])))

    async def broadcast(self, request: web.Request, call: Call) -> web.Response:
        return await self._push_like(request, call, lambda body: self.state.users.audience(call.tenant))

    async def narrowcast(self, request: web.Request, call: Call) -> web.Response:
        """Narrowcast reaches every follower: the emulator ignores recipient/filter/limit (documented)."""
        return await self._push_like(request, call, lambda body: self.state.users.audience(call.tenant), status=202)

    async def _push_like(
        self, request: web.Request, call: Call, recipients: Callable[[dict], list[str]], status: int = 200
    ) -> web.Response:
        try:
            body = await self._body(request, call)
            retry_key = self._retry_key(request)
        except Invalid as bad:
            return web.json_response(bad.body(), status=400)
        if retry_key is not None:
            accepted = self.state.retry_keys.get(call.tenant, retry_key)
            if accepted is not None:
                extra: dict[str, Any] = {"headers": {"x-line-accepted-request-id": accepted.request_id}}
                if accepted.sent_messages:
                    extra["sentMessages"] = accepted.sent_messages
                return error(409, MSG_RETRY_KEY_USED, call.request_id, **extra)
        reachable = self.state.users.reachable(call.tenant, recipients(body))
        if call.endpoint == "push" and not reachable and self.state.options.blocked_push_status != 200:
            return web.json_response({"message": "Failed to send messages"}, status=self.state.options.blocked_push_status)
        if self.state.quota.would_exceed(call.tenant, len(reachable)):
            return web.json_response({"message": MSG_QUOTA}, status=429)
        self.state.quota.consume(call.tenant, len(reachable))
        sent = self._deliver(call, reachable, body["messages"], retry_key=retry_key)
        if call.endpoint == "push" and not reachable:
            sent = [{"id": new_message_id()} for _ in body["messages"]]  # LINE answers as if sent
        if retry_key is not None:
            self.state.retry_keys.remember(call.tenant, retry_key, call.request_id, sent if call.endpoint == "push" else [])
        if call.endpoint == "narrowcast":
            now = _iso(self.state.clock())
            self.state.narrowcasts[call.request_id] = {
                "phase": "succeeded",
                "successCount": len(reachable),
                "failureCount": 0,
                "targetCount": len(reachable),
                "acceptedTime": now,
                "completedTime": now,
            }
        payload: dict[str, Any] = {"sentMessages": sent} if call.endpoint == "push" else {}
        return web.json_response(payload, status=status)

    def _deliver(self, call: Call, users: list[str], messages: list[dict], retry_key: str | None) -> list[dict]:
        """Record the request as one ledger batch (each user's copy has its own message ids); answer LINE's
        sentMessages (ids of the first recipient's copy)."""
        if not users:
            return []
        now_ms = int(self.state.clock() * 1000)
        ids = new_message_ids(len(users) * len(messages))
        batch = Batch(call.request_id, call.tenant, call.endpoint, users, messages, ids, now_ms, retry_key)
        self.state.ledger.record_batch(batch, content_key(messages))
        return [_sent(str(i), m) for i, m in zip(ids, messages)]

    # -- other endpoints --------------------------------------------------------------------------------------------

    async def narrowcast_progress(self, request: web.Request, call: Call) -> web.Response:
        request_id = request.query.get("requestId", "")
        progress = self.state.narrowcasts.get(request_id)
        if progress is None:
            return web.json_response({"message": "Not found"}, status=404)
        return web.json_response(progress)

    async def profile(self, request: web.Request, call: Call) -> web.Response:
        user_id = request.match_info["user_id"]
        if self.state.users.is_blocked(call.tenant, user_id):
            return web.json_response({"message": "Not found"}, status=404)
        profile = self.state.users.profiles.get((call.tenant, user_id), {})
        return web.json_response(
            {
                "displayName": profile.get("displayName", f"住民{user_id[-4:]}"),
                "userId": user_id,
                "language": profile.get("language", "ja"),
            }
        )

    async def quota(self, request: web.Request, call: Call) -> web.Response:
        limit = self.state.quota.limit()
        return web.json_response({"type": "none"} if limit is None else {"type": "limited", "value": limit})

    async def consumption(self, request: web.Request, call: Call) -> web.Response:
        return web.json_response({"totalUsage": self.state.quota.used(call.tenant)})

    async def content(self, request: web.Request, call: Call) -> web.Response:
        item = self.state.contents.get(call.tenant, request.match_info["message_id"])
        if item is None:
            return web.json_response({"message": "Not found"}, status=404)
        data, content_type = item
        return web.Response(body=data, content_type=content_type)

    async def loading(self, request: web.Request, call: Call) -> web.Response:
        try:
            body = await self._body(request, call)
        except Invalid as bad:
            return web.json_response(bad.body(), status=400)
        seconds = body.get("loadingSeconds", 20)
        self.state.hub.publish(call.tenant, body["chatId"], {"kind": "loading", "seconds": seconds})
        return web.json_response({}, status=202)

    async def mark_as_read(self, request: web.Request, call: Call) -> web.Response:
        try:
            body = await self._body(request, call)
        except Invalid as bad:
            return web.json_response(bad.body(), status=400)
        user_id = body["chat"]["userId"]
        self.state.read_marks.append({"tenant": call.tenant, "user_id": user_id, "at": self.state.clock()})
        self.state.hub.publish(call.tenant, user_id, {"kind": "read"})
        return web.json_response({})

    async def mark_as_read_by_token(self, request: web.Request, call: Call) -> web.Response:
        try:
            body = await self._body(request, call, schema="markAsReadByToken")
        except Invalid as bad:
            return web.json_response(bad.body(), status=400)
        owner = self.state.mark_as_read_tokens.get(body["markAsReadToken"])
        if owner is None or owner[0] != call.tenant:
            return web.json_response({"message": "Invalid markAsReadToken"}, status=400)
        self.state.read_marks.append({"tenant": call.tenant, "user_id": owner[1], "at": self.state.clock()})
        self.state.hub.publish(call.tenant, owner[1], {"kind": "read"})
        return web.json_response({})


def _sent(message_id: str, message: dict[str, Any]) -> dict[str, Any]:
    out = {"id": message_id}
    if message.get("type") in ("text", "textV2", "sticker", "image", "video", "template", "flex"):
        out["quoteToken"] = uuid.uuid4().hex
    return out


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
