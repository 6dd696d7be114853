"""Webhook intake against the embedded Redis: status codes for hostile input, dedup, durable queueing."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import webhook
from bot.inbox import RedisInbox
from tests.helpers import body, sign, tenant, text_event

SECRET = "demo-secret"


@pytest.fixture
async def client(redis):
    tenants = {"demo": tenant()}
    inbox = RedisInbox(redis, shards=4)
    app = web.Application(client_max_size=1024 * 1024)
    app[webhook.TENANTS] = tenants
    app[webhook.INBOX] = inbox
    app[webhook.PARSERS] = webhook.make_parsers(tenants)
    app.add_routes(webhook.routes())
    async with TestClient(TestServer(app)) as c:
        c.inbox = inbox
        yield c


async def post(client, raw: bytes, signature: str | None = "auto", tenant_id: str = "demo"):
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Line-Signature"] = sign(raw, SECRET)
    elif signature is not None:
        headers["X-Line-Signature"] = signature
    return await client.post(f"/callback/{tenant_id}", data=raw, headers=headers)


async def test_valid_event_is_queued_once(client):
    raw = body(text_event())
    resp = await post(client, raw)
    assert resp.status == 200
    assert await client.inbox.depth() == 1


async def test_same_event_three_times_is_queued_once(client):
    event = text_event()
    for redelivery in (False, True, True):
        event["deliveryContext"]["isRedelivery"] = redelivery
        assert (await post(client, body(event))).status == 200
    assert await client.inbox.depth() == 1


async def test_unknown_tenant_is_404(client):
    resp = await post(client, body(text_event()), tenant_id="nowhere")
    assert resp.status == 404


async def test_missing_signature_is_401(client):
    resp = await post(client, body(text_event()), signature=None)
    assert resp.status == 401
    assert await client.inbox.depth() == 0


async def test_forged_signature_is_403(client):
    resp = await post(client, body(text_event()), signature=sign(b"other", SECRET))
    assert resp.status == 403
    assert await client.inbox.depth() == 0


async def test_replayed_body_with_another_tenants_signature_is_403(client):
    raw = body(text_event())
    resp = await post(client, raw, signature=sign(raw, "suita-secret"))
    assert resp.status == 403


async def test_two_megabyte_body_is_413(client):
    raw = b'{"events": [], "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = await post(client, raw)
    assert resp.status == 413


@pytest.mark.parametrize("raw", [b"{not json", b'"just a string"', b'{"events": "nope"}', b"\xff\xfe\x00"])
async def test_malformed_body_is_400(client, raw):
    resp = await post(client, raw)
    assert resp.status == 400
    assert "message" in await resp.json()


async def test_unknown_event_types_are_ignored(client):
    odd = text_event()
    odd["type"] = "somethingNew"
    resp = await post(client, body(odd, text_event()))
    assert resp.status == 200
    assert (await resp.json())["accepted"] == 1
    assert await client.inbox.depth() == 1


async def test_empty_events_verification_request_is_200(client):
    resp = await post(client, json.dumps({"destination": "U1", "events": []}).encode())
    assert resp.status == 200


async def test_redis_down_is_503_not_500(client, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    async def broken(*a, **k):
        raise RedisConnectionError("down")

    monkeypatch.setattr(client.inbox, "enqueue", broken)
    resp = await post(client, body(text_event()))
    assert resp.status == 503


async def test_healthz(client):
    resp = await client.get("/healthz")
    assert resp.status == 200



async def raw_post(client, headers: bytes, raw: bytes, tenant_id: str = "demo") -> int:
    """POST through a raw socket: header bytes go out as given (aiohttp's client would re-encode them)."""
    import asyncio

    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(
        b"POST /callback/" + tenant_id.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + headers + b"Content-Length: " + str(len(raw)).encode() + b"\r\nConnection: close\r\n\r\n" + raw
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize("value", [b"\xe9" * 44, b"\xff\xfe" + b"A" * 42, "署名".encode()])
async def test_non_ascii_signature_is_403_not_500(client, value):
    """Review finding 6: a signature header that is not ASCII made the SDK raise (500); it is a forged signature."""
    status = await raw_post(client, b"X-Line-Signature: " + value + b"\r\n", body(text_event()))
    assert status == 403
    assert await client.inbox.depth() == 0
