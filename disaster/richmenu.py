"""The Rich Menu API as this room uses it: a port, the line-bot-sdk adapter and a recording fake.

Calls per operation (what ``bench/shelters.py`` counts): set the default menu = 1 call whatever the number of
friends; residents linked to a language menu are moved with one batch-control call (``POST /v2/bot/richmenu/batch``,
one ``link`` operation per language; LINE moves every linked user server-side. The endpoint has a low per-hour
rate limit in LINE's table, so a switch spends one call and a switch back another).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    CreateRichMenuAliasRequest,
    RichMenuBatchLinkOperation,
    RichMenuBatchRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)


class RichMenuError(Exception):
    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(f"LINE rich menu API {status}: {message}")
        self.status = status


class RichMenuApi(Protocol):
    async def create(self, tenant: str, body: dict[str, Any]) -> str: ...
    async def upload_image(self, tenant: str, rich_menu_id: str, image: bytes, content_type: str) -> None: ...
    async def set_default(self, tenant: str, rich_menu_id: str) -> None: ...
    async def set_alias(self, tenant: str, alias_id: str, rich_menu_id: str) -> None: ...
    async def link(self, tenant: str, user_id: str, rich_menu_id: str) -> None: ...
    async def unlink(self, tenant: str, user_id: str) -> None: ...
    async def replace_linked(self, tenant: str, moves: Mapping[str, str]) -> None:
        """Every user linked to a key's menu is linked to the value's menu instead (one batch call)."""
        ...

    async def delete(self, tenant: str, rich_menu_id: str) -> None: ...
    async def aclose(self) -> None: ...


@dataclass
class RecordingRichMenuApi:
    """Fake for unit tests: records every call and keeps LINE's view (default menu, per-user links)."""

    calls: list[tuple[str, str, tuple]] = field(default_factory=list)
    default: dict[str, str] = field(default_factory=dict)
    links: dict[tuple[str, str], str] = field(default_factory=dict)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)  # method names that raise (fault tests)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _call(self, name: str, tenant: str, *args: Any) -> None:
        self.calls.append((name, tenant, args))
        if name in self.fail:
            raise RichMenuError(500, f"{name} failed (fake)")

    async def create(self, tenant: str, body: dict[str, Any]) -> str:
        self._call("create", tenant, body["name"])
        rid = f"richmenu-{next(self._ids):032x}"
        self.menus[rid] = body
        return rid

    async def upload_image(self, tenant: str, rich_menu_id: str, image: bytes, content_type: str) -> None:
        self._call("upload_image", tenant, rich_menu_id, len(image), content_type)

    async def set_default(self, tenant: str, rich_menu_id: str) -> None:
        self._call("set_default", tenant, rich_menu_id)
        self.default[tenant] = rich_menu_id

    async def set_alias(self, tenant: str, alias_id: str, rich_menu_id: str) -> None:
        self._call("set_alias", tenant, alias_id, rich_menu_id)
        self.aliases[(tenant, alias_id)] = rich_menu_id

    async def link(self, tenant: str, user_id: str, rich_menu_id: str) -> None:
        self._call("link", tenant, user_id, rich_menu_id)
        self.links[(tenant, user_id)] = rich_menu_id

    async def unlink(self, tenant: str, user_id: str) -> None:
        self._call("unlink", tenant, user_id)
        self.links.pop((tenant, user_id), None)

    async def replace_linked(self, tenant: str, moves: Mapping[str, str]) -> None:
        self._call("replace_linked", tenant, dict(moves))
        for key, rid in list(self.links.items()):
            if key[0] == tenant and rid in moves:
                self.links[key] = moves[rid]

    async def delete(self, tenant: str, rich_menu_id: str) -> None:
        self._call("delete", tenant, rich_menu_id)
        self.menus.pop(rich_menu_id, None)
        for key in [k for k, v in self.links.items() if v == rich_menu_id]:
            del self.links[key]

    async def aclose(self) -> None:
        return None

    def shown(self, tenant: str, user_id: str) -> str | None:
        """The menu LINE shows this user: a per-user link wins over the default."""
        return self.links.get((tenant, user_id)) or self.default.get(tenant)


class SdkRichMenuApi:
    """line-bot-sdk's async clients, one per tenant channel; ``base_url`` None = LINE itself."""

    def __init__(self, tokens: Mapping[str, str], base_url: str | None = None) -> None:
        self._tokens = dict(tokens)
        self._base_url = base_url
        self._clients: dict[str, AsyncApiClient] = {}

    def _client(self, tenant: str) -> AsyncApiClient:
        if tenant not in self._clients:
            # host None = LINE's own hosts per operation (api.line.me, api-data.line.me for images); the emulator
            # serves both path sets on one host
            host = self._base_url.rstrip("/") if self._base_url else None
            self._clients[tenant] = AsyncApiClient(Configuration(host=host, access_token=self._tokens[tenant]))
        return self._clients[tenant]

    def _api(self, tenant: str) -> AsyncMessagingApi:
        return AsyncMessagingApi(self._client(tenant))

    def _blob(self, tenant: str) -> AsyncMessagingApiBlob:
        return AsyncMessagingApiBlob(self._client(tenant))

    async def create(self, tenant: str, body: dict[str, Any]) -> str:
        try:
            resp = await self._api(tenant).create_rich_menu(RichMenuRequest.from_dict(body))
        except ApiException as exc:
            raise RichMenuError(int(exc.status or 0), str(exc.body or "")[:200]) from exc
        return str(resp.rich_menu_id)

    async def upload_image(self, tenant: str, rich_menu_id: str, image: bytes, content_type: str) -> None:
        try:
            await self._blob(tenant).set_rich_menu_image(rich_menu_id, image, _headers={"Content-Type": content_type})
        except ApiException as exc:
            raise RichMenuError(int(exc.status or 0), str(exc.body or "")[:200]) from exc

    async def set_default(self, tenant: str, rich_menu_id: str) -> None:
        try:
            await self._api(tenant).set_default_rich_menu(rich_menu_id)
        except ApiException as exc:
            raise RichMenuError(int(exc.status or 0), str(exc.body or "")[:200]) from exc

    async def set_alias(self, tenant: str, alias_id: str, rich_menu_id: str) -> None:
        api = self._api(tenant)
        try:
            await api.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id, rich_menu_id=rich_menu_id))
        except ApiException as exc:
            if exc.status != 400:
                raise RichMenuError(int(exc.status or 0), str(exc.body or "")[:200]) from exc
            try:  # 400 = the alias exists already: point it at the new menu
                await api.update_rich_menu_alias(alias_id, UpdateRichMenuAliasRequest(rich_menu_id=rich_menu_id))
            except ApiException as exc2:
                raise RichMenuError(int(exc2.status or 0), str(exc2.body or "")[:200]) from exc2

    async def link(self, tenant: str, user_id: str, rich_menu_id: str) -> None:
        try:
            await self._api(tenant).link_rich_menu_id_to_user(user_id, rich_menu_id)
        except ApiException as exc:
            raise RichMenuError(int(exc.status or 0), str(exc.body or "")[:200]) from exc

    async def unlink(self, tenant: str, user_id: str) -> None:
        try:
            await self._api(tenant).unlink_rich_menu_id_from_user(user_id)
        except ApiException as exc:
            if exc.status != 404:  # nothing linked: fine
                raise RichMenuError(int(exc.status or 0), str(exc.body or "")[:200]) from exc

    async def replace_linked(self, tenant: str, moves: Mapping[str, str]) -> None:
        if not moves:
            return
        ops = [RichMenuBatchLinkOperation(var_from=src, to=dst) for src, dst in moves.items()]
        try:
            await self._api(tenant).rich_menu_batch(RichMenuBatchRequest(operations=ops))
        except ApiException as exc:
            raise RichMenuError(int(exc.status or 0), str(exc.body or "")[:200]) from exc

    async def delete(self, tenant: str, rich_menu_id: str) -> None:
        try:
            await self._api(tenant).delete_rich_menu(rich_menu_id)
        except ApiException as exc:
            if exc.status != 404:  # already gone: fine
                raise RichMenuError(int(exc.status or 0), str(exc.body or "")[:200]) from exc

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
