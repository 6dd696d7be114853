"""Webhook intake: verify, de-duplicate, enqueue durably, acknowledge. Never a 5xx for bad input.

Status codes: unknown tenant 404; missing signature 401; forged signature 403; body over the limit 413; not UTF-8,
not JSON or not LINE's envelope 400; Redis unavailable 503 (LINE redelivers later, nothing is lost).
"""

from __future__ import annotations

import json
import logging
import time

from aiohttp import web
from linebot.v3 import WebhookParser
from redis.exceptions import RedisError

from bot.config import Tenant
from bot.inbox import Inbox

log = logging.getLogger("civicbot.webhook")

TENANTS = web.AppKey("tenants", dict)
INBOX = web.AppKey("inbox", Inbox)
PARSERS = web.AppKey("parsers", dict)
MAX_BODY = web.AppKey("max_body", int)
DEFAULT_MAX_BODY = 1024 * 1024

# Event types the worker acts on or records; anything else is acknowledged and ignored.
HANDLED_TYPES = frozenset({"message", "postback", "follow", "unfollow"})


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def make_parsers(tenants: dict[str, Tenant]) -> dict[str, WebhookParser]:
    return {tid: WebhookParser(t.channel_secret.get_secret_value()) for tid, t in tenants.items()}


async def callback(request: web.Request) -> web.Response:
    started = time.perf_counter()
    tenant_id = request.match_info["tenant"]
    parser: WebhookParser | None = request.app[PARSERS].get(tenant_id)
    if parser is None:
        return _json_error(404, "unknown tenant")
    signature = request.headers.get("X-Line-Signature")
    if not signature:
        return _json_error(401, "missing X-Line-Signature")
    limit = request.app.get(MAX_BODY, DEFAULT_MAX_BODY)
    if request.content_length is not None and request.content_length > limit:
        return _json_error(413, "request body too large")
    if request.content_length is not None:
        raw = await request.read()  # length known and within the limit (checked above)
    else:  # chunked: read with a running limit
        buf = bytearray()
        while chunk := await request.content.read(65536):
            buf += chunk
            if len(buf) > limit:
                return _json_error(413, "request body too large")
        raw = bytes(buf)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _json_error(400, "body is not UTF-8")
    # a base64 HMAC is ASCII; anything else (surrogate-escaped bytes) would make the SDK raise instead of say no
    if not signature.isascii() or not parser.signature_validator.validate(body, signature):
        return _json_error(403, "invalid signature")
    try:
        payload = json.loads(body)
    except ValueError:
        return _json_error(400, "body is not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("events", None), list):
        return _json_error(400, "not a LINE webhook body (no events list)")
    events = []
    for event in payload["events"]:
        if not isinstance(event, dict) or event.get("type") not in HANDLED_TYPES:
            continue  # unknown event types are acknowledged and ignored
        if not isinstance(event.get("webhookEventId"), str) or not event["webhookEventId"]:
            continue
        events.append(event)
    try:
        new = await request.app[INBOX].enqueue(tenant_id, events)
    except (RedisError, OSError):
        log.exception("inbox unavailable", extra={"tenant": tenant_id})
        return _json_error(503, "temporarily unavailable")
    log.debug(
        "webhook accepted",
        extra={"tenant": tenant_id, "events": len(events), "new": new, "ms": round((time.perf_counter() - started) * 1000, 2)},
    )
    return web.Response(body=b'{"accepted":%d,"new":%d}' % (len(events), new), content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def routes() -> list[web.RouteDef]:
    return [web.post("/callback/{tenant}", callback), web.get("/healthz", healthz)]
