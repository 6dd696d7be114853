"""Hypothesis fuzzing of the webhook: random bodies, signatures and headers never produce a 5xx."""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import webhook
from bot.inbox import MemoryInbox
from tests.helpers import sign, tenant

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "postback", "follow", "unfollow", "join", "x"]), "webhookEventId": st.text(max_size=30) | st.integers()},
    optional={"source": json_values, "message": json_values, "timestamp": json_values, "replyToken": json_values},
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(event_like, max_size=5).map(lambda evs: json.dumps({"destination": "U", "events": evs}).encode()),
)


def make_app():
    tenants = {"demo": tenant()}
    app = web.Application(client_max_size=1024 * 1024)
    app[webhook.TENANTS] = tenants
    app[webhook.INBOX] = MemoryInbox(4)
    app[webhook.PARSERS] = webhook.make_parsers(tenants)
    app.add_routes(webhook.routes())
    return app


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=bodies,
    signed=st.sampled_from(["good", "none", "garbage", "empty"]),
    tenant_id=st.sampled_from(["demo", "other", "%00", "demo/../x"]),
    content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]),
)
async def test_webhook_never_answers_5xx(raw, signed, tenant_id, content_type):
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if signed == "good":
        headers["X-Line-Signature"] = sign(raw, "demo-secret")
    elif signed == "garbage":
        headers["X-Line-Signature"] = "\u00e9\u00e9not-base64=="
    elif signed == "empty":
        headers["X-Line-Signature"] = ""
    async with TestClient(TestServer(make_app())) as client:
        resp = await client.post(f"/callback/{tenant_id}", data=raw, headers=headers)
        assert resp.status < 500, (resp.status, await resp.text())
        if signed == "good" and tenant_id == "demo" and resp.status == 200:
            assert "accepted" in await resp.json()


@settings(max_examples=300, deadline=None)
@given(event=st.dictionaries(st.sampled_from(["type", "source", "message", "postback", "timestamp", "replyToken", "webhookEventId"]), json_values)
       | event_like)
def test_worker_normalization_never_raises(event):
    from bot.worker import to_incoming

    event.setdefault("type", "message")
    incoming = to_incoming(tenant(), event)
    assert incoming is None or isinstance(incoming.user_id, str)
