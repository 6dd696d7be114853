"""Request ids reach every log record written while a request is handled."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.logctx import RequestIdFilter, request_id_middleware
from bot.logs import JsonFormatter


async def test_request_id_is_assigned_echoed_and_logged(caplog):
    log = logging.getLogger("civicbot.test.rid")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    async def hello(request):
        log.info("handled", extra={"tenant": "demo"})
        return web.Response(text="ok")

    app = web.Application(middlewares=[request_id_middleware()])
    app.router.add_get("/x", hello)
    try:
        async with TestClient(TestServer(app)) as client:
            given = await client.get("/x", headers={"X-Request-Id": "abc12345-trace"})
            fresh = await client.get("/x", headers={"X-Request-Id": "bad id with spaces"})
            missing = await client.get("/nowhere")
    finally:
        log.removeHandler(handler)
    assert given.headers["X-Request-Id"] == "abc12345-trace"
    assert len(fresh.headers["X-Request-Id"]) == 32 and fresh.headers["X-Request-Id"] != "bad id with spaces"
    assert missing.status == 404 and missing.headers["X-Request-Id"]
    out = [json.loads(JsonFormatter().format(r)) for r in records]
    assert [o["request_id"] for o in out] == ["abc12345-trace", fresh.headers["X-Request-Id"]]
    assert all(o["tenant"] == "demo" for o in out)
    # outside a request nothing is added
    plain = logging.LogRecord("x", logging.INFO, "", 0, "m", (), None)
    RequestIdFilter().filter(plain)
    assert not hasattr(plain, "request_id")
