"""LINE towards the bot: webhook event bodies as in LINE's webhook.yml, signed with the channel secret.

The shapes follow ``CallbackRequest`` exactly (the integration tests validate them against emulator/openapi/webhook.yml),
so a bot that accepts the emulator's webhooks accepts LINE's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from emulator.state import Clock, new_message_id, new_ulid

EVENT_TYPES = ("text", "image", "location", "postback", "follow", "unfollow")


class BadSend(ValueError):
    """The /_emulator/send request does not describe an event the emulator can build."""


def destination(tenant_id: str) -> str:
    """The bot's user id for a channel (``U`` + 32 hex digits, stable per tenant)."""
    return "U" + hashlib.sha256(f"civicbot-emulator:{tenant_id}".encode()).hexdigest()[:32]


def sign(channel_secret: str, body: bytes) -> str:
    """``X-Line-Signature``: base64 of HMAC-SHA256 over the raw body with the channel secret."""
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()


def callback_body(tenant_id: str, events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"destination": destination(tenant_id), "events": events}, ensure_ascii=False).encode()


def build_event(
    request: dict[str, Any], *, clock: Clock, reply_token: str | None, mark_as_read_token: str | None = None
) -> dict[str, Any]:
    """A webhook event object for one /_emulator/send request.

    ``request`` holds ``user_id`` and ``type`` (text by default when ``text`` is given) plus the fields of that
    type: ``text``; ``lat``/``lng``/``address``/``title``; ``data``/``params``; ``message_id`` for images.
    """
    user_id = request.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise BadSend("user_id is required")
    kind = request.get("type") or ("text" if "text" in request else None)
    if kind not in EVENT_TYPES:
        raise BadSend(f"type must be one of {', '.join(EVENT_TYPES)}")
    event: dict[str, Any] = {
        "type": "message",
        "mode": "active",
        "timestamp": int(clock() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": new_ulid(clock),
        "deliveryContext": {"isRedelivery": False},
    }
    if kind == "text":
        text = request.get("text")
        if not isinstance(text, str) or not text:
            raise BadSend("text is required")
        event["message"] = {"id": new_message_id(), "type": "text", "text": text, "quoteToken": _quote_token()}
    elif kind == "image":
        event["message"] = {
            "id": request.get("message_id") or new_message_id(),
            "type": "image",
            "contentProvider": {"type": "line"},
            "quoteToken": _quote_token(),
        }
    elif kind == "location":
        try:
            lat, lng = float(request["lat"]), float(request["lng"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadSend("lat and lng are required numbers") from exc
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise BadSend("lat/lng out of range")
        message: dict[str, Any] = {"id": new_message_id(), "type": "location", "latitude": lat, "longitude": lng}
        for key in ("title", "address"):
            if request.get(key):
                message[key] = str(request[key])
        event["message"] = message
    elif kind == "postback":
        data = request.get("data")
        if not isinstance(data, str):
            raise BadSend("data is required")
        postback: dict[str, Any] = {"data": data}
        params = request.get("params")
        if params:
            if not isinstance(params, dict):
                raise BadSend("params must be an object")
            postback["params"] = {str(k): str(v) for k, v in params.items()}
        event["type"] = "postback"
        event["postback"] = postback
    elif kind == "follow":
        event["type"] = "follow"
        event["follow"] = {"isUnblocked": bool(request.get("is_unblocked", False))}
    elif kind == "unfollow":
        event["type"] = "unfollow"
    if kind != "unfollow":
        event["replyToken"] = reply_token
    if mark_as_read_token and event["type"] == "message":
        event["message"]["markAsReadToken"] = mark_as_read_token
    return event


def _quote_token() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
