"""Fixtures: the emulator on a real loopback port, a fake bot that records webhooks, a controllable clock, the SDK."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
)
from linebot.v3.webhook import WebhookParser
from pydantic import SecretStr

from bot.config import Tenant
from emulator import EmulatorOptions, create_app
from tests.helpers import ManualClock

OPENAPI = Path(__file__).resolve().parents[3] / "emulator" / "openapi"


def make_tenant(tenant_id: str, name: str, secret: str, token: str) -> Tenant:
    return Tenant(
        id=tenant_id, display_name=name, lg_code="271004", channel_secret=SecretStr(secret), channel_token=SecretStr(token)
    )


TENANTS = {
    "demo": make_tenant("demo", "デモ市", "demo-secret", "demo-token"),
    "suita": make_tenant("suita", "吹田市", "suita-secret", "suita-token"),
}


@dataclass
class FakeBot:
    """Records every webhook it receives after checking the signature with the SDK's WebhookParser."""

    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    parsed: list[Any] = field(default_factory=list)
    url: str = ""

    async def callback(self, request: web.Request) -> web.Response:
        tenant = TENANTS[request.match_info["tenant"]]
        raw = (await request.read()).decode()
        events = WebhookParser(tenant.channel_secret.get_secret_value()).parse(
            raw, request.headers.get("X-Line-Signature", "")
        )  # raises InvalidSignatureError -> 500, which the tests would see
        self.parsed.append(events)
        self.received.append({"tenant": tenant.id, "body": json.loads(raw), "raw": raw, "headers": dict(request.headers)})
        return web.Response(status=self.status, text="OK")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_795_000_000.0)


@pytest.fixture
async def fake_bot():
    bot = FakeBot()
    app = web.Application()
    app.router.add_post("/callback/{tenant}", bot.callback)
    server = TestServer(app)
    await server.start_server()
    bot.url = str(server.make_url("")).rstrip("/")
    yield bot
    await server.close()


@pytest.fixture
def options(clock) -> EmulatorOptions:
    return EmulatorOptions(clock=clock, seed=7)


@pytest.fixture
async def emu(fake_bot, options):
    client = TestClient(TestServer(create_app(TENANTS, fake_bot.url, options)))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
def emu_url(emu) -> str:
    return str(emu.make_url("")).rstrip("/")


@pytest.fixture
async def sdk_client(emu_url):
    async with AsyncApiClient(Configuration(host=emu_url, access_token="demo-token")) as client:
        yield client


@pytest.fixture
def line_api(sdk_client) -> AsyncMessagingApi:
    return AsyncMessagingApi(sdk_client)


@pytest.fixture
def line_blob(sdk_client) -> AsyncMessagingApiBlob:
    return AsyncMessagingApiBlob(sdk_client)


async def send(emu: TestClient, **req: Any) -> dict[str, Any]:
    """Play the resident: POST /_emulator/send and return its JSON (asserting the bot answered 200)."""
    req.setdefault("tenant", "demo")
    resp = await emu.post("/_emulator/send", json=req)
    data = await resp.json()
    assert resp.status == 200, data
    return data
