"""App factory for the LINE platform emulator + resident simulator (``civicbot emulator``).

One aiohttp application plays both sides of LINE: the Messaging API the bot calls (``/v2/bot/...``) and the LINE app
that sends the bot webhooks (``/_emulator/send`` and the simulator page). State is in memory: it is a test double.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import WSCloseCode, web

from bot.config import Tenant
from emulator.api import MessagingApi, line_errors
from emulator.control import HTTP_SESSION, SOCKETS, Control
from emulator.options import EmulatorOptions
from emulator.state import EmulatorState

STATE = web.AppKey("emulator_state", EmulatorState)


def create_app(tenants: dict[str, Tenant], bot_url: str, options: EmulatorOptions | None = None) -> web.Application:
    """Build the emulator for these tenants; webhooks go to ``{bot_url}/callback/{tenant}``."""
    options = options or EmulatorOptions()
    state = EmulatorState(options)
    tokens: dict[str, str] = {}
    for tenant in tenants.values():
        token = tenant.channel_token.get_secret_value()
        if token in tokens:
            raise ValueError(f"tenants {tokens[token]!r} and {tenant.id!r} share a channel token")
        if token:
            tokens[token] = tenant.id
    app = web.Application(client_max_size=24 * 1024 * 1024, middlewares=[line_errors])
    app[STATE] = state
    app[SOCKETS] = weakref.WeakSet()
    app.add_routes(MessagingApi(state, tokens).routes())
    app.add_routes(Control(state, tenants, bot_url).routes())
    app.cleanup_ctx.append(_http_session)
    app.on_shutdown.append(_close_sockets)
    return app


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[HTTP_SESSION] = session
        yield


async def _close_sockets(app: web.Application) -> None:
    for ws in list(app[SOCKETS]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator shutting down")


def run(tenants: dict[str, Tenant], bot_url: str, host: str, port: int, options: EmulatorOptions | None = None) -> None:
    """Serve the emulator until interrupted (blocking)."""
    app = create_app(tenants, bot_url, options)
    print(f"LINE emulator: API http://{host}:{port}/v2/bot/  simulator http://{host}:{port}/simulator", flush=True)
    web.run_app(app, host=host, port=port, print=None)
