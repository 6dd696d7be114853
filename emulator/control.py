"""The emulator's own control surface (``/_emulator/*``): play the resident, inspect the ledger, misconfigure LINE.

Not part of LINE's API; tests and the resident simulator page use it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import weakref
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.config import Tenant
from emulator.state import EmulatorState, Inbound, new_message_id
from emulator.webhook import BadSend, build_event, callback_body, sign

STATIC = Path(__file__).resolve().parent / "static"
# 1×1 PNG used when a simulated image message carries no data
_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

HTTP_SESSION = web.AppKey("emulator_http_session", aiohttp.ClientSession)
SOCKETS = web.AppKey("emulator_sockets", weakref.WeakSet)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


class Control:
    """Handlers for /_emulator/*, the WebSocket feed and the simulator page."""

    def __init__(self, state: EmulatorState, tenants: dict[str, Tenant], bot_url: str) -> None:
        self.state = state
        self.tenants = tenants
        self.bot_url = bot_url.rstrip("/")

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.get("/simulator", self.page),
            web.get("/_emulator/tenants", self.list_tenants),
            web.post("/_emulator/send", self.send),
            web.post("/_emulator/block", self.block),
            web.get("/_emulator/messages", self.messages),
            web.get("/_emulator/conversation", self.conversation),
            web.get("/_emulator/stats", self.stats),
            web.post("/_emulator/reset", self.reset),
            web.get("/_emulator/config", self.get_config),
            web.post("/_emulator/config", self.set_config),
            web.get("/_emulator/ws", self.websocket),
            web.get("/_emulator/content/{tenant}/{message_id}", self.content),
            web.get("/_emulator/richmenu", self.richmenu),
            web.get("/_emulator/richmenu/calls", self.richmenu_calls),
            web.get("/_emulator/richmenu/{tenant}/{rid}/image", self.richmenu_image),
            web.static("/static", STATIC),
        ]

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def list_tenants(self, request: web.Request) -> web.Response:
        return web.json_response([{"id": t.id, "display_name": t.display_name} for t in self.tenants.values()])

    # -- playing the resident -----------------------------------------------------------------------------------------

    async def send(self, request: web.Request) -> web.Response:
        """Build, sign and POST one webhook event to ``{bot_url}/callback/{tenant}``; answer the bot's status."""
        req = await _json(request)
        if req is None:
            return _bad("body must be a JSON object")
        tenant = self.tenants.get(str(req.get("tenant", "")))
        if tenant is None:
            return _bad(f"unknown tenant {req.get('tenant')!r}", 404)
        if req.get("redeliver"):
            stored = self.state.events.get(str(req["redeliver"]))
            if stored is None or stored[0] != tenant.id:
                return _bad("no such webhookEventId for this tenant", 404)
            event = json.loads(json.dumps(stored[1]))
            event["deliveryContext"]["isRedelivery"] = True
            return await self._post(request.app, tenant, event, display=None)
        user_id = req.get("user_id")
        kind = req.get("type") or ("text" if "text" in req else None)
        users = self.state.users
        if isinstance(user_id, str) and kind not in ("follow", "unfollow") and users.is_blocked(tenant.id, user_id):
            return _bad("this user has blocked the account; send a follow event first", 409)
        can_reply = isinstance(user_id, str) and kind != "unfollow"  # LINE gives unfollow events no reply token
        reply_token = self.state.reply_tokens.issue(tenant.id, user_id) if can_reply else None
        read_token = None
        if kind in ("text", "image", "location") and isinstance(user_id, str):
            read_token = new_message_id()
            self.state.mark_as_read_tokens[read_token] = (tenant.id, user_id)
        try:
            event = build_event(req, clock=self.state.clock, reply_token=reply_token, mark_as_read_token=read_token)
        except BadSend as exc:
            return _bad(str(exc))
        if kind == "image":
            try:
                data = base64.b64decode(req["data_base64"], validate=True) if req.get("data_base64") else _PIXEL
            except (binascii.Error, TypeError):
                return _bad("data_base64 is not base64")
            self.state.contents.put(tenant.id, event["message"]["id"], data, str(req.get("content_type", "image/png")))
        if kind == "unfollow":
            users.block(tenant.id, user_id)
        else:
            users.follow(tenant.id, user_id)
        if req.get("display_name") or req.get("language"):
            profile = users.profiles.setdefault((tenant.id, user_id), {})
            if req.get("display_name"):
                profile["displayName"] = str(req["display_name"])
            if req.get("language"):
                profile["language"] = str(req["language"])
        self.state.events[event["webhookEventId"]] = (tenant.id, event)
        display = req.get("display_text") if isinstance(req.get("display_text"), str) else None
        return await self._post(request.app, tenant, event, display=display)

    async def block(self, request: web.Request) -> web.Response:
        """The resident blocks the account: pushes stop reaching them and the bot gets an unfollow event."""
        req = await _json(request)
        if req is None or not isinstance(req.get("user_id"), str):
            return _bad("tenant and user_id are required")
        tenant = self.tenants.get(str(req.get("tenant", "")))
        if tenant is None:
            return _bad(f"unknown tenant {req.get('tenant')!r}", 404)
        self.state.users.block(tenant.id, req["user_id"])
        event = build_event({"user_id": req["user_id"], "type": "unfollow"}, clock=self.state.clock, reply_token=None)
        self.state.events[event["webhookEventId"]] = (tenant.id, event)
        return await self._post(request.app, tenant, event)

    async def _post(
        self, app: web.Application, tenant: Tenant, event: dict[str, Any], display: str | None = None
    ) -> web.Response:
        body = callback_body(tenant.id, [event])
        user_id = event.get("source", {}).get("userId", "")
        now_ms = int(self.state.clock() * 1000)
        self.state.ledger.record_inbound(Inbound(tenant.id, user_id, event, None, now_ms, display))
        result: dict[str, Any] = {"webhookEventId": event["webhookEventId"], "replyToken": event.get("replyToken")}
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": sign(tenant.channel_secret.get_secret_value(), body),
            "User-Agent": "LineBotWebhook/2.0",
        }
        timeout = aiohttp.ClientTimeout(total=self.state.options.webhook_timeout_seconds)
        try:
            async with app[HTTP_SESSION].post(
                f"{self.bot_url}/callback/{tenant.id}", data=body, headers=headers, timeout=timeout
            ) as response:
                await response.read()
                result["status"] = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            result.update(status=None, error=f"bot unreachable: {type(exc).__name__}: {exc}")
            return web.json_response(result, status=502)
        return web.json_response(result)

    # -- inspection -----------------------------------------------------------------------------------------------------

    async def messages(self, request: web.Request) -> web.Response:
        deliveries = self.state.ledger.deliveries(to=request.query.get("to"), tenant=request.query.get("tenant"))
        return web.json_response([d.to_json() for d in deliveries])

    async def conversation(self, request: web.Request) -> web.Response:
        """What the simulator shows on load: the resident's events and the bot's deliveries, oldest first."""
        tenant, user = request.query.get("tenant", ""), request.query.get("user", "")
        frames: list[tuple[int, int, dict[str, Any]]] = []
        for n, item in enumerate(self.state.ledger.inbound):
            if item.tenant == tenant and item.user_id == user:
                frames.append((item.timestamp, n, {"kind": "inbound", "event": item.event, "display": item.display}))
        for n, d in enumerate(self.state.ledger.deliveries(to=user, tenant=tenant)):
            frames.append((d.timestamp, 10**9 + n, {"kind": "delivery", **d.to_json()}))
        frames.sort(key=lambda f: (f[0], f[1]))
        return web.json_response([f[2] for f in frames])

    async def content(self, request: web.Request) -> web.Response:
        """An image a resident sent, for the simulator to show (the bot uses the authenticated LINE path)."""
        item = self.state.contents.get(request.match_info["tenant"], request.match_info["message_id"])
        if item is None:
            return _bad("no such content", 404)
        return web.Response(body=item[0], content_type=item[1])

    async def richmenu(self, request: web.Request) -> web.Response:
        """The rich menu LINE would show this resident (their link, else the tenant's default), with its image URL."""
        tenant, user = request.query.get("tenant", ""), request.query.get("user", "")
        menu = self.state.richmenus.menu_for(tenant, user)
        if menu is None:
            return web.json_response({"menu": None})
        image = f"/_emulator/richmenu/{tenant}/{menu['richMenuId']}/image"
        return web.json_response({"menu": menu, "image": image}, headers={"Cache-Control": "no-store"})

    async def richmenu_image(self, request: web.Request) -> web.Response:
        item = self.state.richmenus.images.get((request.match_info["tenant"], request.match_info["rid"]))
        if item is None:
            return _bad("no such rich menu image", 404)
        return web.Response(body=item[0], content_type=item[1], headers={"Cache-Control": "max-age=3600"})

    async def richmenu_calls(self, request: web.Request) -> web.Response:
        tenant = request.query.get("tenant")
        return web.json_response([c for c in self.state.richmenus.calls if tenant is None or c["tenant"] == tenant])

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.ledger.stats())

    async def reset(self, request: web.Request) -> web.Response:
        self.state.reset()
        return web.json_response({"ok": True})

    async def get_config(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.options.public())

    async def set_config(self, request: web.Request) -> web.Response:
        req = await _json(request)
        if req is None:
            return _bad("body must be a JSON object")
        try:
            self.state.options.update(req)
        except ValueError as exc:
            return _bad(str(exc))
        if "seed" in req:
            self.state.faults.reseed(self.state.options.seed)
        if "rate_limits" in req:
            self.state.rate_limiter.reset()
        return web.json_response(self.state.options.public())

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Live feed for one chat: deliveries, loading animations, read marks and the resident's own events."""
        tenant, user = request.query.get("tenant", ""), request.query.get("user", "")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        request.app[SOCKETS].add(ws)
        queue = self.state.hub.subscribe(tenant, user)

        async def pump() -> None:
            try:
                while not ws.closed:
                    await ws.send_json(await queue.get())
            except (ConnectionError, RuntimeError):  # the page went away mid-send
                pass

        task = asyncio.create_task(pump())
        try:
            async for _ in ws:
                pass
        finally:
            task.cancel()
            self.state.hub.unsubscribe(tenant, user, queue)
        return ws


async def _json(request: web.Request) -> dict[str, Any] | None:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
