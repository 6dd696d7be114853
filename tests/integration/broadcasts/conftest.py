"""The LINE emulator served on a local port, and line-bot-sdk pointed at it through ``SdkLinePort``."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.config import Tenant
from broadcasts.line import SdkLinePort
from emulator.app import STATE, create_app
from emulator.options import EmulatorOptions

TENANTS = {
    "t1": Tenant(id="t1", display_name="テスト市", lg_code="27205", channel_token=SecretStr("tok-t1"), channel_secret=SecretStr("s1")),
}


class Emulator:
    def __init__(self, app: web.Application, url: str) -> None:
        self.app = app
        self.url = url

    @property
    def state(self):
        return self.app[STATE]

    async def stats(self) -> dict:
        async with aiohttp.ClientSession() as s, s.get(f"{self.url}/_emulator/stats") as resp:
            return await resp.json()

    async def configure(self, **changes) -> None:
        async with aiohttp.ClientSession() as s, s.post(f"{self.url}/_emulator/config", json=changes) as resp:
            assert resp.status == 200, await resp.text()


@pytest.fixture
async def emulator():
    app = create_app(TENANTS, "http://127.0.0.1:9", EmulatorOptions(seed=42))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield Emulator(app, f"http://127.0.0.1:{port}")
    await runner.cleanup()


@pytest.fixture
async def sdk_line(emulator):
    port = SdkLinePort({t: v.channel_token.get_secret_value() for t, v in TENANTS.items()}, emulator.url, timeout_seconds=2.0)
    yield port
    await port.close()
