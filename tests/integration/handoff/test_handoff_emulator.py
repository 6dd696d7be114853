"""Counsellor replies through the lead's SdkLineGateway (used directly as the LinePort) against the LINE emulator:
the resident receives them once, even when LINE fails after delivering and the console retries."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

import handoff
from bot.chat import Incoming
from bot.line import SdkLineGateway
from emulator import EmulatorOptions, create_app
from handoff import HandoffDeps, LinePushError, RedisHandoffBus, RedisHandoffStore
from handoff.testing import demo_tenants


def _tenants():
    return {
        tid: t.model_copy(update={"channel_token": SecretStr(f"{tid}-token"), "channel_secret": SecretStr(f"{tid}-secret")})
        for tid, t in demo_tenants().items()
    }


async def test_replies_reach_the_resident_exactly_once(redis):
    tenants = _tenants()
    server = TestServer(create_app(tenants, bot_url="http://127.0.0.1:9", options=EmulatorOptions(seed=1)))
    await server.start_server()
    gateway = SdkLineGateway(tenants, base_url=str(server.make_url("")).rstrip("/"))
    try:
        deps = HandoffDeps(store=RedisHandoffStore(redis), bus=RedisHandoffBus(redis), line=gateway)
        demo = tenants["demo"]
        cid = (await handoff.request_handoff(deps, demo, "U1", risk="crisis")).conversation_id
        await handoff.take_over(deps, "demo", cid, "alice")
        await handoff.on_resident_message(
            deps, demo, "U1", Incoming(tenant=demo, user_id="U1", kind="text", webhook_event_id="e", timestamp_ms=0, text="聞いてください")
        )
        assert await handoff.mark_read(deps, "demo", cid, "alice")  # the emulator validates markAsRead and loading bodies
        assert await handoff.typing(deps, "demo", cid, "alice")

        async with aiohttp.ClientSession() as http:
            base = str(server.make_url("")).rstrip("/")
            await http.post(f"{base}/_emulator/config", json={"fault_after_delivery_rate": 1.0})
            with pytest.raises(LinePushError):  # delivered, but the answer was a 500
                await handoff.send_message(deps, "demo", cid, "alice", "お話を聞かせてください", "k1")
            await http.post(f"{base}/_emulator/config", json={"fault_after_delivery_rate": 0.0})
            await handoff.send_message(deps, "demo", cid, "alice", "お話を聞かせてください", "k1")  # the console's retry
            ledger = await (await http.get(f"{base}/_emulator/messages", params={"to": "U1", "tenant": "demo"})).json()
            stats = await (await http.get(f"{base}/_emulator/stats")).json()
        entries = ledger if isinstance(ledger, list) else ledger.get("messages", ledger.get("entries", []))
        texts = [m["text"] for e in entries for m in e["messages"]]
        assert texts.count("お話を聞かせてください") == 1 and "相談員につながりました。ここからは相談員がお返事します。" in texts
        assert stats["duplicates"] == 0
        assert [m.text for m in await deps.store.transcript("demo", cid) if m.sender == "counsellor"] == ["お話を聞かせてください"]
    finally:
        await gateway.aclose()
        await server.close()
