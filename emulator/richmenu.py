"""Rich menu endpoints of the emulated Messaging API (the ones civicbot uses, shapes as in messaging-api.yml).

Create / validate / get / list / delete a menu, upload and download its image (api-data paths, same host), the
default menu, per-user links (single and bulk), aliases, and batch control (replace every link from one menu to
another). LINE's rules checked here: sizes 2500×1686 or 2500×843 (width 800–2500, aspect ≥ 1.45), ≤ 20 areas within
the image, chatBarText ≤ 14 characters, PNG/JPEG ≤ 1 MB matching the menu's size, an image before a menu is used,
alias ids ``[a-z0-9_-]{1,32}``, bulk link ≤ 500 users, batch ≤ 1,000 operations. ``menu_for(tenant, user)`` is what
the resident simulator shows: the user's link, else the default.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from emulator.validation import Invalid, utf16_len

MAX_IMAGE = 1024 * 1024
MAX_AREAS = 20
MAX_BULK = 500
MAX_BATCH_OPS = 1000
ALIAS = re.compile(r"^[a-z0-9_-]{1,32}$")


@dataclass
class RichMenuState:
    menus: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # tenant -> id -> body (+ richMenuId)
    images: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    default: dict[str, str] = field(default_factory=dict)
    links: dict[tuple[str, str], str] = field(default_factory=dict)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)  # what the bot did, for tests and the bench

    def menu_for(self, tenant: str, user_id: str) -> dict[str, Any] | None:
        rid = self.links.get((tenant, user_id)) or self.default.get(tenant)
        return self.menus.get(tenant, {}).get(rid) if rid else None

    def reset(self) -> None:
        for part in (self.menus, self.images, self.default, self.links, self.aliases, self.batches):
            part.clear()
        self.calls.clear()


def check_menu(body: dict[str, Any]) -> list[dict[str, str]]:
    """LINE's rich menu rules the SDK's model does not enforce."""
    details: list[dict[str, str]] = []
    size = body.get("size") or {}
    w, h = size.get("width"), size.get("height")
    if not (isinstance(w, int) and isinstance(h, int) and 800 <= w <= 2500 and h >= 250 and w / h >= 1.45):
        details.append({"message": "must be 800-2500 wide, at least 250 high, width/height at least 1.45", "property": "size"})
        return details
    bar = body.get("chatBarText")
    if not isinstance(bar, str) or not 1 <= utf16_len(bar) <= 14:
        details.append({"message": "Length must be between 1 and 14", "property": "chatBarText"})
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= utf16_len(name) <= 300:
        details.append({"message": "Length must be between 1 and 300", "property": "name"})
    areas = body.get("areas")
    if not isinstance(areas, list) or len(areas) > MAX_AREAS:
        details.append({"message": f"Size must be between 0 and {MAX_AREAS}", "property": "areas"})
        return details
    for i, area in enumerate(areas):
        b = (area or {}).get("bounds") or {}
        x, y, bw, bh = (b.get(k) for k in ("x", "y", "width", "height"))
        if not all(isinstance(v, int) for v in (x, y, bw, bh)) or x < 0 or y < 0 or bw <= 0 or bh <= 0 or x + bw > w or y + bh > h:
            details.append({"message": "must be within the rich menu image", "property": f"areas[{i}].bounds"})
        action = (area or {}).get("action") or {}
        if action.get("type") == "postback" and utf16_len(str(action.get("data", ""))) > 300:
            details.append({"message": "Length must be between 0 and 300", "property": f"areas[{i}].action.data"})
    return details


Gate = Callable[[str, Callable[..., Awaitable[web.StreamResponse]]], Callable[[web.Request], Awaitable[web.StreamResponse]]]


class RichMenuEndpoints:
    """Handlers; ``gate`` and ``body`` are MessagingApi's (auth, faults, rate limits, JSON + SDK validation)."""

    def __init__(self, state: RichMenuState, gate: Gate, body: Callable[..., Awaitable[dict[str, Any]]], clock: Callable[[], float]) -> None:
        self.s = state
        self._gate = gate
        self._body = body
        self._clock = clock

    def routes(self) -> list[web.RouteDef]:
        g = self._gate
        return [
            web.post("/v2/bot/richmenu", g("richmenu", self.create)),
            web.post("/v2/bot/richmenu/validate", g("richmenu", self.validate_only)),
            web.get("/v2/bot/richmenu/list", g("richmenu", self.list_menus)),
            web.post("/v2/bot/richmenu/alias", g("richmenuAlias", self.create_alias)),
            web.get("/v2/bot/richmenu/alias/list", g("richmenuAlias", self.list_aliases)),
            web.post("/v2/bot/richmenu/alias/{alias}", g("richmenuAlias", self.update_alias)),
            web.get("/v2/bot/richmenu/alias/{alias}", g("richmenuAlias", self.get_alias)),
            web.delete("/v2/bot/richmenu/alias/{alias}", g("richmenuAlias", self.delete_alias)),
            web.post("/v2/bot/richmenu/bulk/link", g("richmenuBulkLink", self.bulk_link)),
            web.post("/v2/bot/richmenu/bulk/unlink", g("richmenuBulkUnlink", self.bulk_unlink)),
            web.post("/v2/bot/richmenu/batch", g("richmenuBatch", self.batch)),
            web.get("/v2/bot/richmenu/progress/batch", g("richmenuBatch", self.batch_progress)),
            web.post("/v2/bot/richmenu/{rid}/content", g("richmenuContent", self.upload)),
            web.get("/v2/bot/richmenu/{rid}/content", g("richmenuContent", self.download)),
            web.get("/v2/bot/richmenu/{rid}", g("richmenu", self.get_menu)),
            web.delete("/v2/bot/richmenu/{rid}", g("richmenu", self.delete_menu)),
            web.post("/v2/bot/user/all/richmenu/{rid}", g("richmenuDefault", self.set_default)),
            web.get("/v2/bot/user/all/richmenu", g("richmenuDefault", self.get_default)),
            web.delete("/v2/bot/user/all/richmenu", g("richmenuDefault", self.clear_default)),
            web.post("/v2/bot/user/{user}/richmenu/{rid}", g("richmenuLink", self.link)),
            web.get("/v2/bot/user/{user}/richmenu", g("richmenuLink", self.get_link)),
            web.delete("/v2/bot/user/{user}/richmenu", g("richmenuLink", self.unlink)),
        ]

    # -- helpers ----------------------------------------------------------------------------------------------------

    def _record(self, call: Any, what: str, **detail: Any) -> None:
        self.s.calls.append({"tenant": call.tenant, "call": what, "at": self._clock(), **detail})

    def _menu(self, tenant: str, rid: str) -> dict[str, Any] | None:
        return self.s.menus.get(tenant, {}).get(rid)

    @staticmethod
    def _not_found(message: str = "Not found") -> web.Response:
        return web.json_response({"message": message}, status=404)

    @staticmethod
    def _bad(bad: Invalid) -> web.Response:
        return web.json_response(bad.body(), status=400)

    async def _menu_body(self, request: web.Request, call: Any) -> dict[str, Any]:
        body = await self._body(request, call, "richmenu")
        details = check_menu(body)
        if details:
            raise Invalid(f"The request body has {len(details)} error(s)", details)
        return body

    # -- menus ------------------------------------------------------------------------------------------------------

    async def create(self, request: web.Request, call: Any) -> web.Response:
        try:
            body = await self._menu_body(request, call)
        except Invalid as bad:
            return self._bad(bad)
        rid = f"richmenu-{uuid.uuid4().hex}"
        self.s.menus.setdefault(call.tenant, {})[rid] = {"richMenuId": rid, **body}
        self._record(call, "create", richMenuId=rid, name=body.get("name"))
        return web.json_response({"richMenuId": rid})

    async def validate_only(self, request: web.Request, call: Any) -> web.Response:
        try:
            await self._menu_body(request, call)
        except Invalid as bad:
            return self._bad(bad)
        return web.json_response({})

    async def list_menus(self, request: web.Request, call: Any) -> web.Response:
        return web.json_response({"richmenus": list(self.s.menus.get(call.tenant, {}).values())})

    async def get_menu(self, request: web.Request, call: Any) -> web.Response:
        menu = self._menu(call.tenant, request.match_info["rid"])
        return web.json_response(menu) if menu else self._not_found("richmenu not found")

    async def delete_menu(self, request: web.Request, call: Any) -> web.Response:
        rid = request.match_info["rid"]
        if self.s.menus.get(call.tenant, {}).pop(rid, None) is None:
            return self._not_found("richmenu not found")
        self.s.images.pop((call.tenant, rid), None)
        if self.s.default.get(call.tenant) == rid:
            del self.s.default[call.tenant]
        for key in [k for k, v in self.s.links.items() if k[0] == call.tenant and v == rid]:
            del self.s.links[key]
        self._record(call, "delete", richMenuId=rid)
        return web.json_response({})

    async def upload(self, request: web.Request, call: Any) -> web.Response:
        rid = request.match_info["rid"]
        menu = self._menu(call.tenant, rid)
        if menu is None:
            return self._not_found("richmenu not found")
        if (call.tenant, rid) in self.s.images:
            return web.json_response({"message": "An image has already been uploaded to the richmenu"}, status=400)
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in ("image/png", "image/jpeg"):
            return web.json_response({"message": "Content-Type must be image/png or image/jpeg"}, status=415)
        data = await request.read()
        if len(data) > MAX_IMAGE:
            return web.json_response({"message": "The image exceeds 1 MB"}, status=413)
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt, size = img.format, img.size
        except (UnidentifiedImageError, OSError):
            return web.json_response({"message": "The image could not be read"}, status=400)
        if fmt not in ("PNG", "JPEG") or "image/" + fmt.lower() != ctype:
            return web.json_response({"message": "The image format does not match Content-Type"}, status=400)
        want = (menu["size"]["width"], menu["size"]["height"])
        if size != want:
            return web.json_response({"message": f"The image must be {want[0]}x{want[1]}, got {size[0]}x{size[1]}"}, status=400)
        self.s.images[(call.tenant, rid)] = (data, ctype)
        self._record(call, "upload", richMenuId=rid, bytes=len(data))
        return web.json_response({})

    async def download(self, request: web.Request, call: Any) -> web.Response:
        item = self.s.images.get((call.tenant, request.match_info["rid"]))
        if item is None:
            return self._not_found("image not found")
        return web.Response(body=item[0], content_type=item[1])

    def _usable(self, tenant: str, rid: str) -> web.Response | None:
        if self._menu(tenant, rid) is None:
            return self._not_found("richmenu not found")
        if (tenant, rid) not in self.s.images:
            return web.json_response({"message": "must upload richmenu image before applying it to user"}, status=400)
        return None

    # -- default and links ------------------------------------------------------------------------------------------

    async def set_default(self, request: web.Request, call: Any) -> web.Response:
        rid = request.match_info["rid"]
        refused = self._usable(call.tenant, rid)
        if refused is not None:
            return refused
        self.s.default[call.tenant] = rid
        self._record(call, "set_default", richMenuId=rid)
        return web.json_response({})

    async def get_default(self, request: web.Request, call: Any) -> web.Response:
        rid = self.s.default.get(call.tenant)
        return web.json_response({"richMenuId": rid}) if rid else self._not_found("no default richmenu")

    async def clear_default(self, request: web.Request, call: Any) -> web.Response:
        self.s.default.pop(call.tenant, None)
        self._record(call, "clear_default")
        return web.json_response({})

    async def link(self, request: web.Request, call: Any) -> web.Response:
        rid, user = request.match_info["rid"], request.match_info["user"]
        refused = self._usable(call.tenant, rid)
        if refused is not None:
            return refused
        self.s.links[(call.tenant, user)] = rid
        self._record(call, "link", richMenuId=rid, user=user)
        return web.json_response({})

    async def get_link(self, request: web.Request, call: Any) -> web.Response:
        rid = self.s.links.get((call.tenant, request.match_info["user"]))
        return web.json_response({"richMenuId": rid}) if rid else self._not_found("the user has no richmenu")

    async def unlink(self, request: web.Request, call: Any) -> web.Response:
        self.s.links.pop((call.tenant, request.match_info["user"]), None)
        self._record(call, "unlink", user=request.match_info["user"])
        return web.json_response({})

    async def bulk_link(self, request: web.Request, call: Any) -> web.Response:
        try:
            body = await self._body(request, call, "richmenuBulkLink")
        except Invalid as bad:
            return self._bad(bad)
        users = body.get("userIds") or []
        if not 1 <= len(users) <= MAX_BULK:
            return self._bad(Invalid("The request body has 1 error(s)", [{"message": f"Size must be between 1 and {MAX_BULK}", "property": "userIds"}]))
        refused = self._usable(call.tenant, body["richMenuId"])
        if refused is not None:
            return refused
        for user in users:
            self.s.links[(call.tenant, user)] = body["richMenuId"]
        self._record(call, "bulk_link", richMenuId=body["richMenuId"], users=len(users))
        return web.json_response({}, status=202)

    async def bulk_unlink(self, request: web.Request, call: Any) -> web.Response:
        try:
            body = await self._body(request, call, "richmenuBulkUnlink")
        except Invalid as bad:
            return self._bad(bad)
        for user in body.get("userIds") or []:
            self.s.links.pop((call.tenant, user), None)
        self._record(call, "bulk_unlink", users=len(body.get("userIds") or []))
        return web.json_response({}, status=202)

    async def batch(self, request: web.Request, call: Any) -> web.Response:
        try:
            body = await self._body(request, call, "richmenuBatch")
        except Invalid as bad:
            return self._bad(bad)
        ops = body.get("operations") or []
        if not 1 <= len(ops) <= MAX_BATCH_OPS:
            return self._bad(Invalid("The request body has 1 error(s)", [{"message": f"Size must be between 1 and {MAX_BATCH_OPS}", "property": "operations"}]))
        moved = 0
        for op in ops:
            if op.get("type") == "link":
                for key, rid in list(self.s.links.items()):
                    if key[0] == call.tenant and rid == op.get("from"):
                        self.s.links[key] = op["to"]
                        moved += 1
            elif op.get("type") == "unlink":
                for key, rid in list(self.s.links.items()):
                    if key[0] == call.tenant and rid == op.get("from"):
                        del self.s.links[key]
                        moved += 1
            elif op.get("type") == "unlinkAll":
                for key in [k for k in self.s.links if k[0] == call.tenant]:
                    del self.s.links[key]
                    moved += 1
        now = _iso(self._clock())
        self.s.batches[call.request_id] = {"phase": "succeeded", "acceptedTime": now, "completedTime": now}
        self._record(call, "batch", operations=len(ops), moved=moved)
        return web.json_response({}, status=202)

    async def batch_progress(self, request: web.Request, call: Any) -> web.Response:
        progress = self.s.batches.get(request.query.get("requestId", ""))
        return web.json_response(progress) if progress else self._not_found()

    # -- aliases ----------------------------------------------------------------------------------------------------

    async def create_alias(self, request: web.Request, call: Any) -> web.Response:
        try:
            body = await self._body(request, call, "richmenuAlias")
        except Invalid as bad:
            return self._bad(bad)
        alias, rid = body["richMenuAliasId"], body["richMenuId"]
        if not ALIAS.match(alias):
            return self._bad(Invalid("The request body has 1 error(s)", [{"message": "must match [a-z0-9_-]{1,32}", "property": "richMenuAliasId"}]))
        if (call.tenant, alias) in self.s.aliases:
            return web.json_response({"message": "conflict richmenu alias id"}, status=400)
        refused = self._usable(call.tenant, rid)
        if refused is not None:
            return web.json_response({"message": "richmenu not found or without image"}, status=400)
        self.s.aliases[(call.tenant, alias)] = rid
        self._record(call, "alias_create", alias=alias, richMenuId=rid)
        return web.json_response({})

    async def update_alias(self, request: web.Request, call: Any) -> web.Response:
        try:
            body = await self._body(request, call, "richmenuAliasUpdate")
        except Invalid as bad:
            return self._bad(bad)
        alias = request.match_info["alias"]
        if (call.tenant, alias) not in self.s.aliases:
            return self._not_found("richmenu alias not found")
        if self._usable(call.tenant, body["richMenuId"]) is not None:
            return web.json_response({"message": "richmenu not found or without image"}, status=400)
        self.s.aliases[(call.tenant, alias)] = body["richMenuId"]
        self._record(call, "alias_update", alias=alias, richMenuId=body["richMenuId"])
        return web.json_response({})

    async def get_alias(self, request: web.Request, call: Any) -> web.Response:
        alias = request.match_info["alias"]
        rid = self.s.aliases.get((call.tenant, alias))
        return web.json_response({"richMenuAliasId": alias, "richMenuId": rid}) if rid else self._not_found("richmenu alias not found")

    async def delete_alias(self, request: web.Request, call: Any) -> web.Response:
        if self.s.aliases.pop((call.tenant, request.match_info["alias"]), None) is None:
            return self._not_found("richmenu alias not found")
        return web.json_response({})

    async def list_aliases(self, request: web.Request, call: Any) -> web.Response:
        items = [{"richMenuAliasId": a, "richMenuId": r} for (t, a), r in self.s.aliases.items() if t == call.tenant]
        return web.json_response({"aliases": items})


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
